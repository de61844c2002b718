"""The Messages ingress against the official ``anthropic`` SDK: create, stream with tool use,
count_tokens, a Claude-Code-shaped turn, thinking, and errors, with real adapters and fakes
behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import anthropic
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import TypeAdapter

from fakes import AnthropicUpstream, OpenAIUpstream, Reply
from openclaw.errors import UpstreamError
from openclaw.ingress import MessagesStream
from openclaw.providers.base import Json, chunk

from .conftest import KEY, IngressFactory, make_provider

STREAM_EVENT: TypeAdapter[object] = TypeAdapter(anthropic.types.RawMessageStreamEvent)
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def client(url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0)


async def test_create_through_an_openai_upstream(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with client(ingress.url) as c:
        msg = await c.messages.create(
            model="general",
            max_tokens=100,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello there"}],
            stop_sequences=["END"],
            metadata={"user_id": "u1"},
        )
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "fake-openai heard: Hello there"
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens > 0
    sent = openai_upstream.last.json
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["stop"] == ["END"] and sent["user"] == "u1" and sent["max_tokens"] == 100


async def test_stream_with_tool_use_accumulates_in_the_sdk(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue(
        Reply(text="Let me check.", tool_calls=[("get_weather", {"city": "Paris"})])
    )
    ingress = await serve(make_provider("openai", openai_upstream.url))
    kinds: list[str] = []
    async with (
        client(ingress.url) as c,
        c.messages.stream(
            model="general",
            max_tokens=200,
            tools=[WEATHER],
            messages=[{"role": "user", "content": "Weather in Paris?"}],
        ) as stream,
    ):
        async for event in stream:
            kinds.append(event.type)
        final = await stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "input_json" in kinds  # the SDK's own event for input_json_delta
    assert final.stop_reason == "tool_use"
    text, tool = final.content
    assert text.type == "text" and text.text == "Let me check."
    assert tool.type == "tool_use" and tool.name == "get_weather"
    assert tool.input == {"city": "Paris"}
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    assert openai_upstream.last.json["tools"][0]["function"]["name"] == "get_weather"


async def test_count_tokens_answers_input_tokens(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with client(ingress.url) as c:
        small = await c.messages.count_tokens(
            model="general", messages=[{"role": "user", "content": "hi"}]
        )
        large = await c.messages.count_tokens(
            model="general",
            tools=[WEATHER],
            messages=[{"role": "user", "content": "hi " * 200}],
        )
    assert 0 < small.input_tokens < large.input_tokens
    assert openai_upstream.requests == []  # counting calls no model


def claude_code_request() -> Json:
    tools = [
        {
            "name": f"tool_{i}",
            "description": f"Tool number {i}",
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
        }
        for i in range(12)
    ]
    tools[-1]["cache_control"] = {"type": "ephemeral"}
    return {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Project rules.", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools,
        "metadata": {"user_id": "user_abc_session_1"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Read the README"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Reading it."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "tool_3",
                        "input": {"path": "README.md"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "content": "# OpenClaw",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
    }


async def test_a_claude_code_turn_reaches_anthropic_losslessly(
    serve: IngressFactory, anthropic_upstream: AnthropicUpstream
) -> None:
    ingress = await serve(make_provider("anthropic", anthropic_upstream.url))
    anthropic_upstream.enqueue(Reply(text="The README is one heading."))
    body = claude_code_request()
    async with (
        client(ingress.url) as c,
        c.messages.stream(
            **body, extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"}
        ) as stream,
    ):
        text = "".join([t async for t in stream.text_stream])
    assert text == "The README is one heading."
    sent = anthropic_upstream.last
    assert sent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert sent.json["model"] == "upstream-model"
    assert sent.json["system"] == body["system"]
    assert sent.json["tools"] == [
        {k: t[k] for k in ("name", "input_schema", "description", "cache_control") if k in t}
        for t in body["tools"]
    ]
    assert sent.json["messages"] == body["messages"]
    assert sent.json["metadata"] == {"user_id": "user_abc_session_1"}
    assert sent.json["stream"] is True


async def test_the_same_turn_to_openai_loses_only_anthropic_only_fields(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with client(ingress.url) as c:
        msg = await c.messages.create(**{**claude_code_request(), "max_tokens": 1024})
    assert msg.content[0].type == "text"
    sent = openai_upstream.last.json
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    assert len(sent["tools"]) == 12 and "cache_control" not in orjson.dumps(sent).decode()


async def test_bad_input_is_an_anthropic_shaped_400_and_reaches_no_upstream(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with client(ingress.url) as c:
        with pytest.raises(anthropic.BadRequestError) as info:
            await c.messages.create(
                model="general",
                max_tokens=10,
                messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}],  # type: ignore[list-item]
            )
    assert info.value.status_code == 400
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": info.value.body["error"]["message"]},  # type: ignore[index]
    }
    assert "messages[0].content[0].type" in str(info.value)
    assert openai_upstream.requests == []


async def test_a_failure_mid_stream_is_an_error_event_the_sdk_raises(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("stream_error:2")
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with client(ingress.url) as c:
        with pytest.raises(anthropic.APIStatusError) as info:
            async with c.messages.stream(
                model="general", max_tokens=50, messages=[{"role": "user", "content": "one two"}]
            ) as stream:
                async for _ in stream:
                    pass
    assert "mid-stream" in str(info.value)


# -- thinking, from canned chunks ----------------------------------------------------------


def thinking_chunks() -> list[Json]:
    signed = {"type": "thinking", "thinking": "Paris is warm.", "signature": "sig-9"}
    steps: list[Json] = [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "Paris "},
        {"reasoning_content": "is warm."},
        {"thinking_blocks": [signed]},
        {"content": "Sunny"},
        {"content": ", 25C."},
    ]
    out = [chunk("chatcmpl-t1", "claude-x", 1, d) for d in steps]
    out.append(chunk("chatcmpl-t1", "claude-x", 1, {}, "stop"))
    last = chunk(
        "chatcmpl-t1", "claude-x", 1, {}, usage={"prompt_tokens": 9, "completion_tokens": 6}
    )
    last["choices"] = []
    last["openclaw"] = {"request_id": "req_t", "draft": False}
    out.append(last)
    return out


@pytest.fixture
async def canned() -> AsyncIterator[str]:
    """Serves the MessagesStream rendering of :func:`thinking_chunks` on /v1/messages."""

    async def handler(request: web.Request) -> web.StreamResponse:
        renderer = MessagesStream("claude-x", input_tokens=5)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(renderer.start() + renderer.ping())
        for ch in thinking_chunks():
            await resp.write(renderer.feed(ch))
        await resp.write(renderer.finish())
        return resp

    app = web.Application()
    app.router.add_post("/v1/messages", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_thinking_streams_as_thinking_and_signature_deltas(canned: str) -> None:
    async with (
        client(canned) as c,
        c.messages.stream(
            model="claude-x",
            max_tokens=3000,
            thinking={"type": "enabled", "budget_tokens": 2000},
            messages=[{"role": "user", "content": "Weather?"}],
        ) as stream,
    ):
        final = await stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking"
    assert thinking.thinking == "Paris is warm." and thinking.signature == "sig-9"
    assert text.type == "text" and text.text == "Sunny, 25C."
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 9 and final.usage.output_tokens == 6  # the real counts


def frames(raw: bytes) -> list[tuple[str, Json]]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        event, data = block.split("\n", 1)
        out.append((event.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return out


def test_the_event_sequence_is_anthropics_exactly() -> None:
    r = MessagesStream("claude-x", input_tokens=5)
    raw = b"".join(r.feed(c) for c in thinking_chunks()) + r.finish()
    events = frames(raw)
    assert [e for e, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == event for event, data in events)
    for _, data in events:  # each event validates strictly against the SDK's own types
        STREAM_EVENT.validate_python(data)
    start = events[0][1]["message"]
    assert start["id"] == "msg_t1" and start["usage"] == {"input_tokens": 5, "output_tokens": 0}
    assert [d["delta"]["type"] for _, d in events[2:5]] == [
        "thinking_delta",
        "thinking_delta",
        "signature_delta",
    ]
    assert [d["index"] for e, d in events if e.startswith("content_block")] == [0] * 5 + [1] * 4
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"input_tokens": 9, "output_tokens": 6}
    assert delta["openclaw"]["request_id"] == "req_t"
    assert r.finish() == b""  # finishing twice sends nothing more


def test_error_and_ping_frames() -> None:
    r = MessagesStream("m")
    assert frames(r.ping()) == [("ping", {"type": "ping"})]
    ((event, data),) = frames(r.error(UpstreamError("provider 'x' broke")))
    assert event == "error"
    assert data == {
        "type": "error",
        "error": {"type": "api_error", "message": "provider 'x' broke"},
    }


def test_parallel_tool_calls_each_get_a_block() -> None:
    r = MessagesStream("m")
    calls = [
        {"index": 0, "id": "c1", "type": "function", "function": {"name": "a", "arguments": ""}},
        {"index": 1, "id": "c2", "type": "function", "function": {"name": "b", "arguments": "{}"}},
    ]
    raw = r.feed(chunk("chatcmpl-x", "m", 1, {"tool_calls": calls}))
    raw += r.feed(
        chunk("chatcmpl-x", "m", 1, {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})
    )
    raw += r.feed(chunk("chatcmpl-x", "m", 1, {}, "tool_calls")) + r.finish()
    events = frames(raw)
    starts = [d for e, d in events if e == "content_block_start"]
    assert [(s["index"], s["content_block"]["name"]) for s in starts] == [(0, "a"), (1, "b")]
    deltas = [
        (d["index"], d["delta"]["partial_json"]) for e, d in events if e == "content_block_delta"
    ]
    assert deltas == [(1, "{}"), (0, "{}")]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_signed_thinking_survives_a_tool_turn_to_anthropic_and_back(
    serve: IngressFactory, anthropic_upstream: AnthropicUpstream
) -> None:
    ingress = await serve(make_provider("anthropic", anthropic_upstream.url))
    anthropic_upstream.enqueue(
        Reply(text="", thinking="Need the tool.", tool_calls=[("get_weather", {"city": "Oslo"})])
    )
    anthropic_upstream.enqueue(Reply(text="5C in Oslo."))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    question = {"role": "user", "content": "Weather in Oslo?"}
    async with client(ingress.url) as c:
        async with c.messages.stream(
            model="general",
            max_tokens=2000,
            thinking=thinking,
            tools=[WEATHER],
            messages=[question],
        ) as stream:
            first = await stream.get_final_message()
        block, call = first.content
        assert block.type == "thinking" and block.signature.startswith("fake-sig-")
        assert call.type == "tool_use" and first.stop_reason == "tool_use"
        answer = await c.messages.create(
            model="general",
            max_tokens=2000,
            thinking=thinking,
            tools=[WEATHER],
            messages=[
                question,
                {"role": "assistant", "content": [b.model_dump() for b in first.content]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "5C"}],
                },
            ],
        )
    assert answer.content[0].type == "text" and answer.content[0].text == "5C in Oslo."
    replayed = anthropic_upstream.last.json["messages"][1]["content"]
    assert replayed[0] == {
        "type": "thinking",
        "thinking": "Need the tool.",
        "signature": block.signature,
    }
    assert replayed[1]["type"] == "tool_use" and replayed[1]["id"] == call.id
    assert anthropic_upstream.last.json["thinking"] == thinking


async def test_a_long_wait_before_the_first_token_sends_pings(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("hang:0.3")
    ingress = await serve(make_provider("openai", openai_upstream.url))
    ingress.ping_every = 0.05
    body = {
        "model": "general",
        "max_tokens": 20,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{ingress.url}/v1/messages", json=body, headers={"x-api-key": KEY}) as resp,
    ):
        raw = await resp.read()
    events = [e for e, _ in frames(raw)]
    assert events[0] == "message_start" and events[1] == "ping"
    assert events.count("ping") >= 2 and events[-1] == "message_stop"
