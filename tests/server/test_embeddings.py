"""``POST /v1/embeddings`` through the daemon's app: the official OpenAI SDK in front, OpenAI
and Ollama fakes behind, and every stage of the pipeline in between."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from fakes import OllamaUpstream, OpenAIUpstream
from harness import SEED_POLICIES, Served, serve_gateway


def models_yaml(o: OpenAIUpstream, ol: OllamaUpstream, *, local_embed: bool = True) -> str:
    local = (
        "  sensitive_embedding: {provider: local, model: nomic-embed-text, kind: embedding}\n"
        if local_embed
        else ""
    )
    return f"""\
providers:
  oai: {{type: openai, base_url: "{o.url}", api_key: "${{TEST_OAI_KEY}}"}}
  local: {{type: ollama, base_url: "{ol.url}"}}
models:
  general: {{provider: oai, model: gpt-4o-mini}}
  sensitive: {{provider: local, model: llama3.1}}
  embed:
    provider: oai
    model: text-embedding-3-small
    kind: embedding
    cost_per_million_input_tokens: 20
{local}  local_embed: {{provider: local, model: nomic-embed-text, kind: embedding}}
default: general
"""


@pytest.fixture
async def gw(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    ollama_upstream: OllamaUpstream,
) -> AsyncIterator[Served]:
    monkeypatch.setenv("TEST_OAI_KEY", "sk-test-openai-secret")
    served = await serve_gateway(
        openclaw_home,
        models=models_yaml(openai_upstream, ollama_upstream),
        policies=SEED_POLICIES + "cache: {enabled: true}\n",
    )
    yield served
    await served.close()


def sdk(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


@pytest.mark.parametrize("alias", ["embed", "local_embed"])
async def test_floats_and_base64_from_openai_and_ollama(
    gw: Served, alias: str, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    async with sdk(gw) as c:
        floats = await c.embeddings.create(
            model=alias, input=["alpha", "beta"], encoding_format="float"
        )
        # Without encoding_format the SDK asks for base64 and decodes it itself.
        decoded = await c.embeddings.create(model=alias, input=["alpha", "beta"])
        packed = await c.embeddings.create(model=alias, input="alpha", encoding_format="base64")
    assert [d.index for d in floats.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in floats.data)  # the fakes' default size
    for got, want in zip(decoded.data, floats.data, strict=True):
        assert got.embedding == pytest.approx(want.embedding, rel=1e-6)
    b64 = packed.data[0].embedding
    assert isinstance(b64, str)
    assert list(struct.unpack("<8f", base64.b64decode(b64))) == pytest.approx(
        floats.data[0].embedding
    )
    assert floats.usage.prompt_tokens > 0
    upstream = openai_upstream if alias == "embed" else ollama_upstream
    assert len(upstream.embed_requests()) == 3
    assert upstream.chat_requests() == []
    records = gw.audit()
    assert [r["api"] for r in records] == ["embeddings"] * 3
    assert all(r["status"] == 200 and r["prompt_tokens"] > 0 for r in records)
    if alias == "embed":
        assert records[0]["cost_usd"] > 0


async def test_the_cache_serves_a_repeated_embedding(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        first = await c.embeddings.create(model="embed", input="the same text")
        second = await c.embeddings.create(model="embed", input="the same text")
    assert first.data[0].embedding == second.data[0].embedding
    assert len(openai_upstream.embed_requests()) == 1
    assert [r["cache"] for r in gw.audit()] == ["miss", "hit"]


async def test_each_kind_of_alias_refuses_the_other_api(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        with pytest.raises(openai.BadRequestError) as chat_for_embed:
            await c.embeddings.create(model="general", input="x")
        with pytest.raises(openai.BadRequestError) as embed_for_chat:
            await c.chat.completions.create(
                model="embed", messages=[{"role": "user", "content": "hi"}]
            )
    assert chat_for_embed.value.code == "wrong_model_kind"
    assert "kind: embedding" in chat_for_embed.value.message
    assert embed_for_chat.value.code == "wrong_model_kind"
    assert "/v1/embeddings" in embed_for_chat.value.message
    assert openai_upstream.requests == []
    assert [r["status"] for r in gw.audit()] == [400, 400]


async def test_pii_goes_to_the_local_embedding_model(
    gw: Served, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    async with sdk(gw) as c:
        resp = await c.embeddings.create(
            model="embed", input=["fine", "write to jane.doe@example.com"]
        )
    assert len(resp.data) == 2
    assert openai_upstream.requests == []
    (sent,) = ollama_upstream.embed_requests()
    assert sent.json["model"] == "nomic-embed-text"
    (rec,) = gw.audit()
    assert rec["model"] == "sensitive_embedding" and rec["provider"] == "local"


async def test_token_arrays_are_refused_when_pii_is_enforced(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.embeddings.create(model="embed", input=[[1, 2, 3]])
    assert info.value.param == "input" and info.value.code == "unscannable_input"
    assert openai_upstream.requests == []
    (rec,) = gw.audit()
    assert rec["status"] == 400


async def test_without_a_local_embedding_model_pii_is_refused_and_never_sent(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    monkeypatch.setenv("TEST_OAI_KEY", "sk-test-openai-secret")
    served = await serve_gateway(
        openclaw_home,
        models=models_yaml(openai_upstream, ollama_upstream, local_embed=False),
        policies=SEED_POLICIES,
    )
    try:
        async with sdk(served) as c:
            with pytest.raises(openai.PermissionDeniedError) as info:
                await c.embeddings.create(model="embed", input="call +1 415 555 0100, jane@x.io")
        assert info.value.code == "policy_violation"
        assert "sensitive_embedding" in info.value.message
        assert openai_upstream.requests == [] and ollama_upstream.requests == []
        (rec,) = served.audit()
        assert rec["status"] == 403 and rec["api"] == "embeddings"
    finally:
        await served.close()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "embed"}, "input"),
        ({"model": "embed", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "embed", "input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x"}, "model"),
    ],
)
async def test_a_malformed_body_is_a_400_naming_the_field(
    gw: Served, body: dict[str, object], param: str, openai_upstream: OpenAIUpstream
) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{gw.url}/embeddings", headers=gw.auth, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param
    assert openai_upstream.requests == []
    assert len(gw.audit()) == 1


async def test_an_unknown_model_is_a_404_that_reaches_no_upstream(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with sdk(gw) as c:
        with pytest.raises(openai.NotFoundError):
            await c.embeddings.create(model="nope", input="x")
    assert openai_upstream.requests == []
    (rec,) = gw.audit()
    assert rec["status"] == 404 and rec["api"] == "embeddings"


async def test_metrics_count_requests_by_api(gw: Served) -> None:
    async with sdk(gw) as c:
        await c.embeddings.create(model="embed", input="one")
        await c.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hi"}]
        )
        with pytest.raises(openai.BadRequestError):
            await c.embeddings.create(model="general", input="x")
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{gw.base}/metrics", headers=gw.auth)).text
    assert 'openclaw_requests_by_api_total{api="embeddings",status="200"} 1.0' in text
    assert 'openclaw_requests_by_api_total{api="embeddings",status="400"} 1.0' in text
    assert 'openclaw_requests_by_api_total{api="chat",status="200"} 1.0' in text
    assert 'openclaw_tokens_total{kind="prompt",model_name="embed",service="default"}' in text
