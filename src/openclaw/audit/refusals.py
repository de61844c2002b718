"""Refusals audited once, then summarised: a flood cannot turn into a flood of records.

Every refusal is worth a record, but a burst of them (a script knocking with a bad token, a
Slack member retrying a command they may not run) must not write one record each: that would
fill the disk and, with retention by count, push served requests out of the log.
:class:`RefusalLedger` decides per *key* (say, reason and source): the first ``burst``
refusals in a ``window`` are audited one by one; the rest are only counted, and when the
window ends :meth:`RefusalLedger.due` returns one :class:`RefusalSummary` per key with the
count, for the caller to write as one record.

The ledger holds no records and does no I/O, so any ingress can use it (the Slack channel
does; the door can). It is bounded: at most ``max_keys`` keys are tracked, and refusals for
keys beyond that are counted under one overflow key, so a source that varies its key still
cannot grow memory or records without bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OVERFLOW", "RefusalLedger", "RefusalSummary"]

Key = tuple[str, ...]
OVERFLOW: Key = ("*",)


@dataclass(frozen=True, slots=True)
class RefusalSummary:
    key: Key
    count: int  # refusals in the window that were not audited one by one
    first: float  # wall-clock time of the window's first refusal
    last: float  # wall-clock time of the window's last refusal
    total: int  # every refusal in the window, the audited ones included


@dataclass(slots=True)
class _Window:
    start: float  # monotonic
    first: float  # wall clock
    last: float
    seen: int = 0
    suppressed: int = 0


class RefusalLedger:
    def __init__(
        self,
        *,
        burst: int = 3,
        window: float = 60.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.burst = burst
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._wall = wall
        self._windows: dict[Key, _Window] = {}
        self._ended: list[RefusalSummary] = []  # windows that ended with a count to report

    def admit(self, key: Key) -> bool:
        """Count one refusal; ``True`` if it should be audited by itself."""
        now, wall = self._clock(), self._wall()
        if key not in self._windows and len(self._windows) >= self.max_keys:
            key = OVERFLOW
        w = self._windows.get(key)
        if w is not None and now - w.start >= self.window:
            self._end(key, w)
            w = None
        if w is None:
            w = self._windows[key] = _Window(now, wall, wall)
        w.seen += 1
        w.last = wall
        if w.seen <= self.burst:
            return True
        w.suppressed += 1
        return False

    def _end(self, key: Key, w: _Window) -> None:
        del self._windows[key]
        if w.suppressed:
            self._ended.append(RefusalSummary(key, w.suppressed, w.first, w.last, w.seen))

    def due(self, *, flush: bool = False) -> list[RefusalSummary]:
        """Summaries of windows that are over (every window with ``flush``), forgotten now."""
        now = self._clock()
        for key, w in list(self._windows.items()):
            if flush or now - w.start >= self.window:
                self._end(key, w)
        out, self._ended = self._ended, []
        return out

    @property
    def pending(self) -> bool:
        """Whether some refusals are counted but not yet summarised."""
        return bool(self._ended) or any(w.suppressed for w in self._windows.values())
