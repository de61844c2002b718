"""The Messages parser and renderers as pure functions: Anthropic shapes in, chat shapes out."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from openclaw.errors import (
    InvalidRequest,
    ModelNotFound,
    OpenClawError,
    PolicyViolation,
    RateLimited,
    ServiceUnavailable,
    UpstreamError,
    UpstreamTimeout,
)
from openclaw.ingress.messages import (
    count_tokens,
    parse_messages_request,
    render_messages_error,
    render_messages_response,
)
from openclaw.providers.base import Json

CACHE = {"type": "ephemeral"}


def parse(**body: Any) -> Json:
    body.setdefault("model", "claude-sonnet-4-20250514")
    body.setdefault("max_tokens", 256)
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return parse_messages_request(body)


def test_a_minimal_request_becomes_a_chat_body() -> None:
    assert parse() == {
        "model": "claude-sonnet-4-20250514",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 256,
    }


def test_system_as_string_or_blocks_keeps_cache_marks() -> None:
    assert parse(system="Be brief.")["messages"][0] == {"role": "system", "content": "Be brief."}
    blocks = [{"type": "text", "text": "A"}, {"type": "text", "text": "B", "cache_control": CACHE}]
    system = parse(system=blocks)["messages"][0]
    assert system == {
        "role": "system",
        "content": [
            {"type": "text", "text": "A"},
            {"type": "text", "text": "B", "cache_control": CACHE},
        ],
    }


def test_sampling_stop_user_and_streaming_translate() -> None:
    out = parse(
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        stop_sequences=["END"],
        metadata={"user_id": "u-7"},
        stream=True,
    )
    assert out["temperature"] == 0.5 and out["top_p"] == 0.9 and out["top_k"] == 40
    assert out["stop"] == ["END"] and out["user"] == "u-7"
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


def test_images_become_image_url_parts() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
        {"type": "text", "text": "What is this?", "cache_control": CACHE},
    ]
    parts = parse(messages=[{"role": "user", "content": content}])["messages"][0]["content"]
    assert parts == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}},
        {"type": "text", "text": "What is this?", "cache_control": CACHE},
    ]


def test_documents_keep_their_text_where_policies_read_it() -> None:
    content = [
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "Call 555-0100."},
            "title": "Notes",
            "citations": {"enabled": True},
        },
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
        },
    ]
    text, pdf = parse(messages=[{"role": "user", "content": content}])["messages"][0]["content"]
    assert text == {
        "type": "text",
        "text": "Call 555-0100.",
        "document": {"title": "Notes", "citations": {"enabled": True}},
    }
    assert pdf == {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "document.pdf"},
    }


def test_a_tool_round_trip_becomes_tool_calls_and_tool_messages_in_order() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "18C"}],
                    "is_error": False,
                    "cache_control": CACHE,
                },
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]
    out = parse(messages=messages)["messages"]
    assert [m["role"] for m in out] == ["user", "assistant", "tool", "user"]
    assistant = out[1]
    assert assistant["content"] == [{"type": "text", "text": "Checking."}]
    assert assistant["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    assert assistant["reasoning_content"] == "Use the tool."
    assert assistant["thinking_blocks"][0]["signature"] == "sig"
    assert out[2] == {
        "role": "tool",
        "tool_call_id": "toolu_1",
        "content": [{"type": "text", "text": "18C"}],
        "cache_control": CACHE,
    }
    assert out[3] == {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}


def test_tools_tool_choice_thinking_and_betas() -> None:
    tools = [
        {
            "name": "weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "cache_control": CACHE,
        }
    ]
    out = parse(
        tools=tools,
        tool_choice={"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
        thinking={"type": "enabled", "budget_tokens": 2048},
    )
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": tools[0]["input_schema"],
                "description": "Weather for a city",
            },
            "cache_control": CACHE,
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert out["parallel_tool_calls"] is False
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    for kind, chat in (("auto", "auto"), ("any", "required"), ("none", "none")):
        assert parse(tool_choice={"type": kind})["tool_choice"] == chat
    betas = parse_messages_request(
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        beta="prompt-caching-2024-07-31, interleaved-thinking-2025-05-14",
    )
    assert betas["anthropic_beta"] == [
        "prompt-caching-2024-07-31",
        "interleaved-thinking-2025-05-14",
    ]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": None}, "model"),
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"temperature": 1.5}, "temperature"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"system": [{"type": "image"}]}, "system[0].type"),
        ({"tools": [{"type": "web_search_20250305", "name": "web"}]}, "tools[0].type"),
        ({"tools": [{"name": "f"}]}, "tools[0].input_schema"),
        ({"tool_choice": {"type": "maybe"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled", "budget_tokens": 10}}, "budget_tokens"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}
                ]
            },
            "messages[0].content[0].source.type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}],
                    }
                ]
            },
            "messages[0].content[0].input",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "search_result"}]}]},
            "messages[0].content[0].type",
        ),
    ],
)
def test_malformed_bodies_are_400s_that_name_the_field(body: Json, param: str) -> None:
    full = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    full.update(body)
    full = {k: v for k, v in full.items() if v is not None}
    with pytest.raises(InvalidRequest) as info:
        parse_messages_request(full)
    assert info.value.param == param and param in info.value.message
    status, rendered = render_messages_error(info.value)
    assert status == 400
    assert rendered == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": info.value.message},
    }


def test_count_tokens_needs_no_max_tokens_and_counts_tools() -> None:
    body: Json = {"model": "m", "messages": [{"role": "user", "content": "x" * 400}]}
    plain = count_tokens(body)
    assert plain >= 100
    tools = [{"name": "f", "description": "d" * 200, "input_schema": {"type": "object"}}]
    assert count_tokens({**body, "tools": tools}) >= plain + 50
    with pytest.raises(InvalidRequest):
        count_tokens({"model": "m", "messages": "nope"})


def chat_response(message: Json, finish: str = "stop", **extra: Any) -> Json:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 7,
            "total_tokens": 37,
            "prompt_tokens_details": {"cached_tokens": 20},
        },
        **extra,
    }


def test_a_chat_completion_renders_as_a_message() -> None:
    facts = {"request_id": "req_1", "draft": False}
    out = render_messages_response(
        chat_response(
            {
                "role": "assistant",
                "content": "Checking.",
                "reasoning_content": "think",
                "thinking_blocks": [{"type": "thinking", "thinking": "think", "signature": "s"}],
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            "tool_calls",
            openclaw=facts,
        )
    )
    assert out == {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o-mini",
        "content": [
            {"type": "thinking", "thinking": "think", "signature": "s"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 20},
        "openclaw": facts,
    }
    anthropic.types.Message.model_validate(out)  # strictly, as the SDK reads it


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
)
def test_finish_reasons_become_stop_reasons(finish: str, stop: str) -> None:
    out = render_messages_response(chat_response({"role": "assistant", "content": "x"}, finish))
    assert out["stop_reason"] == stop


def test_unsigned_reasoning_and_unparsable_arguments_still_render() -> None:
    out = render_messages_response(
        chat_response(
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "hmm",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}],
            },
            "stop",  # some servers finish a tool call with "stop"
        )
    )
    assert out["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": ""}
    assert out["content"][1]["input"] == {"_raw": "{oops"}
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (ModelNotFound("no such model"), 404, "not_found_error"),
        (PolicyViolation("blocked"), 403, "permission_error"),
        (RateLimited("slow down"), 429, "rate_limit_error"),
        (UpstreamError("upstream broke"), 502, "api_error"),
        (ServiceUnavailable("local model down"), 503, "overloaded_error"),
        (UpstreamTimeout("too slow"), 504, "timeout_error"),
        (OpenClawError("boom"), 500, "api_error"),
    ],
)
def test_errors_render_in_anthropics_shape(exc: OpenClawError, status: int, kind: str) -> None:
    assert render_messages_error(exc) == (
        status,
        {"type": "error", "error": {"type": kind, "message": exc.message}},
    )
