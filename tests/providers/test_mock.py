"""The mock provider is a real adapter: same shapes, usage and failures as the others."""

from __future__ import annotations

import json

import pytest

from openclaw.config.schema import ProviderConfig
from openclaw.errors import UpstreamError
from openclaw.providers.mock import PREFIX, MockProvider

from .helpers import collect, make_call, streamed_text


@pytest.fixture
def mock() -> MockProvider:
    return MockProvider("mock", ProviderConfig(type="mock"))


async def test_complete_says_it_is_the_mock_and_counts_tokens(mock: MockProvider) -> None:
    out = await mock.complete(make_call("hello there"))
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"]["content"] == f"{PREFIX} test-model received: hello there"
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] > 0 and out["usage"]["completion_tokens"] > 0


async def test_stream_matches_complete_and_ends_with_usage(mock: MockProvider) -> None:
    call = make_call("same answer twice")
    full = await mock.complete(call)
    chunks = await collect(mock, call)
    assert streamed_text(chunks) == full["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == full["usage"]


async def test_mock_tool_answers_with_a_tool_call_both_ways(mock: MockProvider) -> None:
    out = await mock.complete(make_call("mock:tool please"))
    call = out["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"])["query"].startswith("mock:tool")
    chunks = await collect(mock, make_call("mock:tool please"))
    assert any("tool_calls" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_mock_json_answers_valid_json(mock: MockProvider) -> None:
    out = await mock.complete(make_call("give json", response_format={"type": "json_object"}))
    assert json.loads(out["choices"][0]["message"]["content"])["mock"] is True


async def test_mock_error_is_a_retryable_upstream_error(mock: MockProvider) -> None:
    with pytest.raises(UpstreamError) as info:
        await mock.complete(make_call("mock:error"))
    assert info.value.retryable is True
    with pytest.raises(UpstreamError):
        await collect(mock, make_call("mock:error"))


async def test_mock_health_is_always_ok(mock: MockProvider) -> None:
    ok, _ = await mock.health()
    assert ok
