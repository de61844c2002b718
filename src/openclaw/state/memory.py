"""The in-memory backend: one process's buckets, leases, budgets and cache.

Every operation runs without an ``await`` in it, so on one event loop it is atomic. One
instance belongs to a daemon (``assembly.Shared``) and outlives its config reloads, so a
reload does not hand every service a fresh bucket or reset today's budget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from openclaw.clock import Clock, SystemClock
from openclaw.state.base import ADMITTED, Admission, Bucket, Lease, StateBackend, Take


class MemoryState(StateBackend):
    kind = "memory"
    local = True

    def __init__(self, clock: Clock | None = None) -> None:
        # The monotonic reading itself: bucket refills, lease expiry, budget and cache TTLs.
        self.clock = (clock or SystemClock()).monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._leases: dict[str, dict[str, float]] = {}  # key -> member -> expires
        self._budgets: dict[str, tuple[float, int, float]] = {}  # key -> usd, tokens, expires
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # key -> expires, v

    def _level(self, b: Bucket, now: float) -> float:
        tokens, at = self._buckets.get(b.key, (b.capacity, now))
        if now > at:
            tokens = min(b.capacity, tokens + (now - at) * b.rate)
        return tokens

    def _live(self, key: str, now: float) -> dict[str, float]:
        held = self._leases.setdefault(key, {})
        for member in [m for m, exp in held.items() if exp <= now]:
            del held[member]
        return held

    async def admit(self, takes: Sequence[Take], lease: Lease | None) -> Admission:
        now = self.clock()
        levels = []
        denied: tuple[str, float] | None = None
        for t in takes:
            level = self._level(t.bucket, now)
            levels.append(level)
            need = min(t.cost, t.bucket.capacity)
            if level < need:
                wait = (need - level) / t.bucket.rate
                if denied is None or wait > denied[1]:
                    denied = (t.bucket.key, wait)
        if denied is not None:
            return Admission(False, denied[0], denied[1])
        if lease is not None:
            held = self._live(lease.key, now)
            if len(held) >= lease.limit:
                return Admission(False, lease.key, -1.0)
            held[lease.member] = now + lease.ttl
        for t, level in zip(takes, levels, strict=True):
            self._buckets[t.bucket.key] = (level - t.cost, now)
        return ADMITTED

    async def adjust(self, takes: Sequence[Take]) -> None:
        now = self.clock()
        for t in takes:
            level = self._level(t.bucket, now)
            self._buckets[t.bucket.key] = (min(t.bucket.capacity, level - t.cost), now)

    async def release(self, lease: Lease) -> None:
        held = self._leases.get(lease.key)
        if held is not None:
            held.pop(lease.member, None)

    async def levels(self, buckets: Sequence[Bucket]) -> list[float]:
        now = self.clock()
        return [self._level(b, now) for b in buckets]

    async def in_flight(self, key: str) -> int:
        return len(self._live(key, self.clock()))

    async def spent(self, key: str) -> tuple[float, int]:
        usd, tokens, expires = self._budgets.get(key, (0.0, 0, 0.0))
        if expires and expires <= self.clock():
            self._budgets.pop(key, None)
            return 0.0, 0
        return usd, tokens

    async def charge(self, key: str, usd: float, tokens: int, ttl: float) -> None:
        old_usd, old_tokens = await self.spent(key)
        self._budgets[key] = (old_usd + usd, old_tokens + tokens, self.clock() + ttl)
        if len(self._budgets) > 4096:  # yesterday's keys: drop the expired ones
            now = self.clock()
            for k in [k for k, v in self._budgets.items() if v[2] <= now]:
                del self._budgets[k]

    async def cache_get(self, key: str) -> bytes | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return hit[1]

    async def cache_put(self, key: str, value: bytes, ttl: float, max_entries: int) -> None:
        self._cache[key] = (self.clock() + ttl, value)
        self._cache.move_to_end(key)
        while len(self._cache) > max_entries:
            self._cache.popitem(last=False)  # least recently used

    async def cache_size(self) -> int:
        now = self.clock()
        return sum(1 for exp, _ in self._cache.values() if exp > now)
