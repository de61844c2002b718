"""Repeats of one event are coalesced per window of the bus's clock, and counted."""

from __future__ import annotations

import asyncio

from openclaw.channels.events import THROTTLE_SECONDS, EventBus
from openclaw.clock import ManualClock


async def test_repeats_inside_the_window_are_counted_on_the_next_event() -> None:
    clock = ManualClock()
    bus = EventBus(clock=clock)
    bus.bind(asyncio.get_running_loop())
    first = bus.emit("failover", {"model": "general"}, key="general")
    assert first is not None and "suppressed" not in first.data
    clock.advance(THROTTLE_SECONDS - 0.1)
    assert bus.emit("failover", {"model": "general"}, key="general") is None
    assert bus.emit("failover", {"model": "general"}, key="general") is None
    assert bus.emit("failover", {"model": "other"}, key="other") is not None  # its own key
    clock.advance(0.1)
    after = bus.emit("failover", {"model": "general"}, key="general")
    assert after is not None and after.data["suppressed"] == 2
