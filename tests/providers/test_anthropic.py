"""The Anthropic adapter: OpenAI <-> Messages API translation, headers, stream events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from fakes import AnthropicUpstream, Reply
from openclaw.errors import InvalidRequest, ProviderNotConfigured, UpstreamError
from openclaw.providers.anthropic import (
    DEFAULT_MAX_TOKENS,
    AnthropicProvider,
    StreamTranslator,
    from_message,
    to_messages_request,
)
from openclaw.providers.base import Json

from .helpers import collect, make_call, make_provider, streamed_text

WEATHER_TOOL: Json = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TOOL_CONVERSATION: list[Json] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "toolu_2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
    {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "25C"}]},
]


def translate(**body: Any) -> Json:
    return to_messages_request(make_call(**body), stream=False)


@pytest.fixture
async def anthropic(anthropic_upstream: AnthropicUpstream) -> AsyncIterator[AnthropicProvider]:
    provider = make_provider("anthropic", anthropic_upstream.url)
    assert isinstance(provider, AnthropicProvider)
    yield provider
    await provider.aclose()


# -- request translation ---------------------------------------------------------------


def test_all_system_and_developer_messages_are_lifted_in_order() -> None:
    out = translate(
        messages=[
            {"role": "system", "content": "Rule one."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Rule two."}]},
            {"role": "system", "content": "Rule three."},
        ]
    )
    assert out["system"] == "Rule one.\n\nRule two.\n\nRule three."
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_no_system_key_without_system_messages() -> None:
    assert "system" not in translate()


def test_max_tokens_is_defaulted_or_taken_from_either_openai_field() -> None:
    assert translate()["max_tokens"] == DEFAULT_MAX_TOKENS
    assert translate(max_tokens=77)["max_tokens"] == 77
    assert translate(max_completion_tokens=55, max_tokens=77)["max_tokens"] == 55


def test_sampling_parameters_translate() -> None:
    out = translate(temperature=1.7, top_p=0.9, stop="END", user="u-1", metadata={"x": 1})
    assert out["temperature"] == 1.0  # OpenAI's 0..2 clamped into Anthropic's 0..1
    assert out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "u-1"}  # never the gateway's own metadata
    assert translate(stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert translate(temperature=0.3)["temperature"] == 0.3


def test_function_tools_become_input_schema_tools() -> None:
    out = translate(tools=[WEATHER_TOOL])
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert "tool_choice" not in out


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, None),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
def test_tool_choice_translates(choice: Any, parallel: Any, expected: Json | None) -> None:
    body: Json = {"tools": [WEATHER_TOOL], "tool_choice": choice}
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert translate(**body).get("tool_choice") == expected


def test_tool_calls_become_tool_use_and_tool_results_merge_into_one_user_turn() -> None:
    out = translate(messages=TOOL_CONVERSATION)
    assert out["system"] == "Be brief."
    user, assistant, results = out["messages"]
    assert user["role"] == "user"
    assert assistant == {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "25C"},
        ],
    }


def test_a_user_message_after_tool_results_joins_their_turn() -> None:
    out = translate(messages=[*TOOL_CONVERSATION, {"role": "user", "content": "Thanks"}])
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][-1]["content"][-1] == {"type": "text", "text": "Thanks"}


def test_images_translate_from_data_and_http_urls() -> None:
    out = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        ]
    )
    _, data_img, url_img = out["messages"][0]["content"]
    assert data_img["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}
    assert url_img["source"] == {"type": "url", "url": "https://example.com/cat.jpg"}


@pytest.mark.parametrize(
    "body",
    [
        {"n": 2},
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        {"messages": [{"role": "wizard", "content": "hi"}]},
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "t",
                            "type": "function",
                            "function": {"name": "f", "arguments": "[1]"},
                        }
                    ],
                }
            ]
        },
        {"tools": [{"type": "web_search"}]},
    ],
    ids=["n>1", "audio", "unknown-role", "non-object-arguments", "non-function-tool"],
)
def test_what_cannot_be_translated_is_a_400_not_a_silent_drop(body: Json) -> None:
    with pytest.raises(InvalidRequest):
        translate(**body)


# -- response translation --------------------------------------------------------------


def test_a_message_becomes_a_chat_completion() -> None:
    out = from_message(
        {
            "id": "msg_1",
            "type": "message",
            "model": "claude-x",
            "content": [
                {"type": "text", "text": "Let me check. "},
                {"type": "thinking", "thinking": "hidden"},
                {"type": "text", "text": "One moment."},
                {
                    "type": "tool_use",
                    "id": "toolu_9",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 90,
                "cache_creation_input_tokens": 5,
                "output_tokens": 7,
            },
        },
        "fallback-model",
    )
    message = out["choices"][0]["message"]
    assert message["content"] == "Let me check. One moment."
    assert message["tool_calls"] == [
        {
            "id": "toolu_9",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
        }
    ]
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["model"] == "claude-x"
    assert out["usage"]["prompt_tokens"] == 105  # cached input counts, as in OpenAI's usage
    assert out["usage"]["prompt_tokens_details"] == {"cached_tokens": 90}
    assert out["usage"]["completion_tokens"] == 7


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish: str) -> None:
    out = from_message({"content": [], "stop_reason": stop_reason, "usage": {}}, "m")
    assert out["choices"][0]["finish_reason"] == finish


def test_stream_translator_counts_tool_indexes_separately_from_blocks() -> None:
    t = StreamTranslator("m")
    events: list[tuple[str, Json]] = [
        ("message_start", {"message": {"model": "claude-x", "usage": {"input_tokens": 12}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"index": 0}),
        (
            "content_block_start",
            {
                "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        ),
        (
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": ": 1}"}},
        ),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
        ("message_stop", {}),
    ]
    out = [c for kind, ev in events for c in t.feed(kind, ev)]
    tool_deltas = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in out
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert tool_deltas[0]["index"] == 0 and tool_deltas[0]["id"] == "toolu_1"
    assert "".join(d["function"]["arguments"] for d in tool_deltas) == '{"a": 1}'
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert out[-1]["usage"] == {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}
    assert t.done


# -- against the fake ------------------------------------------------------------------


async def test_requests_carry_the_key_version_and_messages_path(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    await anthropic.complete(make_call(messages=TOOL_CONVERSATION))
    req = anthropic_upstream.last
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == "sk-test-not-a-real-key"
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert req.json["system"] == "Be brief."
    assert req.json["model"] == "test-model"


async def test_api_version_and_a_base_url_with_v1_are_honoured(
    anthropic_upstream: AnthropicUpstream,
) -> None:
    provider = make_provider("anthropic", anthropic_upstream.url + "/v1", api_version="2099-01-01")
    try:
        await provider.complete(make_call())
    finally:
        await provider.aclose()
    assert anthropic_upstream.last.path == "/v1/messages"
    assert anthropic_upstream.last.headers["anthropic-version"] == "2099-01-01"


async def test_a_tool_use_reply_becomes_tool_calls(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue(tool_calls=[("get_weather", {"city": "Paris"})])
    out = await anthropic.complete(make_call(tools=[WEATHER_TOOL]))
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert call["id"].startswith("toolu_")
    assert anthropic_upstream.last.json["tools"][0]["input_schema"]["type"] == "object"


async def test_a_streamed_tool_use_becomes_tool_call_deltas(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue(
        Reply(text="Checking.", tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {})])
    )
    chunks = await collect(anthropic, make_call(tools=[WEATHER_TOOL]))
    assert streamed_text(chunks) == "Checking."
    calls: dict[int, Json] = {}
    for c in chunks:
        for d in c["choices"][0]["delta"].get("tool_calls", []) if c["choices"] else []:
            slot = calls.setdefault(d["index"], {"arguments": ""})
            slot.update({k: v for k, v in d.items() if k in ("id",)})
            slot["name"] = d["function"].get("name", slot.get("name"))
            slot["arguments"] += d["function"]["arguments"]
    assert sorted(calls) == [0, 1]
    assert calls[0]["name"] == "get_weather"
    assert orjson.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert calls[1]["name"] == "get_time"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
async def test_a_refusal_is_a_content_filter_finish(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream, stream: bool
) -> None:
    anthropic_upstream.enqueue("content_filter")
    if stream:
        chunks = await collect(anthropic, make_call())
        finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1]
    else:
        finish = (await anthropic.complete(make_call()))["choices"][0]["finish_reason"]
    assert finish == "content_filter"


async def test_an_overloaded_error_event_is_retryable_with_status_529(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue("stream_error:2")
    with pytest.raises(UpstreamError) as info:
        await collect(anthropic, make_call())
    assert info.value.upstream_status == 529
    assert info.value.retryable is True


async def test_a_529_overloaded_status_is_retryable(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue("529")
    with pytest.raises(UpstreamError) as info:
        await anthropic.complete(make_call())
    assert info.value.retryable is True


async def test_the_full_tool_conversation_is_accepted_upstream(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    # The fake rejects what the real API rejects (unknown tool_use_id, empty text, roles).
    out = await anthropic.complete(
        make_call(
            messages=[*TOOL_CONVERSATION, {"role": "user", "content": "so?"}], tools=[WEATHER_TOOL]
        )
    )
    assert out["choices"][0]["message"]["content"].endswith("so?")


async def test_a_missing_key_is_not_configured_and_not_retryable(
    anthropic: AnthropicProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ProviderNotConfigured) as info:
        await anthropic.complete(make_call())
    assert info.value.retryable is False
    assert "ANTHROPIC_API_KEY" in info.value.message


async def test_health_without_a_key_says_so(
    anthropic: AnthropicProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    ok, detail = await anthropic.health()
    assert not ok
    assert "no API key" in detail


async def test_health_lists_models_with_the_key(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    assert await anthropic.health() == (True, "HTTP 200")
    assert anthropic_upstream.last.path == "/v1/models"
    assert anthropic_upstream.last.headers["x-api-key"] == "sk-test-not-a-real-key"
