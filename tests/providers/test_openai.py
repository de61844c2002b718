"""The OpenAI and OpenAI-compatible adapters: a near pass-through, checked on the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from fakes import OpenAIUpstream, Reply
from openclaw.errors import ProviderNotConfigured
from openclaw.providers.base import Json, Provider

from .helpers import collect, make_call, make_provider

TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
async def openai(openai_upstream: OpenAIUpstream) -> AsyncIterator[Provider]:
    provider = make_provider("openai", openai_upstream.url)
    yield provider
    await provider.aclose()


async def test_the_body_passes_through_with_the_deployment_model_and_no_gateway_fields(
    openai: Provider, openai_upstream: OpenAIUpstream
) -> None:
    await openai.complete(
        make_call(temperature=0.3, metadata={"task": "x"}, stream_options={"a": 1})
    )
    body = openai_upstream.last.json
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.3
    assert body["stream"] is False
    assert "metadata" not in body and "stream_options" not in body
    assert openai_upstream.last.headers["Authorization"] == "Bearer sk-test-not-a-real-key"


async def test_streams_always_ask_for_usage(
    openai: Provider, openai_upstream: OpenAIUpstream
) -> None:
    chunks = await collect(openai, make_call())
    assert openai_upstream.last.json["stream_options"] == {"include_usage": True}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


async def test_tool_calls_round_trip(openai: Provider, openai_upstream: OpenAIUpstream) -> None:
    history: list[Json] = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    openai_upstream.enqueue(Reply(tool_calls=[("get_weather", {"city": "Lima"})]))
    out = await openai.complete(make_call(messages=history, tools=[TOOL]))
    assert openai_upstream.last.json["messages"] == history
    call = out["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "Lima"}
    assert out["choices"][0]["finish_reason"] == "tool_calls"

    openai_upstream.enqueue(Reply(tool_calls=[("get_weather", {"city": "Lima"})]))
    chunks = await collect(openai, make_call(tools=[TOOL]))
    args = "".join(
        d["function"]["arguments"]
        for c in chunks
        if c["choices"]
        for d in c["choices"][0]["delta"].get("tool_calls") or []
    )
    assert json.loads(args) == {"city": "Lima"}


async def test_content_filter_finish_passes_through(
    openai: Provider, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("content_filter")
    out = await openai.complete(make_call())
    assert out["choices"][0]["finish_reason"] == "content_filter"


async def test_openai_without_a_key_is_not_configured(
    openai: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ProviderNotConfigured):
        await openai.complete(make_call())


async def test_openai_compatible_needs_no_key_and_sends_none(
    openai_upstream: OpenAIUpstream,
) -> None:
    provider = make_provider("openai_compatible", openai_upstream.url)
    try:
        out = await provider.complete(make_call("hi"))
    finally:
        await provider.aclose()
    assert out["choices"][0]["message"]["content"] == "fake-openai heard: hi"
    assert "Authorization" not in openai_upstream.last.headers
