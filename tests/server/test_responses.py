"""``POST /v1/responses`` through the daemon's app with the official ``openai`` SDK: PII
routing, errors in the OpenAI shape naming the field, one audit record per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from fakes import OllamaUpstream, OpenAIUpstream
from harness import SEED_POLICIES, Served, serve_gateway


@pytest.fixture
async def gw(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> AsyncIterator[Served]:
    models = f"""\
providers:
  remote: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}
  local: {{type: ollama, base_url: "{ollama_upstream.url}"}}
models:
  general: {{provider: remote, model: gpt-4o-mini}}
  sensitive: {{provider: local, model: llama3.1}}
"""
    served = await serve_gateway(openclaw_home, models=models, policies=SEED_POLICIES)
    yield served
    await served.close()


def sdk(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


async def test_pii_in_a_stream_goes_to_the_local_model(
    gw: Served, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    async with (
        sdk(gw) as c,
        c.responses.stream(model="general", input="Call jane.doe@example.com today") as stream,
    ):
        final = await stream.get_final_response()
    assert final.status == "completed" and final.output_text
    assert openai_upstream.requests == [] and len(ollama_upstream.chat_requests()) == 1
    (rec,) = gw.audit()
    assert rec["api"] == "responses" and rec["model"] == "sensitive" and rec["stream"] is True


async def test_malformed_input_and_unknown_models_reach_no_upstream(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        with pytest.raises(openai.BadRequestError) as bad:
            await c.responses.create(model="general", input="hi", temperature=7)
        with pytest.raises(openai.NotFoundError) as missing:
            await c.responses.create(model="nope", input="hi")
    assert bad.value.param == "temperature"
    assert missing.value.code == "model_not_found"
    assert openai_upstream.requests == []
    assert [(r["api"], r["status"]) for r in gw.audit()] == [("responses", 400), ("responses", 404)]


async def test_a_completed_response_is_audited_with_tokens(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        resp = await c.responses.create(model="general", input="Hello there")
    assert resp.output_text == "fake-openai heard: Hello there"
    (rec,) = gw.audit()
    assert rec["api"] == "responses" and rec["status"] == 200
    assert resp.usage is not None and rec["completion_tokens"] == resp.usage.output_tokens
