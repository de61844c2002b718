"""What every network adapter must do the same way, run against each provider's fake.

Happy paths, the error boundary (status codes, transport failures, broken streams) and
cancellation. Provider-specific translation lives in the per-provider test modules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import cast

import pytest

from openclaw.config.schema import Timeouts
from openclaw.errors import (
    InvalidRequest,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeout,
)
from openclaw.providers.base import Json

from .helpers import (
    FAST,
    ROOMY,
    Wired,
    closed_port,
    collect,
    make_call,
    make_provider,
    streamed_text,
)

MODES = ("complete", "stream")


async def run(w: Wired, mode: str, timeouts: Timeouts = ROOMY) -> object:
    call = make_call(timeouts=timeouts)
    if mode == "complete":
        return await w.provider.complete(call)
    return await collect(w.provider, call)


async def test_complete_returns_a_chat_completion_with_usage(wired: Wired) -> None:
    out = await wired.provider.complete(make_call("hello there"))
    assert out["object"] == "chat.completion"
    choice = out["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == f"fake-{wired.fake.kind} heard: hello there"
    assert choice["finish_reason"] == "stop"
    usage = out["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] == 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert wired.fake.last.json["model"] == "test-model"


async def test_stream_yields_deltas_then_finish_then_a_usage_only_chunk(wired: Wired) -> None:
    chunks = await collect(wired.provider, make_call("hello there"))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert streamed_text(chunks) == f"fake-{wired.fake.kind} heard: hello there"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == 4
    assert last["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize("mode", MODES)
async def test_429_is_retryable_and_carries_retry_after(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("429:0.25")
    with pytest.raises(UpstreamError) as info:
        await run(wired, mode)
    assert info.value.upstream_status == 429
    assert info.value.retryable is True
    assert info.value.retry_after == 0.25


@pytest.mark.parametrize("mode", MODES)
async def test_500_is_retryable(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("500")
    with pytest.raises(UpstreamError) as info:
        await run(wired, mode)
    assert info.value.upstream_status == 500
    assert info.value.retryable is True


@pytest.mark.parametrize("mode", MODES)
async def test_401_is_not_retryable_and_does_not_echo_the_key(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("401")
    with pytest.raises(UpstreamError) as info:
        await run(wired, mode)
    assert info.value.upstream_status == 401
    assert info.value.retryable is False
    assert "sk-test" not in info.value.message


async def test_400_becomes_an_invalid_request(wired: Wired) -> None:
    wired.fake.enqueue("400")
    with pytest.raises(InvalidRequest):
        await wired.provider.complete(make_call())


@pytest.mark.parametrize("mode", MODES)
async def test_connection_refused_is_a_connect_error(wired: Wired, mode: str) -> None:
    port = closed_port()
    url = wired.fake.url.replace(str(wired.fake.port), str(port))
    provider = make_provider(wired.kind, url)
    try:
        with pytest.raises(UpstreamConnectError) as info:
            await run(Wired(wired.kind, provider, wired.fake), mode)
        assert info.value.retryable is True
    finally:
        await provider.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_a_hanging_upstream_times_out_and_is_disconnected(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("hang")
    with pytest.raises(UpstreamTimeout) as info:
        await run(wired, mode, FAST)
    assert info.value.retryable is True
    assert await wired.fake.wait_disconnect(1.0)


@pytest.mark.parametrize("mode", MODES)
async def test_a_reset_connection_is_a_retryable_upstream_error(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("reset")
    with pytest.raises(UpstreamError) as info:
        await run(wired, mode)
    assert not isinstance(info.value, UpstreamTimeout | UpstreamConnectError)
    assert info.value.retryable is True


@pytest.mark.parametrize("mode", MODES)
async def test_a_malformed_body_is_an_upstream_error(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("malformed")
    with pytest.raises(UpstreamError, match="malformed"):
        await run(wired, mode)


@pytest.mark.parametrize("mode", MODES)
async def test_a_connection_cut_mid_answer_is_an_upstream_error(wired: Wired, mode: str) -> None:
    wired.fake.enqueue("cut:2")
    with pytest.raises(UpstreamError):
        await run(wired, mode)


async def test_a_stream_ending_without_its_terminator_is_an_upstream_error(wired: Wired) -> None:
    wired.fake.enqueue("truncate:2")
    seen = []
    with pytest.raises(UpstreamError, match="ended the stream"):
        async for c in wired.provider.stream(make_call()):
            seen.append(c)
    assert streamed_text(seen)  # the two frames before the cut did arrive


async def test_an_in_band_stream_error_is_an_upstream_error(wired: Wired) -> None:
    wired.fake.enqueue("stream_error:1")
    with pytest.raises(UpstreamError) as info:
        await collect(wired.provider, make_call())
    assert info.value.retryable is True


async def test_cancelling_the_stream_consumer_closes_the_upstream_connection(wired: Wired) -> None:
    wired.fake.enqueue("slow:0.02")
    got = asyncio.Event()

    async def consume() -> None:
        n = 0
        async for _ in wired.provider.stream(make_call()):
            n += 1
            if n == 3:
                got.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got.wait(), 1.0)
    assert not wired.fake.disconnected.is_set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await wired.fake.wait_disconnect(1.0)


async def test_closing_the_stream_early_closes_the_upstream_connection(wired: Wired) -> None:
    wired.fake.enqueue("slow:0.02")
    stream = cast(AsyncGenerator[Json, None], wired.provider.stream(make_call()))
    async with contextlib.aclosing(stream):
        async for c in stream:
            if streamed_text([c]):
                break
    assert await wired.fake.wait_disconnect(1.0)


async def test_health_reports_a_reachable_upstream(wired: Wired) -> None:
    ok, detail = await wired.provider.health()
    assert ok, detail


async def test_health_reports_an_unreachable_upstream(wired: Wired) -> None:
    url = wired.fake.url.replace(str(wired.fake.port), str(closed_port()))
    provider = make_provider(wired.kind, url)
    try:
        ok, detail = await provider.health()
    finally:
        await provider.aclose()
    assert not ok
    assert detail
