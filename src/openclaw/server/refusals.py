"""Refusals at the door are audited, but cannot flush the audit log.

A request refused before it had an exchange (bad or missing token, foreign Host or Origin,
IP lists, the auth throttle, malformed JSON) gets its own audit record up to
``PER_MINUTE`` a minute for each (reason, client address). Past that, the refusals of that
key are counted and written as one summary record a minute (``refusals_summarised: N``),
and ``notify`` channels get one ``refusal_spike`` event, so 450,000 unauthenticated POSTs
cost a few hundred records, not every served request's record in the rotated files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from openclaw.errors import OpenClawError

PER_MINUTE = 20
WINDOW = 60.0


@dataclass
class Pending:
    error: OpenClawError
    path: str
    count: int = 0
    since: float = field(default_factory=time.time)


@dataclass
class RefusalLedger:
    """Per-daemon counts of door refusals by (reason, address), minute by minute."""

    per_minute: int = PER_MINUTE
    window: float = WINDOW
    clock: float = 0.0  # start of the current window (monotonic)
    individual: dict[tuple[str, str], int] = field(default_factory=dict)
    pending: dict[tuple[str, str], Pending] = field(default_factory=dict)

    def admit(self, reason: str, address: str, now: float | None = None) -> bool:
        """True: audit this refusal on its own. False: counted for the next summary."""
        now = time.monotonic() if now is None else now
        if now - self.clock >= self.window:
            self.clock = now
            self.individual.clear()
        key = (reason, address)
        n = self.individual.get(key, 0)
        if n < self.per_minute:
            self.individual[key] = n + 1
            return True
        return False

    def count(self, reason: str, address: str, error: OpenClawError, path: str) -> bool:
        """Count a refusal past the rate; True when it is the first of its key to be held."""
        key = (reason, address)
        held = self.pending.get(key)
        if held is None:
            self.pending[key] = Pending(error, path, 1)
            return True
        held.count += 1
        return False

    def take(self) -> list[tuple[str, Pending]]:
        """The summaries to write now: every held key, by client address."""
        out = [(address, p) for (_reason, address), p in self.pending.items()]
        self.pending.clear()
        return out
