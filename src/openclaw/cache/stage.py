"""The cache stage (order 80, after policies): answer repeats from the cache, share identical
requests in flight.

**Response cache.** Exact match on :func:`~openclaw.cache.key.request_key` (normalised
request plus the routed alias, so it runs after the policies that reroute). A request is
looked up only if it opts in (``cache: true`` on its model alias, ``cache.enabled: true``,
or the header ``X-OpenClaw-Cache: on``) and is deterministic (``temperature: 0`` or a
``seed``). ``X-OpenClaw-Cache: off`` bypasses both the cache and deduplication. A request
the PII policy routed is never cached unless the state store is on this machine (memory,
or Redis on loopback / a unix socket, or ``state.local: true``). Entries live
``cache.ttl_seconds``; at most ``cache.max_entries`` are kept (least recently used go
first in memory, the oldest in Redis), and answers above ``cache.max_entry_bytes`` are not
kept. What is stored is the upstream's answer *before* the response filters (drafts,
restored pseudonyms, audit capture), so a hit passes through this request's own filters,
and a streamed request gets a hit replayed as a stream.

**Deduplication.** Identical deterministic requests in flight at once (on this instance)
make one upstream call: the first is the leader, the others wait for its answer and each
get a copy (``X-OpenClaw-Dedup: <leader request id>``, ``dedup_of`` in the audit record).
If the leader fails or its client goes away, the followers make their own calls.

``ex.cache`` is ``hit``, ``miss`` or ``bypass`` (reason in the audit record's
``cache_reason``); metrics count hits and misses from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from openclaw.cache.assemble import StreamAssembler
from openclaw.cache.key import deterministic, pii_routed, request_key
from openclaw.config import Config
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.state.shared import GatewayState

log = logging.getLogger("openclaw.cache")

ENTRY_VERSION = 1


def _copy(resp: Json) -> Json:
    """A deep copy (filters change responses in place); orjson is faster than deepcopy."""
    out: Json = orjson.loads(orjson.dumps(resp))
    return out


@dataclass(slots=True)
class Pending:
    key: str
    store: bool
    lead: asyncio.Future[Json | None] | None
    snapshot: Json | None = None
    assembler: StreamAssembler | None = None
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class CacheStage:
    name = "cache"

    def __init__(self, cfg: Config, state: GatewayState) -> None:
        self.settings = cfg.policies.cache
        self.models = cfg.models.models
        self.state = state
        self.inflight: dict[str, tuple[str, asyncio.Future[Json | None]]] = {}
        self.hits = 0
        self.misses = 0
        self.bypassed = 0
        self.deduplicated = 0
        self.stored = 0

    def _opted_in(self, ex: Exchange, header: str) -> bool:
        if header == "on" or self.settings.enabled:
            return True
        spec = self.models.get(ex.alias or "")
        return spec is not None and spec.cache

    def _bypass(self, ex: Exchange, reason: str) -> None:
        ex.cache = "bypass"
        ex.audit.cache_reason = reason
        ex.response_headers["X-OpenClaw-Cache"] = "bypass"
        self.bypassed += 1

    async def before(self, ex: Exchange) -> None:
        header = (ex.cache_control or "").strip().lower()
        if header == "off":
            self._bypass(ex, "header")
            return
        det = deterministic(ex.body, ex.api)
        n = ex.body.get("n")
        single = n is None or n == 1
        use_cache = False
        if self._opted_in(ex, header):
            if not det:
                self._bypass(ex, "not_deterministic")
            elif not single:
                self._bypass(ex, "several_choices")
            elif pii_routed(ex) and not self.state.local:
                self._bypass(ex, "pii_not_local")
            else:
                use_cache = True
        dedup = self.settings.dedup and det and single
        if not use_cache and not dedup:
            return
        key = request_key(ex)
        if use_cache:
            try:
                raw = await self.state.run("cache", lambda be: be.cache_get(key))
            except Exception as exc:  # a cache that answers oddly is a miss, not a refusal
                if getattr(exc, "status", None) == 503:
                    raise  # fail_closed for the cache: the operator asked for refusals
                log.warning(
                    "cache lookup failed (%s: %s); treated as a miss", type(exc).__name__, exc
                )
                raw = None
            entry = _decode(raw)
            ex.audit.cache_key = key[:16]
            if entry is not None:
                ex.cache = "hit"
                ex.response = entry["response"]
                ex.response_headers["X-OpenClaw-Cache"] = "hit"
                self.hits += 1
                return
            ex.cache = "miss"
            ex.response_headers["X-OpenClaw-Cache"] = "miss"
            self.misses += 1
        lead: asyncio.Future[Json | None] | None = None
        if dedup:
            running = self.inflight.get(key)
            if running is not None:
                if await self._follow(ex, *running):
                    return
            else:
                lead = asyncio.get_running_loop().create_future()
                self.inflight[key] = (ex.request_id, lead)
        pending = Pending(key, use_cache, lead)
        ex.scratch["cache"] = pending
        if ex.stream:
            pending.assembler = StreamAssembler()
            ex.chunk_filters.insert(0, pending.assembler.feed)
        else:

            def snapshot(resp: Json) -> Json:
                pending.snapshot = _copy(resp)
                return resp

            ex.response_filters.insert(0, snapshot)

    async def _follow(self, ex: Exchange, leader: str, fut: asyncio.Future[Json | None]) -> bool:
        spec = self.models.get(ex.alias or "")
        timeout = spec.timeouts.total if spec is not None else 300.0
        try:
            result = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            result = None
        if result is None:
            return False  # the leader failed: make our own call
        ex.response = _copy(result)
        ex.audit.dedup_of = leader
        ex.response_headers["X-OpenClaw-Dedup"] = leader
        self.deduplicated += 1
        return True

    async def after(self, ex: Exchange) -> None:
        p = ex.scratch.get("cache")
        if not isinstance(p, Pending) or p.done:
            return
        p.done = True
        resp = p.snapshot if p.assembler is None else p.assembler.response()
        if resp is not None and p.store:
            await self._store(p.key, resp, ex)
        self._resolve(p, resp)

    async def release(self, ex: Exchange) -> None:
        p = ex.scratch.pop("cache", None)
        if isinstance(p, Pending):
            self._resolve(p, None)

    def _resolve(self, p: Pending, resp: Json | None) -> None:
        if p.lead is None:
            return
        cur = self.inflight.get(p.key)
        if cur is not None and cur[1] is p.lead:
            del self.inflight[p.key]
        if not p.lead.done():
            p.lead.set_result(resp)

    async def _store(self, key: str, resp: Json, ex: Exchange) -> None:
        if ex.error is not None:
            return
        value = orjson.dumps(
            {"v": ENTRY_VERSION, "model": ex.alias, "stored": time.time(), "response": resp}
        )
        if len(value) > self.settings.max_entry_bytes:
            ex.audit.cache_reason = "too_large"
            return
        s = self.settings
        try:
            await self.state.run(
                "cache", lambda be: be.cache_put(key, value, s.ttl_seconds, s.max_entries)
            )
        except Exception as exc:  # the answer is good; only its reuse is lost
            log.warning("could not store a cache entry: %s", exc)
            return
        self.stored += 1

    def status(self) -> dict[str, Any]:
        return {
            "enabled_for": "every model"
            if self.settings.enabled
            else [a for a, m in self.models.items() if m.cache] or "header only",
            "ttl_seconds": self.settings.ttl_seconds,
            "max_entries": self.settings.max_entries,
            "dedup": self.settings.dedup,
            "hits": self.hits,
            "misses": self.misses,
            "bypassed": self.bypassed,
            "deduplicated": self.deduplicated,
            "stored": self.stored,
            "in_flight": len(self.inflight),
        }

    async def aclose(self) -> None:
        await self.state.aclose()


def _decode(raw: bytes | None) -> Json | None:
    if raw is None:
        return None
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION:
        return None
    resp = entry.get("response")
    return entry if isinstance(resp, dict) else None
