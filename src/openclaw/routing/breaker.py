"""Per-deployment circuit breakers.

``threshold`` consecutive failures open the breaker for ``cooldown`` seconds; after that one
request is let through as a probe (half-open). Its success closes the breaker, its failure
opens it again. Listeners hear every state change (events, metrics). Time is read from the
injected :class:`~openclaw.clock.Clock`, so a test moves past a cooldown instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openclaw.clock import Clock, SystemClock

Listener = Callable[[str, str, str], None]  # deployment, old state, new state


@dataclass
class Breaker:
    threshold: int = 3
    cooldown: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    def state(self, now: float) -> str:
        """``now``: the breakers' clock's ``monotonic()``."""
        if self.opened_at is None:
            return "closed"
        if now - self.opened_at >= self.cooldown:
            return "half_open"
        return "open"


class Breakers:
    def __init__(
        self, threshold: int = 3, cooldown: float = 30.0, *, clock: Clock | None = None
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock: Clock = clock or SystemClock()
        self._by_key: dict[str, Breaker] = {}
        self.listeners: list[Listener] = []

    def configure(self, threshold: int, cooldown: float) -> None:
        """Apply new settings (a config reload) to future and existing breakers."""
        self.threshold, self.cooldown = threshold, cooldown
        for b in self._by_key.values():
            b.threshold, b.cooldown = threshold, cooldown

    def get(self, key: str) -> Breaker:
        b = self._by_key.get(key)
        if b is None:
            b = self._by_key[key] = Breaker(self.threshold, self.cooldown)
        return b

    def allow(self, key: str) -> bool:
        b = self.get(key)
        state = b.state(self.clock.monotonic())
        if state == "closed":
            return True
        if state == "half_open" and not b.probing:
            b.probing = True
            return True
        return False

    def success(self, key: str) -> None:
        b = self.get(key)
        old = b.state(self.clock.monotonic())
        b.failures, b.opened_at, b.probing = 0, None, False
        if old != "closed":
            self._notify(key, old, "closed")

    def failure(self, key: str) -> None:
        b = self.get(key)
        now = self.clock.monotonic()
        old = b.state(now)
        b.failures += 1
        if b.probing or b.failures >= b.threshold:
            b.opened_at = now
            b.probing = False
            if old != "open":
                self._notify(key, old, "open")

    def snapshot(self) -> dict[str, dict[str, object]]:
        now = self.clock.monotonic()
        return {
            k: {"state": b.state(now), "failures": b.failures}
            for k, b in sorted(self._by_key.items())
        }

    def _notify(self, key: str, old: str, new: str) -> None:
        for fn in self.listeners:
            fn(key, old, new)
