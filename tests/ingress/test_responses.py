"""The Responses ingress: the parser and renderers as pure functions, then the official
``openai`` SDK (``responses.create``, ``responses.stream``, a function-call round trip)."""

from __future__ import annotations

import json
from typing import Any

import openai
import orjson
import pytest
from pydantic import TypeAdapter

from fakes import OpenAIUpstream, Reply
from openclaw.errors import InvalidRequest, RateLimited
from openclaw.ingress import ResponsesStream, parse_responses_request, render_responses_response
from openclaw.providers.base import Json, chunk

from .conftest import KEY, IngressFactory, make_provider

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(openai.types.responses.ResponseStreamEvent)
TOOL: Json = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def parse(**body: Any) -> Json:
    body.setdefault("model", "general")
    body.setdefault("input", "hi")
    return parse_responses_request(body)


def test_a_string_input_with_instructions_becomes_two_messages() -> None:
    assert parse(instructions="Be brief.", max_output_tokens=50, temperature=0.2) == {
        "model": "general",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "max_tokens": 50,
        "temperature": 0.2,
    }


def test_items_become_messages_tool_calls_and_tool_results() -> None:
    out = parse(
        input=[
            {"role": "developer", "content": "Rules."},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather?"}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Oslo"}',
            },
            {
                "type": "function_call",
                "call_id": "call_2",
                "name": "get_weather",
                "arguments": '{"city":"Rome"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "5C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "20C"},
        ],
        tools=[TOOL],
        tool_choice={"type": "function", "name": "get_weather"},
        parallel_tool_calls=False,
        metadata={"task": "weather"},
    )
    messages = out["messages"]
    assert [m["role"] for m in messages] == ["developer", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["call_1", "call_2"]
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "5C"}
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": TOOL["parameters"],
            },
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert out["parallel_tool_calls"] is False and out["metadata"] == {"task": "weather"}


def test_text_format_reasoning_images_and_streaming() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    out = parse(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look"},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,iVBO",
                        "detail": "low",
                    },
                ],
            }
        ],
        text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
        },
        reasoning={"effort": "low"},
        stream=True,
    )
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    assert out["reasoning_effort"] == "low"
    assert out["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"},
    }
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert "response_format" not in parse(text={"format": {"type": "text"}})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"store": True}, "store"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ],
)
def test_state_is_refused_with_a_clear_400(body: Json, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse(**body)
    assert info.value.param == param and info.value.code == "stateless_responses"
    assert "stateless" in info.value.message and "input" in info.value.message


def test_store_false_is_fine() -> None:
    assert parse(store=False)["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": ""}, "model"),
        ({"input": []}, "input"),
        ({"input": 5}, "input"),
        ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({"temperature": 3}, "temperature"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"reasoning": {"effort": "max"}}, "reasoning.effort"),
        ({"input": [{"role": "system", "content": "only rules"}]}, "input"),
    ],
)
def test_malformed_bodies_name_the_field(body: Json, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse(**body)
    assert info.value.param == param and param in info.value.message


def completion(message: Json, finish: str = "stop") -> Json:
    return {
        "id": "chatcmpl-r1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15},
        "openclaw": {"request_id": "req_1"},
    }


def test_a_completion_renders_as_a_response_the_sdk_validates() -> None:
    request = {"model": "general", "input": "hi", "tools": [TOOL], "metadata": {"k": "v"}}
    out = render_responses_response(
        completion(
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            "tool_calls",
        ),
        request,
    )
    parsed = openai.types.responses.Response.model_validate(out)
    assert parsed.id == "resp_r1" and parsed.status == "completed"
    assert parsed.output_text == "Checking."
    call = parsed.output[1]
    assert call.type == "function_call" and call.call_id == "call_9"
    assert call.arguments == '{"city":"Oslo"}'
    assert parsed.usage is not None and parsed.usage.total_tokens == 15
    assert parsed.metadata == {"k": "v"} and out["store"] is False
    assert out["openclaw"] == {"request_id": "req_1"}


def test_reasoning_content_is_a_reasoning_item_first() -> None:
    out = render_responses_response(
        completion({"role": "assistant", "content": "42", "reasoning_content": "6 x 7"}),
        {"model": "m"},
    )
    parsed = openai.types.responses.Response.model_validate(out)
    assert parsed.output[0].type == "reasoning" and parsed.output[0].summary[0].text == "6 x 7"
    assert parsed.output_text == "42"


def test_a_length_cut_is_an_incomplete_response() -> None:
    out = render_responses_response(
        completion({"role": "assistant", "content": "Half"}, "length"), {"model": "m"}
    )
    assert out["status"] == "incomplete"
    assert out["incomplete_details"] == {"reason": "max_output_tokens"}


def sse_events(raw: bytes) -> list[Json]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        event, data = block.split("\n", 1)
        obj = orjson.loads(data.removeprefix("data: "))
        assert obj["type"] == event.removeprefix("event: ")
        out.append(obj)
    return out


def test_stream_events_are_in_the_sdks_order_with_sequence_numbers() -> None:
    r = ResponsesStream({"model": "general", "input": "hi"})
    parts: list[Json] = [
        {"role": "assistant", "content": ""},
        {"content": "Hel"},
        {"content": "lo"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "f", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]},
    ]
    raw = b"".join(r.feed(chunk("chatcmpl-s", "gpt", 1, p)) for p in parts)
    raw += r.feed(chunk("chatcmpl-s", "gpt", 1, {}, "tool_calls")) + r.finish()
    events = sse_events(raw)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for e in events:  # each event validates strictly against the SDK's own types
        STREAM_EVENT.validate_python(e)
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["message", "function_call"]
    assert final["output"][0]["content"][0]["text"] == "Hello"
    assert (
        final["output"][1]["arguments"] == '{"a":1}' and final["id"] == events[0]["response"]["id"]
    )


