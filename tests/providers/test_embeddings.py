"""Embeddings through the adapters: OpenAI's wire as is, Ollama's /api/embed translated."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import AsyncIterator

import openai
import pytest

from fakes import OllamaUpstream, OpenAIUpstream
from openclaw.config.schema import ProviderConfig
from openclaw.errors import InvalidRequest, UpstreamError
from openclaw.providers.base import Json, Provider, ProviderCall, embedding_inputs
from openclaw.providers.mock import EMBEDDING_DIMENSIONS, MockProvider

from .helpers import ROOMY, TEST_KEY, make_provider


def embed_call(model: str = "embed-model", **body: object) -> ProviderCall:
    body.setdefault("input", "hello world")
    return ProviderCall(body={"model": "embed", **body}, model=model, timeouts=ROOMY)


def floats(b64: str) -> list[float]:
    raw = base64.b64decode(b64)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.fixture(params=["openai", "openai_compatible"])
async def openai_like(
    request: pytest.FixtureRequest, openai_upstream: OpenAIUpstream
) -> AsyncIterator[Provider]:
    provider = make_provider(request.param, openai_upstream.url)
    yield provider
    await provider.aclose()


@pytest.fixture
async def ollama(ollama_upstream: OllamaUpstream) -> AsyncIterator[Provider]:
    provider = make_provider("ollama", ollama_upstream.url)
    yield provider
    await provider.aclose()


async def test_the_fakes_embeddings_endpoint_is_what_the_official_sdk_reads(
    openai_upstream: OpenAIUpstream,
) -> None:
    async with openai.AsyncOpenAI(base_url=openai_upstream.url, api_key=TEST_KEY) as client:
        out = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.index for d in out.data] == [0, 1]
    assert len(out.data[0].embedding) == 8 and out.usage.prompt_tokens > 0


async def test_openai_embeddings_pass_through_with_the_deployment_model(
    openai_like: Provider, openai_upstream: OpenAIUpstream
) -> None:
    assert openai_like.can_embed
    out = await openai_like.embed(
        embed_call(input=["one", "two"], dimensions=4, user="u1", metadata={"task": "rag"})
    )
    sent = openai_upstream.embed_requests()[-1].json
    assert sent == {"model": "embed-model", "input": ["one", "two"], "dimensions": 4, "user": "u1"}
    assert [len(d["embedding"]) for d in out["data"]] == [4, 4]
    assert out["usage"]["prompt_tokens"] == out["usage"]["total_tokens"] > 0


async def test_openai_token_arrays_and_base64_are_the_upstreams_to_answer(
    openai_like: Provider, openai_upstream: OpenAIUpstream
) -> None:
    out = await openai_like.embed(embed_call(input=[[1, 2, 3], [4]], encoding_format="base64"))
    assert openai_upstream.embed_requests()[-1].json["input"] == [[1, 2, 3], [4]]
    assert all(len(floats(d["embedding"])) == 8 for d in out["data"])


async def test_openai_embedding_errors_map_like_chat_errors(
    openai_like: Provider, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("429:2")
    with pytest.raises(UpstreamError) as info:
        await openai_like.embed(embed_call())
    assert info.value.code == "upstream_rate_limited" and info.value.retry_after == 2.0


async def test_ollama_embed_is_translated_both_ways(
    ollama: Provider, ollama_upstream: OllamaUpstream
) -> None:
    out = await ollama.embed(embed_call(model="nomic-embed-text", input="hi there", dimensions=6))
    sent = ollama_upstream.embed_requests()[-1]
    assert sent.path == "/api/embed"
    assert sent.json == {"model": "nomic-embed-text", "input": ["hi there"], "dimensions": 6}
    assert out["object"] == "list" and out["model"] == "nomic-embed-text"
    assert out["data"][0]["object"] == "embedding" and len(out["data"][0]["embedding"]) == 6
    assert out["usage"] == {"prompt_tokens": 2, "total_tokens": 2}  # prompt_eval_count


async def test_ollama_base64_is_made_by_the_gateway(
    ollama: Provider, ollama_upstream: OllamaUpstream
) -> None:
    plain = await ollama.embed(embed_call(input=["a", "b"]))
    packed = await ollama.embed(embed_call(input=["a", "b"], encoding_format="base64"))
    assert "encoding_format" not in ollama_upstream.embed_requests()[-1].json
    for p, b in zip(plain["data"], packed["data"], strict=True):
        assert floats(b["embedding"]) == pytest.approx(p["embedding"], abs=1e-6)


async def test_ollama_refuses_token_arrays_naming_the_provider_without_a_call(
    ollama: Provider, ollama_upstream: OllamaUpstream
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await ollama.embed(embed_call(input=[101, 102]))
    assert "'ollama'" in info.value.message and info.value.param == "input"
    assert ollama_upstream.embed_requests() == []


async def test_ollama_embed_errors_are_upstream_errors(
    ollama: Provider, ollama_upstream: OllamaUpstream
) -> None:
    ollama_upstream.enqueue("500")
    with pytest.raises(UpstreamError):
        await ollama.embed(embed_call())
    ollama_upstream.enqueue("malformed")
    with pytest.raises(UpstreamError, match="malformed"):
        await ollama.embed(embed_call())


async def test_mock_vectors_are_deterministic_unit_length_and_sized() -> None:
    mock = MockProvider("mock", ProviderConfig(type="mock"))
    first = await mock.embed(embed_call(input=["same", "other"]))
    again = await mock.embed(embed_call(input="same"))
    a, b = (d["embedding"] for d in first["data"])
    assert again["data"][0]["embedding"] == a != b
    assert len(a) == EMBEDDING_DIMENSIONS
    assert math.isclose(math.fsum(x * x for x in a), 1.0, rel_tol=1e-9)
    sized = await mock.embed(embed_call(input="same", dimensions=40, encoding_format="base64"))
    assert len(floats(sized["data"][0]["embedding"])) == 40
    tokens = await mock.embed(embed_call(input=[1, 2, 3]))
    assert tokens["usage"]["prompt_tokens"] == 3


async def test_providers_without_embeddings_refuse_by_name() -> None:
    anthropic = make_provider("anthropic", "http://127.0.0.1:9")
    assert not anthropic.can_embed
    with pytest.raises(InvalidRequest) as info:
        await anthropic.embed(embed_call())
    assert "'anthropic'" in info.value.message and info.value.code == "embeddings_not_supported"


def test_bad_inputs_are_refused_by_the_shared_reader() -> None:
    bad: list[Json] = [{"input": 5}, {"input": ["a", 1]}, {"input": [[1], ["x"]]}]
    for body in bad:
        with pytest.raises(InvalidRequest):
            embedding_inputs(body)
