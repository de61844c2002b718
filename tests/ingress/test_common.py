"""Shared ingress helpers: the keep-alive wrapper that drives Anthropic's ``ping`` events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from openclaw.errors import UpstreamError
from openclaw.ingress import with_heartbeat


async def slow(items: list[str], delay: float, closed: list[bool]) -> AsyncIterator[str]:
    try:
        for item in items:
            await asyncio.sleep(delay)
            yield item
    finally:
        closed.append(True)


async def test_idle_gaps_yield_none_and_no_item_is_lost() -> None:
    closed: list[bool] = []
    out = [x async for x in with_heartbeat(slow(["a", "b"], 0.05, closed), every=0.01)]
    assert [x for x in out if x is not None] == ["a", "b"]
    assert out.count(None) >= 2 and closed == [True]


async def test_a_fast_source_gets_no_pings() -> None:
    closed: list[bool] = []
    assert [x async for x in with_heartbeat(slow(["a", "b"], 0, closed), every=5)] == ["a", "b"]


async def test_closing_early_cancels_the_pending_item_and_closes_the_source() -> None:
    closed: list[bool] = []
    beats = with_heartbeat(slow(["a", "b"], 10, closed), every=0.01)
    assert await beats.__anext__() is None
    await beats.aclose()
    assert closed == [True]


async def test_errors_from_the_source_propagate() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "a"
        raise UpstreamError("broke")

    got: list[str | None] = []
    with pytest.raises(UpstreamError):
        async for x in with_heartbeat(failing(), every=1):
            got.append(x)
    assert got == ["a"]
