"""The Ollama adapter: native /api/chat translation, NDJSON streams, model listing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from fakes import OllamaUpstream, Reply
from openclaw.errors import InvalidRequest, UpstreamConnectError, UpstreamError
from openclaw.providers.base import Json
from openclaw.providers.ollama import OllamaProvider, from_chat, to_chat_request

from .helpers import closed_port, collect, make_call, make_provider, streamed_text

TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


def translate(**body: Any) -> Json:
    return to_chat_request(make_call(**body), stream=False)


@pytest.fixture
async def ollama(ollama_upstream: OllamaUpstream) -> AsyncIterator[OllamaProvider]:
    provider = make_provider("ollama", ollama_upstream.url)
    assert isinstance(provider, OllamaProvider)
    yield provider
    await provider.aclose()


def test_sampling_parameters_go_under_options() -> None:
    out = translate(temperature=0.2, top_p=0.8, seed=7, max_tokens=64, stop="END")
    assert out["options"] == {
        "temperature": 0.2,
        "top_p": 0.8,
        "seed": 7,
        "num_predict": 64,
        "stop": ["END"],
    }
    assert out["stream"] is False
    assert out["model"] == "test-model"
    assert "options" not in translate()
    assert translate(max_completion_tokens=9)["options"] == {"num_predict": 9}


def test_response_format_becomes_format() -> None:
    assert translate(response_format={"type": "json_object"})["format"] == "json"
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert translate(response_format=fmt)["format"] == schema
    assert "format" not in translate(response_format={"type": "text"})


def test_messages_become_strings_images_and_object_arguments() -> None:
    out = translate(
        tools=[TOOL],
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "3C"},
        ],
    )
    assert out["tools"] == [TOOL]
    system, user, assistant, tool = out["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    assert user == {"role": "user", "content": "Look:", "images": ["AAAA"]}
    assert assistant == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
    }
    assert tool == {"role": "tool", "content": "3C", "tool_name": "get_weather"}


def test_an_image_by_url_is_refused_since_ollama_needs_the_bytes() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequest):
        translate(messages=[{"role": "user", "content": [part]}])


def test_a_reply_becomes_a_chat_completion() -> None:
    out = from_chat(
        {
            "model": "llama3.2",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}],
            },
            "done": True,
            "done_reason": "stop",
            "eval_count": 4,
        },
        "fallback",
    )
    message = out["choices"][0]["message"]
    assert message["content"] is None
    call = message["tool_calls"][0]
    assert call["id"].startswith("call")
    assert call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {"x": 1}
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"] == {"prompt_tokens": 0, "completion_tokens": 4, "total_tokens": 4}


def test_done_reason_length_is_finish_length() -> None:
    out = from_chat({"message": {"content": "abc"}, "done": True, "done_reason": "length"}, "m")
    assert out["choices"][0]["finish_reason"] == "length"


async def test_requests_go_to_the_native_chat_api(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    out = await ollama.complete(make_call("hi", temperature=0.1))
    assert out["choices"][0]["message"]["content"] == "fake-ollama heard: hi"
    req = ollama_upstream.last
    assert req.path == "/api/chat"
    assert req.json["stream"] is False
    assert req.json["options"] == {"temperature": 0.1}
    assert "authorization" not in req.headers


async def test_a_base_url_copied_with_v1_still_reaches_the_native_api(
    ollama_upstream: OllamaUpstream,
) -> None:
    provider = make_provider("ollama", ollama_upstream.url + "/v1")
    try:
        await provider.complete(make_call())
    finally:
        await provider.aclose()
    assert ollama_upstream.last.path == "/api/chat"


async def test_tool_calls_come_back_with_string_arguments_in_both_modes(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    ollama_upstream.enqueue(Reply(tool_calls=[("get_weather", {"city": "Oslo"})]))
    out = await ollama.complete(make_call(tools=[TOOL]))
    call = out["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}

    ollama_upstream.enqueue(Reply(tool_calls=[("get_weather", {"city": "Oslo"})]))
    chunks = await collect(ollama, make_call(tools=[TOOL]))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["index"] == 0
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert ollama_upstream.last.json["stream"] is True


async def test_stream_usage_comes_from_the_done_line(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    ollama_upstream.enqueue(Reply(text="one two three", usage=(21, 3)))
    chunks = await collect(ollama, make_call())
    assert streamed_text(chunks) == "one two three"
    assert chunks[-1]["usage"] == {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24}


async def test_an_error_line_mid_stream_is_an_upstream_error(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    ollama_upstream.enqueue("stream_error:1")
    with pytest.raises(UpstreamError, match="mid-stream"):
        await collect(ollama, make_call())


async def test_an_unknown_model_is_a_not_retryable_404(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    ollama_upstream.enqueue("404")
    with pytest.raises(UpstreamError) as info:
        await ollama.complete(make_call())
    assert info.value.retryable is False


async def test_list_models_reads_api_tags(
    ollama: OllamaProvider, ollama_upstream: OllamaUpstream
) -> None:
    assert await ollama.list_models() == ["llama3.2:latest", "qwen2.5:7b"]
    assert ollama_upstream.last.path == "/api/tags"


async def test_health_counts_installed_models(ollama: OllamaProvider) -> None:
    assert await ollama.health() == (True, "2 models installed")


async def test_list_models_of_a_stopped_ollama_is_a_connect_error() -> None:
    provider = make_provider("ollama", f"http://127.0.0.1:{closed_port()}")
    assert isinstance(provider, OllamaProvider)
    try:
        with pytest.raises(UpstreamConnectError):
            await provider.list_models()
    finally:
        await provider.aclose()


async def test_an_api_key_if_configured_is_sent_as_bearer(
    ollama_upstream: OllamaUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_KEY", "ok-123")
    provider = make_provider("ollama", ollama_upstream.url, api_key="${OLLAMA_KEY}")
    try:
        await provider.complete(make_call())
    finally:
        await provider.aclose()
    assert ollama_upstream.last.headers["Authorization"] == "Bearer ok-123"


async def test_thinking_models_report_reasoning_content(ollama_upstream: OllamaUpstream) -> None:
    provider = make_provider("ollama", ollama_upstream.url)
    try:
        ollama_upstream.enqueue(Reply(text="42", thinking="6 times 7"))
        out = await provider.complete(make_call())
        ollama_upstream.enqueue(Reply(text="42", thinking="6 times 7"))
        chunks = await collect(provider, make_call())
    finally:
        await provider.aclose()
    assert out["choices"][0]["message"]["reasoning_content"] == "6 times 7"
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "6 times 7"
    assert streamed_text(chunks) == "42"
