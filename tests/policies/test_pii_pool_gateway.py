"""The NER worker pool behind a served gateway: names reroute, a failed scan refuses.

The fixture does what ``AppState.start`` does, with a pool whose workers can be told to
crash or hang: start a :class:`PiiScanPool`, hand it to the shared PII engines before the
gateway is assembled, and close it after the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pool_faults import CRASH, faulty

from fakes import AnthropicUpstream, OllamaUpstream
from harness import SEED_POLICIES, Served
from openclaw.assembly import Shared, assemble
from openclaw.audit import AuditLog
from openclaw.config import load_config
from openclaw.daemon import make_app
from openclaw.policies.pii.pool import PiiScanPool
from openclaw.server.auth import ensure_token
from openclaw.server.state import AppState


@pytest_asyncio.fixture
async def served(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
    spacy_package: str,
) -> AsyncIterator[Served]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    from openclaw.providers.anthropic import AnthropicProvider

    # The fake sits on loopback; in production Anthropic is remote, so make it count as such.
    monkeypatch.setattr(AnthropicProvider, "is_local", property(lambda self: False))
    (openclaw_home / "models.yaml").write_text(
        "providers:\n"
        f'  anthropic: {{type: anthropic, base_url: "{anthropic_upstream.url}", '
        'api_key: "${ANTHROPIC_API_KEY}"}\n'
        f'  ollama: {{type: ollama, base_url: "{ollama_upstream.url}"}}\n'
        "models:\n"
        "  general: {provider: anthropic, model: claude-sonnet-4-20250514}\n"
        "  sensitive: {provider: ollama, model: llama4:8b}\n"
    )
    (openclaw_home / "policies.yaml").write_text(
        SEED_POLICIES + f"pii:\n  spacy_model: {spacy_package}\n"
    )
    pool = PiiScanPool(spacy_model=spacy_package, workers=1, initializer=faulty)
    await pool.start()
    config = load_config(openclaw_home)
    shared = Shared(audit=AuditLog(openclaw_home / "audit.log"))
    shared.pii.pool = pool
    token = ensure_token(openclaw_home)
    state = AppState(home=openclaw_home, token=token, assembly=assemble(config, shared))
    server = TestServer(make_app(state), host="127.0.0.1")
    await server.start_server()
    s = Served(server, state, token, openclaw_home)
    yield s
    await s.close()
    await pool.aclose()


def sdk(s: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=s.url, api_key=s.token, max_retries=0)


async def test_a_name_found_by_a_worker_keeps_the_request_local(
    served: Served, anthropic_upstream: AnthropicUpstream, ollama_upstream: OllamaUpstream
) -> None:
    r = await sdk(served).chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "Write a thank-you note to John Smith."}],
    )
    assert r.headers["x-openclaw-model"] == "sensitive"
    assert anthropic_upstream.chat_requests() == [] and len(ollama_upstream.chat_requests()) == 1
    await sdk(served).chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "Summarise the notes in 3 points."}]
    )
    assert len(anthropic_upstream.chat_requests()) == 1  # clean text still goes remote


async def test_a_crashed_worker_refuses_the_request_with_503_and_no_call(
    served: Served, anthropic_upstream: AnthropicUpstream, ollama_upstream: OllamaUpstream
) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        await sdk(served).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": f"Ask Maria about {CRASH}"}]
        )
    assert info.value.status_code == 503
    body: Any = info.value.body
    assert body["code"] == "pii_scan_failed" and body["type"] == "service_unavailable"
    assert set(body) == {"message", "type", "param", "code"}
    assert anthropic_upstream.chat_requests() == [] and ollama_upstream.chat_requests() == []
    assert served.audit()[-1]["status"] == 503


@pytest.mark.parametrize("stream", [False, True])
async def test_the_audit_copy_of_an_answer_is_redacted_by_a_worker(
    served: Served, ollama_upstream: OllamaUpstream, stream: bool
) -> None:
    # The answer names someone; its audit copy goes through NER in a worker, awaited before
    # the record is written (a blocking wait on the event loop could never be answered).
    ollama_upstream.enqueue(text="I have written to Maria Fernandez in Lisbon about it.")
    client = sdk(served)
    messages: Any = [{"role": "user", "content": "Write a note to John Smith."}]
    if stream:
        chunks = await client.chat.completions.create(model="auto", messages=messages, stream=True)
        answer = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    else:
        done = await client.chat.completions.create(model="auto", messages=messages)
        answer = done.choices[0].message.content or ""
    assert "Maria Fernandez" in answer
    content = served.audit()[-1]["content"]
    assert content["mode"] == "redacted"
    assert content["messages"][0]["content"] == "Write a note to <PERSON>."
    assert "Maria" not in content["response"] and "Lisbon" not in content["response"]
    assert "<PERSON>" in content["response"] and "<LOCATION>" in content["response"]
