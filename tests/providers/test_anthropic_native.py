"""What an Anthropic client sends survives the chat-shaped pipeline to an Anthropic upstream:
cache marks, documents, thinking (config, blocks, signatures), betas; and chat features map
onto Claude's own (reasoning_effort -> thinking budget, json_schema -> a forced tool)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from fakes import AnthropicUpstream, OllamaUpstream, OpenAIUpstream, Reply
from openclaw.errors import InvalidRequest
from openclaw.providers.anthropic import (
    AnthropicProvider,
    StreamTranslator,
    from_message,
    to_messages_request,
)
from openclaw.providers.anthropic_request import STRUCTURED_TOOL
from openclaw.providers.base import Json, Provider, strip_extensions

from .helpers import collect, make_call, make_provider

CACHE = {"type": "ephemeral"}
SIGNED = {"type": "thinking", "thinking": "Paris first.", "signature": "sig-1"}
NATIVE_HISTORY: list[Json] = [
    {"role": "system", "content": [{"type": "text", "text": "You code.", "cache_control": CACHE}]},
    {
        "role": "user",
        "content": [
            {
                "type": "text",
                "text": "Doc body",
                "document": {"title": "Spec", "citations": {"enabled": True}},
            },
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"},
            },
            {"type": "text", "text": "Weather?", "cache_control": CACHE},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "reasoning_content": "Paris first.",
        "thinking_blocks": [SIGNED],
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {
        "role": "tool",
        "tool_call_id": "toolu_1",
        "content": "18C",
        "cache_control": CACHE,
        "is_error": True,
    },
]
TOOL: Json = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    "cache_control": CACHE,
}


def translate(**body: Any) -> Json:
    return to_messages_request(make_call(**body), stream=False)


@pytest.fixture
async def anthropic(anthropic_upstream: AnthropicUpstream) -> AsyncIterator[AnthropicProvider]:
    provider = make_provider("anthropic", anthropic_upstream.url)
    assert isinstance(provider, AnthropicProvider)
    yield provider
    await provider.aclose()


def test_cache_marks_documents_thinking_blocks_and_errors_reach_anthropic() -> None:
    out = translate(messages=NATIVE_HISTORY, tools=[TOOL])
    assert out["system"] == [{"type": "text", "text": "You code.", "cache_control": CACHE}]
    doc, pdf, text = out["messages"][0]["content"]
    assert doc == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "Doc body"},
        "title": "Spec",
        "citations": {"enabled": True},
    }
    assert pdf["source"] == {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}
    assert text == {"type": "text", "text": "Weather?", "cache_control": CACHE}
    assistant = out["messages"][1]["content"]
    assert assistant[0] == SIGNED and assistant[1]["type"] == "tool_use"
    result = out["messages"][2]["content"][0]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "18C",
        "is_error": True,
        "cache_control": CACHE,
    }
    assert out["tools"][0]["cache_control"] == CACHE


def test_the_clients_thinking_config_and_top_k_pass_and_temperature_yields() -> None:
    thinking = {"type": "enabled", "budget_tokens": 2000}
    out = translate(thinking=thinking, top_k=5, temperature=0.2, max_tokens=4000)
    assert out["thinking"] == thinking and out["top_k"] == 5
    assert "temperature" not in out  # Anthropic refuses temperature with thinking on


@pytest.mark.parametrize(("effort", "budget"), [("low", 2048), ("high", 24576), ("medium", 8192)])
def test_reasoning_effort_becomes_a_thinking_budget_under_max_tokens(
    effort: str, budget: int
) -> None:
    out = translate(reasoning_effort=effort, max_tokens=32000)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
    capped = translate(reasoning_effort="high", max_tokens=5000)
    assert capped["thinking"]["budget_tokens"] == 4999
    assert "thinking" not in translate(reasoning_effort="none")


def test_reasoning_effort_with_too_few_tokens_or_an_unknown_level_is_a_400() -> None:
    with pytest.raises(InvalidRequest) as info:
        translate(reasoning_effort="low", max_tokens=800)
    assert info.value.param == "max_tokens"
    with pytest.raises(InvalidRequest):
        translate(reasoning_effort="extreme")


SCHEMA: Json = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
JSON_SCHEMA: Json = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA}}


def test_json_schema_becomes_a_forced_tool_and_json_object_does_not() -> None:
    out = translate(response_format=JSON_SCHEMA)
    assert out["tools"] == [
        {"name": "place", "description": out["tools"][0]["description"], "input_schema": SCHEMA}
    ]
    assert out["tool_choice"] == {"type": "tool", "name": "place"}
    with_tools = translate(response_format=JSON_SCHEMA, tools=[TOOL])
    assert [t["name"] for t in with_tools["tools"]] == ["get_weather", "place"]
    assert with_tools["tool_choice"] == {"type": "any"}
    unnamed = translate(response_format={"type": "json_schema", "json_schema": {"schema": SCHEMA}})
    assert unnamed["tool_choice"]["name"] == STRUCTURED_TOOL
    assert "tools" not in translate(response_format={"type": "json_object"})
    thinking = translate(response_format=JSON_SCHEMA, reasoning_effort="low", max_tokens=9000)
    assert "tools" not in thinking  # a forced tool is refused with thinking: repair instead


async def test_a_forced_structured_answer_comes_back_as_the_message_text(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue(Reply(text="", tool_calls=[("place", {"city": "Oslo"})]))
    out = await anthropic.complete(make_call(response_format=JSON_SCHEMA))
    choice = out["choices"][0]
    assert orjson.loads(choice["message"]["content"]) == {"city": "Oslo"}
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "stop"
    anthropic_upstream.enqueue(Reply(text="", tool_calls=[("place", {"city": "Rome"})]))
    chunks = await collect(anthropic, make_call(response_format=JSON_SCHEMA))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert orjson.loads(text) == {"city": "Rome"}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"


async def test_beta_flags_join_the_configured_ones(anthropic_upstream: AnthropicUpstream) -> None:
    provider = make_provider(
        "anthropic", anthropic_upstream.url, headers={"anthropic-beta": "configured-1"}
    )
    try:
        await provider.complete(make_call(anthropic_beta=["prompt-caching-2024-07-31", "b2"]))
    finally:
        await provider.aclose()
    assert (
        anthropic_upstream.last.headers["anthropic-beta"]
        == "configured-1,prompt-caching-2024-07-31,b2"
    )
    assert "anthropic_beta" not in anthropic_upstream.last.json


def test_thinking_blocks_come_back_as_reasoning_content_with_their_signatures() -> None:
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    out = from_message(
        {
            "content": [SIGNED, redacted, {"type": "text", "text": "It is sunny."}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
        "m",
    )
    message = out["choices"][0]["message"]
    assert message["content"] == "It is sunny."
    assert message["reasoning_content"] == "Paris first."
    assert message["thinking_blocks"] == [SIGNED, redacted]


def test_streamed_thinking_arrives_as_reasoning_deltas_then_the_signed_block() -> None:
    t = StreamTranslator("m")
    events: list[tuple[str, Json]] = [
        ("message_start", {"message": {"usage": {"input_tokens": 2}}}),
        (
            "content_block_start",
            {"index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "thinking_delta", "thinking": "Paris "}},
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "thinking_delta", "thinking": "first."}},
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "signature_delta", "signature": "sig-1"}},
        ),
        ("content_block_stop", {"index": 0}),
        ("content_block_start", {"index": 1, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": "Sunny."}}),
        ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        ("message_stop", {}),
    ]
    deltas = [c["choices"][0]["delta"] for k, e in events for c in t.feed(k, e) if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Paris first."
    blocks = [b for d in deltas for b in d.get("thinking_blocks") or []]
    assert blocks == [{"type": "thinking", "thinking": "Paris first.", "signature": "sig-1"}]
    assert "".join(d.get("content") or "" for d in deltas) == "Sunny."


def test_extensions_are_stripped_for_openai_without_copying_plain_bodies() -> None:
    plain: Json = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert strip_extensions(plain) is plain
    body: Json = {
        "model": "m",
        "messages": NATIVE_HISTORY,
        "tools": [TOOL],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "top_k": 3,
        "anthropic_beta": ["x"],
    }
    out = strip_extensions(body)
    text = orjson.dumps(out).decode()
    for key in (
        "cache_control",
        "thinking_blocks",
        "is_error",
        '"document"',
        "top_k",
        "anthropic_beta",
    ):
        assert key not in text
    assert "thinking" not in out
    assert out["messages"][1]["content"][0] == {"type": "text", "text": "Doc body"}
    assert body["messages"][0]["content"][0]["cache_control"] == CACHE  # the input is untouched


async def test_openai_gets_n_and_no_extension_fields(openai_upstream: OpenAIUpstream) -> None:
    provider = make_provider("openai", openai_upstream.url)
    try:
        await provider.complete(make_call(n=2, top_k=4, messages=NATIVE_HISTORY[:2]))
    finally:
        await provider.aclose()
    sent = openai_upstream.last.json
    assert sent["n"] == 2 and "top_k" not in sent
    assert "cache_control" not in orjson.dumps(sent["messages"]).decode()


@pytest.mark.parametrize("kind", ["anthropic", "ollama", "mock"])
async def test_n_above_one_is_a_400_naming_the_provider_elsewhere(
    kind: str, anthropic_upstream: AnthropicUpstream, ollama_upstream: OllamaUpstream
) -> None:
    url = {"anthropic": anthropic_upstream.url, "ollama": ollama_upstream.url}.get(kind, "")
    provider: Provider = make_provider(kind, url)
    try:
        for run in (provider.complete, lambda c: collect(provider, c)):
            with pytest.raises(InvalidRequest) as info:
                await run(make_call(n=3))
            assert f"provider '{kind}'" in info.value.message and info.value.param == "n"
    finally:
        await provider.aclose()
    assert anthropic_upstream.requests == [] and ollama_upstream.requests == []


async def test_ollama_takes_top_k_as_an_option(ollama_upstream: OllamaUpstream) -> None:
    provider = make_provider("ollama", ollama_upstream.url)
    try:
        await provider.complete(make_call(top_k=7, messages=NATIVE_HISTORY[:1]))
    finally:
        await provider.aclose()
    assert ollama_upstream.last.json["options"]["top_k"] == 7


def test_unsigned_thinking_from_another_upstream_is_not_sent_to_anthropic() -> None:
    history: list[Json] = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "Hello.",
            "thinking_blocks": [
                {"type": "thinking", "thinking": "from vLLM", "signature": ""},
                {"type": "redacted_thinking", "data": "opaque"},
            ],
        },
        {"role": "user", "content": "again"},
    ]
    assistant = translate(messages=history)["messages"][1]["content"]
    assert assistant == [
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Hello."},
    ]


async def test_thinking_from_the_wire_comes_back_signed_both_ways(
    anthropic: AnthropicProvider, anthropic_upstream: AnthropicUpstream
) -> None:
    anthropic_upstream.enqueue(Reply(text="Sunny.", thinking="Paris is warm"))
    out = await anthropic.complete(make_call(reasoning_effort="low", max_tokens=4000))
    message = out["choices"][0]["message"]
    assert anthropic_upstream.last.json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert message["content"] == "Sunny." and message["reasoning_content"] == "Paris is warm"
    (block,) = message["thinking_blocks"]
    assert block["signature"].startswith("fake-sig-")
    anthropic_upstream.enqueue(Reply(text="Sunny.", thinking="Paris is warm"))
    chunks = await collect(anthropic, make_call())
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Paris is warm"
    assert [b for d in deltas for b in d.get("thinking_blocks") or []] == [block]
