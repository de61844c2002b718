"""The clock everything time-based reads: breakers, token buckets, TTLs, throttles, deadlines.

Code that waits out a duration (a breaker's cooldown, a cache entry's TTL, a token's grace
period) takes a :class:`Clock` in its constructor instead of calling :mod:`time` itself, so a
test moves time with :class:`ManualClock` rather than sleeping through it. ``monotonic`` is
for durations; ``time`` is wall-clock seconds since the epoch, for what is stored or shown
(expiry dates in ``services.json``, "down since").
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class SystemClock:
    """The machine's clocks (the default everywhere)."""

    __slots__ = ()

    # The functions themselves, not wrappers: no extra frame on the request path.
    # perf_counter is monotonic too, and keeps its resolution on Windows, where monotonic()
    # ticks in 15.6 ms steps before Python 3.13 (attempt latencies are timed with it).
    monotonic = staticmethod(time.perf_counter)
    time = staticmethod(time.time)


class ManualClock:
    """A clock that moves only when told to: ``advance(seconds)`` moves both readings."""

    __slots__ = ("_monotonic", "_time")

    def __init__(self, monotonic: float = 1_000.0, wall: float = 1_800_000_000.0) -> None:
        self._monotonic = monotonic
        self._time = wall

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._time

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back; advance by zero or more seconds")
        self._monotonic += seconds
        self._time += seconds
