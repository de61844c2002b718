"""Penalties for failed tokens, per client address (``security.auth_throttle``).

Each failure (a missing or wrong token, or any attempt while penalised) takes one token from
two buckets keyed by the client address: ``failures_per_minute`` refilled over a minute, and
``failures_per_hour`` refilled over an hour. While either is empty the address gets 429
``auth_throttled`` with a ``Retry-After`` until it holds a token again, whatever token it
sends, so a guess during the penalty tells nothing. Attempts made while penalised are
failures too, so a client that keeps hammering sees the wait grow; one that waits it out
is let in with a correct token.

The buckets live in the gateway's state backend (``limits`` area), so with ``state:``
on Redis every instance sees every failure. To keep a Redis round trip off the path of
clients that never failed, an instance checks the buckets only for addresses it has seen
fail itself in the last hour (:attr:`AuthThrottle.suspects`, bounded); on a second
instance an attacker gets at most one more try before the shared penalty applies.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from openclaw.config.schema import AuthThrottleSettings
from openclaw.errors import RateLimited
from openclaw.state.base import Bucket, StateBackend, Take
from openclaw.state.shared import GatewayState

SUSPECT_TTL = 3600.0
MAX_SUSPECTS = 10_000


class AuthThrottle:
    def __init__(self) -> None:
        self.suspects: OrderedDict[str, float] = OrderedDict()  # address -> last failure
        self.refused = 0

    @staticmethod
    def buckets(settings: AuthThrottleSettings, address: str) -> list[Bucket]:
        m, h = settings.failures_per_minute, settings.failures_per_hour
        return [
            Bucket(f"auth:{address}:minute", rate=m / 60.0, capacity=float(m)),
            Bucket(f"auth:{address}:hour", rate=h / 3600.0, capacity=float(h)),
        ]

    async def check(
        self, settings: AuthThrottleSettings, state: GatewayState, address: str | None
    ) -> None:
        """Raise 429 if ``address`` is penalised (and count the attempt as a failure)."""
        if not settings.enabled or address is None:
            return
        seen = self.suspects.get(address)
        if seen is None or time.monotonic() - seen > SUSPECT_TTL:
            return
        buckets = self.buckets(settings, address)

        async def levels(be: StateBackend) -> list[float]:
            return await be.levels(buckets)

        wait = 0.0
        for b, level in zip(buckets, await state.run("limits", levels), strict=True):
            if level < 1.0:
                wait = max(wait, (1.0 - level) / b.rate)
        if wait <= 0:
            return
        await self.failed(settings, state, address)
        self.refused += 1
        retry = max(1, math.ceil(wait + 1.0 / buckets[0].rate))
        raise RateLimited(
            f"too many failed authentication attempts from {address}; try again in {retry} s "
            "(security.auth_throttle in policies.yaml)",
            code="auth_throttled",
            headers={"Retry-After": str(retry)},
        )

    async def failed(
        self, settings: AuthThrottleSettings, state: GatewayState, address: str | None
    ) -> None:
        if not settings.enabled or address is None:
            return
        self.suspects[address] = time.monotonic()
        self.suspects.move_to_end(address)
        while len(self.suspects) > MAX_SUSPECTS:
            self.suspects.popitem(last=False)
        takes = [Take(b, 1.0) for b in self.buckets(settings, address)]

        async def take(be: StateBackend) -> None:
            await be.adjust(takes)

        await state.run("limits", take)
