"""The in-memory state reads the injected clock: refills, slot expiry and TTLs without sleeping."""

from __future__ import annotations

from openclaw.clock import ManualClock
from openclaw.state.base import Bucket, Lease, Take
from openclaw.state.memory import MemoryState


async def test_a_spent_bucket_refills_at_its_rate_as_the_clock_moves() -> None:
    clock = ManualClock()
    state = MemoryState(clock)
    bucket = Bucket("service:billing:requests", rate=1.0, capacity=2)
    take = [Take(bucket, 1)]
    assert (await state.admit(take, None)).ok
    assert (await state.admit(take, None)).ok
    refused = await state.admit(take, None)
    assert not refused.ok and refused.retry_after == 1.0
    clock.advance(0.5)
    assert not (await state.admit(take, None)).ok
    clock.advance(0.5)
    assert (await state.admit(take, None)).ok


async def test_a_slot_held_by_a_crashed_request_comes_back_after_its_ttl() -> None:
    clock = ManualClock()
    state = MemoryState(clock)
    first = Lease("service:billing:concurrency", "req_1", limit=1, ttl=30.0)
    second = Lease("service:billing:concurrency", "req_2", limit=1, ttl=30.0)
    assert (await state.admit([], first)).ok
    assert not (await state.admit([], second)).ok
    clock.advance(30.0)
    assert (await state.admit([], second)).ok


async def test_a_cache_entry_expires_after_its_ttl() -> None:
    clock = ManualClock()
    state = MemoryState(clock)
    await state.cache_put("k", b"v", ttl=60.0, max_entries=10)
    clock.advance(59.9)
    assert await state.cache_get("k") == b"v"
    clock.advance(0.2)
    assert await state.cache_get("k") is None