def test_reasoning_streams_as_a_summary_item_before_the_message() -> None:
    r = ResponsesStream({"model": "m", "input": "x"})
    parts: list[Json] = [
        {"reasoning_content": "Think "},
        {"reasoning_content": "hard."},
        {"content": "42"},
    ]
    raw = b"".join(r.feed(chunk("chatcmpl-z", "m", 1, p)) for p in parts) + r.finish()
    events = sse_events(raw)
    for e in events:
        STREAM_EVENT.validate_python(e)
    kinds = [e["type"] for e in events]
    assert kinds[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    final = openai.types.responses.Response.model_validate(events[-1]["response"])
    reasoning, message = final.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Think hard."
    assert message.type == "message" and message.status == "completed"
    assert final.output_text == "42"


def test_a_broken_stream_ends_with_response_failed() -> None:
    r = ResponsesStream({"model": "m", "input": "x"})
    r.feed(chunk("chatcmpl-f", "m", 1, {"content": "par"}))
    (failed,) = sse_events(r.error(RateLimited("slow down")))
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    STREAM_EVENT.validate_python(failed)


# -- the official SDK ------------------------------------------------------------------------


def sdk(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)


async def test_responses_create(serve: IngressFactory, openai_upstream: OpenAIUpstream) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with sdk(ingress.url) as c:
        resp = await c.responses.create(
            model="general", instructions="Be brief.", input="Hello there", max_output_tokens=40
        )
    assert resp.output_text == "fake-openai heard: Hello there"
    assert resp.status == "completed" and resp.usage is not None and resp.usage.output_tokens > 0
    sent = openai_upstream.last.json
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_tokens"] == 40


async def test_responses_stream_text(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    deltas: list[str] = []
    async with (
        sdk(ingress.url) as c,
        c.responses.stream(model="general", input="one two three") as stream,
    ):
        async for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output_text == "fake-openai heard: one two three"
    assert len(deltas) > 1


async def test_a_function_call_round_trip(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue(Reply(text="", tool_calls=[("get_weather", {"city": "Oslo"})]))
    openai_upstream.enqueue(Reply(text="It is 5C in Oslo."))
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with sdk(ingress.url) as c:
        async with c.responses.stream(
            model="general", input="Weather in Oslo?", tools=[TOOL]
        ) as stream:  # type: ignore[list-item]
            first = await stream.get_final_response()
        (call,) = [i for i in first.output if i.type == "function_call"]
        assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Oslo"}
        second = await c.responses.create(
            model="general",
            tools=[TOOL],  # type: ignore[list-item]
            input=[
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                },
                {"type": "function_call_output", "call_id": call.call_id, "output": "5C"},
            ],
        )
    assert second.output_text == "It is 5C in Oslo."
    sent = openai_upstream.last.json["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "5C"}


async def test_previous_response_id_is_an_openai_shaped_400(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    ingress = await serve(make_provider("openai", openai_upstream.url))
    async with sdk(ingress.url) as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.responses.create(model="general", input="more", previous_response_id="resp_1")
    assert info.value.code == "stateless_responses" and info.value.param == "previous_response_id"
    assert openai_upstream.requests == []


async def test_a_stream_failure_reaches_the_sdk_as_response_failed(
    serve: IngressFactory, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("stream_error:2")
    ingress = await serve(make_provider("openai", openai_upstream.url))
    kinds: list[str] = []
    async with (
        sdk(ingress.url) as c,
        c.responses.stream(model="general", input="one two three") as stream,
    ):
        async for event in stream:
            kinds.append(event.type)
    assert kinds[-1] == "response.failed" and "response.output_text.delta" in kinds
