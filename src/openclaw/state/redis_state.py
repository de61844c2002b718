"""The Redis backend: limits, budgets and the cache shared by several gateway instances.

Each operation is one round trip: a Lua script (sent once, then run by SHA with ``EVALSHA``;
redis-py's ``Script`` falls back to ``EVAL`` when Redis answers ``NOSCRIPT`` after a
restart) or a plain command. Scripts read the clock with Redis ``TIME``, so instances agree.

Failures are mapped at one boundary, :meth:`RedisState._call`: a connection problem, a
timeout or a server that is loading becomes :class:`StateUnavailable` (the caller applies
``state.on_unavailable``); anything else is a bug and propagates. redis-py's own retries
are turned off so an outage is noticed in one ``timeout_ms``, not after several backoffs.
Keys are ``<prefix>rl:<bucket>``, ``<prefix>cc:<lease>``, ``<prefix>budget:<service>:<day>``,
``<prefix>cache:<sha256>`` and the cache index ``<prefix>cache-index``. The scripts touch
several keys, so Redis Cluster is not supported (use one primary, with replicas if wanted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import (
    BusyLoadingError,
    ReadOnlyError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)
from redis.retry import Retry

from openclaw.addresses import is_local_url
from openclaw.state import scripts
from openclaw.state.base import (
    ADMITTED,
    Admission,
    Bucket,
    Lease,
    StateBackend,
    StateUnavailable,
    Take,
)

T = TypeVar("T")

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, ReadOnlyError, OSError)


def redacted_url(url: str) -> str:
    """The URL without a user name (the password is never in it: the config refuses that)."""
    parts = urlsplit(url)
    if parts.username:
        netloc = parts.netloc.split("@", 1)[1]
        return parts._replace(netloc=netloc).geturl()
    return url


class RedisState(StateBackend):
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        prefix: str = "openclaw:",
        timeout: float = 0.25,
        local: bool | None = None,
    ) -> None:
        self.url = redacted_url(url)
        self.local = is_local_url(url) if local is None else local
        self.prefix = prefix
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            password=password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=False,
            client_name="openclaw",
        )
        self._admit = self.client.register_script(scripts.ADMIT)
        self._settle = self.client.register_script(scripts.SETTLE)
        self._levels = self.client.register_script(scripts.LEVELS)
        self._live = self.client.register_script(scripts.LIVE_MEMBERS)
        self._cache_put = self.client.register_script(scripts.CACHE_PUT)

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await fn()
        except _UNAVAILABLE as exc:
            raise StateUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _rl(self, key: str) -> str:
        return f"{self.prefix}rl:{key}"

    @staticmethod
    def _bucket_args(takes: Sequence[Take]) -> list[Any]:
        out: list[Any] = []
        for t in takes:
            out += [repr(t.bucket.rate / 1000.0), repr(t.bucket.capacity), repr(t.cost)]
        return out

    # -- rate limits and concurrency ------------------------------------------------
    async def admit(self, takes: Sequence[Take], lease: Lease | None) -> Admission:
        keys = [self._rl(t.bucket.key) for t in takes]
        args: list[Any] = [len(takes), 0, 0, "", 0]
        if lease is not None:
            keys.append(f"{self.prefix}cc:{lease.key}")
            args[1:5] = [1, lease.limit, lease.member, repr(lease.ttl * 1000.0)]
        args += self._bucket_args(takes)
        res = await self._call(lambda: self._admit(keys=keys, args=args))
        i, wait = int(res[0]), float(res[1])
        if i == 0:
            return ADMITTED
        if i == len(takes) + 1 and lease is not None:
            return Admission(False, lease.key, -1.0)
        return Admission(False, takes[i - 1].bucket.key, wait / 1000.0)

    async def adjust(self, takes: Sequence[Take]) -> None:
        await self.settle(takes, None, None)

    async def release(self, lease: Lease) -> None:
        key = f"{self.prefix}cc:{lease.key}"
        await self._call(lambda: self.client.zrem(key, lease.member))

    async def levels(self, buckets: Sequence[Bucket]) -> list[float]:
        if not buckets:
            return []
        keys = [self._rl(b.key) for b in buckets]
        args: list[Any] = [len(buckets)]
        for b in buckets:
            args += [repr(b.rate / 1000.0), repr(b.capacity)]
        res = await self._call(lambda: self._levels(keys=keys, args=args))
        return [float(v) for v in res]

    async def in_flight(self, key: str) -> int:
        k = f"{self.prefix}cc:{key}"
        return int(await self._call(lambda: self._live(keys=[k], args=[])))

    # -- budgets ----------------------------------------------------------------------
    async def spent(self, key: str) -> tuple[float, int]:
        k = f"{self.prefix}budget:{key}"
        usd, tokens = await self._call(lambda: self.client.hmget(k, ["usd", "tokens"]))
        return float(usd or 0.0), int(tokens or 0)

    async def charge(self, key: str, usd: float, tokens: int, ttl: float) -> None:
        k = f"{self.prefix}budget:{key}"

        async def run() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                if usd:
                    pipe.hincrbyfloat(k, "usd", usd)
                if tokens:
                    pipe.hincrby(k, "tokens", tokens)
                pipe.expire(k, max(1, int(ttl)))
                await pipe.execute()

        await self._call(run)

    async def settle(
        self,
        adjust: Sequence[Take],
        lease: Lease | None,
        charge: tuple[str, float, int, float] | None,
    ) -> None:
        keys = [self._rl(t.bucket.key) for t in adjust]
        args: list[Any] = [len(adjust), 0, "", 0, 0, 0, 0]
        if lease is not None:
            keys.append(f"{self.prefix}cc:{lease.key}")
            args[1:3] = [1, lease.member]
        if charge is not None:
            key, usd, tokens, ttl = charge
            keys.append(f"{self.prefix}budget:{key}")
            args[3:7] = [1, repr(float(usd)), int(tokens), max(1, int(ttl))]
        if len(keys) == 0:
            return
        args += self._bucket_args(adjust)
        await self._call(lambda: self._settle(keys=keys, args=args))

    # -- response cache ---------------------------------------------------------------
    async def cache_get(self, key: str) -> bytes | None:
        k = f"{self.prefix}cache:{key}"
        value = await self._call(lambda: self.client.get(k))
        return value if isinstance(value, bytes) else None

    async def cache_put(self, key: str, value: bytes, ttl: float, max_entries: int) -> None:
        entry_prefix = f"{self.prefix}cache:"
        keys = [entry_prefix + key, f"{self.prefix}cache-index"]
        args: list[Any] = [value, repr(ttl * 1000.0), max_entries, key, entry_prefix]
        await self._call(lambda: self._cache_put(keys=keys, args=args))

    async def cache_size(self) -> int:
        k = f"{self.prefix}cache-index"
        return int(await self._call(lambda: self._live(keys=[k], args=[])))

    # -- lifecycle --------------------------------------------------------------------
    async def ping(self) -> None:
        await self._call(lambda: self.client.ping())

    async def aclose(self) -> None:
        await self.client.aclose()
