"""The official SDKs talk to the fakes, which proves the fakes speak the real wire formats.

If an SDK upgrade changes what it expects, these fail before any adapter test can mislead.
The synchronous tests also cover ``start_in_thread``, the runner for subprocess tests.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from fakes import (
    FAULT_HEADER,
    AnthropicUpstream,
    OllamaUpstream,
    OpenAIUpstream,
    Reply,
    start_in_thread,
)

MESSAGES: Any = [{"role": "user", "content": "hello there"}]  # SDK TypedDicts, loosely


def aclient(fake: AnthropicUpstream) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=fake.url, api_key="sk-ant-test", max_retries=0, timeout=2.0
    )


def oclient(fake: OpenAIUpstream) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.url, api_key="sk-test", max_retries=0, timeout=2.0)


# -- anthropic -----------------------------------------------------------------------------


async def test_anthropic_sdk_reads_a_message(anthropic_upstream: AnthropicUpstream) -> None:
    async with aclient(anthropic_upstream) as client:
        msg = await client.messages.create(model="claude-x", max_tokens=50, messages=MESSAGES)
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "fake-anthropic heard: hello there"
    assert msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 4


async def test_anthropic_sdk_reads_a_stream(anthropic_upstream: AnthropicUpstream) -> None:
    async with (
        aclient(anthropic_upstream) as client,
        client.messages.stream(model="claude-x", max_tokens=50, messages=MESSAGES) as stream,
    ):
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "fake-anthropic heard: hello there"
    assert final.usage.output_tokens == 4
    assert final.stop_reason == "end_turn"


async def test_anthropic_sdk_reads_a_streamed_tool_use(
    anthropic_upstream: AnthropicUpstream,
) -> None:
    anthropic_upstream.enqueue(
        Reply(text="Checking.", tool_calls=[("get_weather", {"city": "Paris"})])
    )
    tool: Any = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
    async with (
        aclient(anthropic_upstream) as client,
        client.messages.stream(
            model="claude-x",
            max_tokens=50,
            messages=MESSAGES,
            tools=[tool],
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    tool_use = final.content[1]
    assert tool_use.type == "tool_use" and tool_use.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


async def test_anthropic_sdk_sees_errors_as_the_real_api_sends_them(
    anthropic_upstream: AnthropicUpstream,
) -> None:
    anthropic_upstream.enqueue("429:3")
    async with aclient(anthropic_upstream) as client:
        with pytest.raises(anthropic.RateLimitError) as info:
            await client.messages.create(model="claude-x", max_tokens=5, messages=MESSAGES)
        assert info.value.response.headers["retry-after"] == "3"
        anthropic_upstream.enqueue("stream_error:1")
        with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
            async with client.messages.stream(
                model="claude-x",
                max_tokens=5,
                messages=MESSAGES,
            ) as stream:
                async for _ in stream:
                    pass
        # The fake is as strict as the API: a system role inside messages is a 400.
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.create(
                model="claude-x",
                max_tokens=5,
                messages=[{"role": "system", "content": "x"}],
            )


async def test_anthropic_sdk_lists_models(anthropic_upstream: AnthropicUpstream) -> None:
    async with aclient(anthropic_upstream) as client:
        page = await client.models.list()
    assert [m.id for m in page.data] == ["claude-sonnet-4-5", "claude-haiku-4-5"]


# -- openai --------------------------------------------------------------------------------


async def test_openai_sdk_reads_a_completion(openai_upstream: OpenAIUpstream) -> None:
    async with oclient(openai_upstream) as client:
        out = await client.chat.completions.create(model="gpt-x", messages=MESSAGES)
    assert out.choices[0].message.content == "fake-openai heard: hello there"
    assert out.usage is not None and out.usage.completion_tokens == 4


async def test_openai_sdk_reads_a_stream_with_usage(openai_upstream: OpenAIUpstream) -> None:
    async with oclient(openai_upstream) as client:
        stream = await client.chat.completions.create(
            model="gpt-x",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "fake-openai heard: hello there"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])


async def test_openai_sdk_stream_helper_assembles_tool_calls(
    openai_upstream: OpenAIUpstream,
) -> None:
    openai_upstream.enqueue(Reply(tool_calls=[("get_weather", {"city": "Lima"})]))
    tool: Any = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
    async with (
        oclient(openai_upstream) as client,
        client.chat.completions.stream(
            model="gpt-x",
            messages=MESSAGES,
            tools=[tool],
        ) as stream,
    ):
        final = await stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.arguments == '{"city": "Lima"}'
    assert final.choices[0].finish_reason == "tool_calls"


async def test_openai_sdk_sees_errors_and_lists_models(openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.enqueue("429")
    async with oclient(openai_upstream) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="gpt-x", messages=MESSAGES)
        models = await client.models.list()
    assert [m.id for m in models.data] == ["gpt-4o-mini", "gpt-4o"]


# -- threaded fakes and per-request faults (what subprocess tests rely on) ----------------------


def test_a_threaded_fake_serves_sync_clients_and_records_requests() -> None:
    with start_in_thread(AnthropicUpstream()) as (url, fake, _stop):
        client = anthropic.Anthropic(
            base_url=url, api_key="sk-ant-test", max_retries=0, timeout=2.0
        )
        msg = client.messages.create(model="claude-x", max_tokens=5, messages=MESSAGES)
        client.close()
    block = msg.content[0]
    assert block.type == "text" and block.text.endswith("hello there")
    assert fake.last.json["max_tokens"] == 5


def test_a_fault_can_be_chosen_by_header_or_by_a_marker_in_the_prompt() -> None:
    with start_in_thread(OpenAIUpstream()) as served:
        client = openai.OpenAI(base_url=served.url, api_key="k", max_retries=0, timeout=2.0)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-x",
                messages=MESSAGES,
                extra_headers={FAULT_HEADER: "503"},
            )
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="gpt-x",
                messages=[{"role": "user", "content": "please fail fake-fault:429 thanks"}],
            )
        client.close()
    assert [r.fault for r in served.fake.chat_requests()] == ["503", "429"]


def test_a_threaded_fake_observes_a_client_timeout_during_a_hang() -> None:
    with start_in_thread(OllamaUpstream()) as (url, fake, _stop):
        fake.enqueue("hang")
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/api/chat", json={"model": "m", "messages": []}, timeout=0.2)
        assert fake.disconnected.wait(1.0)
        reply = httpx.post(f"{url}/api/chat", json={"model": "m", "stream": False}, timeout=2.0)
    assert reply.json()["done"] is True


def test_the_fault_header_also_fails_the_model_list() -> None:
    with start_in_thread(OllamaUpstream()) as (url, fake, _stop):
        down = httpx.get(f"{url}/api/tags", headers={FAULT_HEADER: "503"}, timeout=2.0)
        up = httpx.get(f"{url}/api/tags", timeout=2.0)
    assert down.status_code == 503 and down.json() == {"error": "fake ollama error 503"}
    assert up.status_code == 200 and up.json()["models"]
    assert [r.fault for r in fake.requests] == ["503", None]
