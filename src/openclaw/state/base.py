"""The state seam: what limits, budgets and the cache need from wherever counters live.

A backend is small on purpose. :meth:`StateBackend.admit` is the one operation that must be
atomic: it refills every bucket a request touches, checks them all (and an optional
concurrency lease), and takes from all of them only if every one allows it, so a request
refused by the global bucket never spends its service's tokens. The in-memory backend gets
that from the event loop (no ``await`` inside), the Redis backend from one Lua script.

Buckets are classic token buckets: ``capacity`` tokens, refilled continuously at ``rate``
per second. A take of ``cost`` needs ``min(cost, capacity)`` tokens and then subtracts the
full ``cost``, so one request larger than the bucket is still possible (it leaves a debt
that later requests wait out) rather than refused forever.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


class StateUnavailable(Exception):
    """The backend cannot be reached (connection refused, timeout, not ready)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str  # also the limit id in 429s, metrics and the audit record
    rate: float  # tokens added per second
    capacity: float


@dataclass(frozen=True, slots=True)
class Take:
    bucket: Bucket
    cost: float  # negative in :meth:`StateBackend.adjust`: a refund


@dataclass(frozen=True, slots=True)
class Lease:
    """One slot of a concurrency limit, held by one request until released or expired."""

    key: str  # limit id, e.g. "service:billing:concurrency"
    member: str  # the request id
    limit: int
    ttl: float  # seconds; a crashed instance's slots come back after this


@dataclass(frozen=True, slots=True)
class Admission:
    ok: bool
    denied: str | None = None  # the bucket or lease key that refused
    retry_after: float = 0.0  # seconds until the bucket allows it; -1: a lease (unknown)


ADMITTED = Admission(True)


class StateBackend(ABC):
    kind: str = ""
    local: bool = True  # on this machine (PII-routed answers may be cached here)

    # -- rate limits and concurrency ------------------------------------------------
    @abstractmethod
    async def admit(self, takes: Sequence[Take], lease: Lease | None) -> Admission:
        """All or nothing: take from every bucket and the lease, or from none."""

    @abstractmethod
    async def adjust(self, takes: Sequence[Take]) -> None:
        """Settle: take more (positive cost) or give back (negative), without checking."""

    @abstractmethod
    async def release(self, lease: Lease) -> None: ...

    @abstractmethod
    async def levels(self, buckets: Sequence[Bucket]) -> list[float]:
        """Current tokens in each bucket (refilled to now), without taking any."""

    @abstractmethod
    async def in_flight(self, key: str) -> int: ...

    # -- budgets ----------------------------------------------------------------------
    @abstractmethod
    async def spent(self, key: str) -> tuple[float, int]:
        """(usd, tokens) charged to a budget key so far."""

    @abstractmethod
    async def charge(self, key: str, usd: float, tokens: int, ttl: float) -> None: ...

    async def settle(
        self,
        adjust: Sequence[Take],
        lease: Lease | None,
        charge: tuple[str, float, int, float] | None,
    ) -> None:
        """The end of a request: :meth:`adjust`, :meth:`release` and :meth:`charge` (key,
        usd, tokens, ttl), each optional. A backend over the network does it in one round
        trip; this default simply calls the three."""
        if adjust:
            await self.adjust(adjust)
        if lease is not None:
            await self.release(lease)
        if charge is not None:
            await self.charge(*charge)

    # -- response cache ---------------------------------------------------------------
    @abstractmethod
    async def cache_get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def cache_put(self, key: str, value: bytes, ttl: float, max_entries: int) -> None: ...

    @abstractmethod
    async def cache_size(self) -> int: ...

    # -- lifecycle --------------------------------------------------------------------
    async def ping(self) -> None:
        """Raise :class:`StateUnavailable` if the backend cannot be reached."""

    async def aclose(self) -> None:
        return None
