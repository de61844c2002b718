"""What the dashboard draws: a bounded memory of recent requests, metadata only.

:class:`Feed` is a gateway observer like the metrics. It keeps the last :data:`RING_SIZE`
requests as :class:`Entry` rows (time, service, model alias, provider, status, latency,
time to first token, tokens, cost, draft flag, policy outcomes; never prompt or answer
text), per-minute buckets for the last :data:`WINDOW_MINUTES` minutes, running totals by
service and by model, and per-deployment upstream outcomes. Every structure is bounded: the
ring and the minute window by size, free-form keys (services) by :class:`BoundedLabel`,
latency samples per minute by reservoir sampling. Listeners (the live event stream) hear
each new entry.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from openclaw.audit.record import PII_RULE, AuditRecord
from openclaw.ingress import APIS
from openclaw.observability.metrics import BoundedLabel
from openclaw.pipeline.exchange import QUOTA_SKIPPED, Exchange

RING_SIZE = 500
WINDOW_MINUTES = 60
SAMPLES_PER_MINUTE = 1024
RECENT_IN_SUMMARY = 20

Listener = Callable[["Entry"], None]


@dataclass(slots=True)
class Entry:
    """One request as the dashboard shows it (no content, ever)."""

    request_id: str
    ts: float
    service: str
    model: str
    provider: str | None
    status: int
    error: str | None
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: served by a model with no known price
    draft: bool
    stream: bool
    cache: str | None
    fallback_from: str | None
    policies: list[dict[str, str]]
    api: str = "chat"  # the ingress: chat | messages | responses | embeddings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


class Reservoir:
    """A uniform sample of at most ``size`` values (Algorithm R), for percentiles."""

    def __init__(self, size: int = SAMPLES_PER_MINUTE) -> None:
        self.size = size
        self.seen = 0
        self.values: list[float] = []

    def add(self, v: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(v)
            return
        j = random.randrange(self.seen)
        if j < self.size:
            self.values[j] = v

    def percentiles(self, *ps: float) -> list[float | None]:
        s = sorted(self.values)
        return [None if (x := percentile(s, p)) is None else round(x, 1) for p in ps]


@dataclass
class Minute:
    start: int
    requests: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    pii_reroutes: int = 0
    latency: Reservoir = field(default_factory=Reservoir)
    ttft: Reservoir = field(default_factory=Reservoir)

    def to_dict(self) -> dict[str, Any]:
        p50, p95, p99 = self.latency.percentiles(50, 95, 99)
        t50, t95 = self.ttft.percentiles(50, 95)
        return {
            "t": self.start,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.errors / self.requests, 4) if self.requests else None,
            "latency_p50": p50,
            "latency_p95": p95,
            "latency_p99": p99,
            "ttft_p50": t50,
            "ttft_p95": t95,
            "cost_usd": round(self.cost_usd, 8),
            "tokens": self.tokens,
            "pii_reroutes": self.pii_reroutes,
        }


@dataclass
class Usage:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # requests served by a model with no known price

    def add(self, e: Entry) -> None:
        self.requests += 1
        self.errors += e.status >= 400
        self.prompt_tokens += e.prompt_tokens
        self.completion_tokens += e.completion_tokens
        if e.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost_usd += e.cost_usd

    def to_dict(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "requests": self.requests,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.prompt_tokens + self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "unpriced_requests": self.unpriced,
        }


@dataclass
class UpstreamStats:
    ok: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    latency: deque[float] = field(default_factory=lambda: deque(maxlen=200))


class Feed:
    """Recent requests and per-minute aggregates for the dashboard."""

    def __init__(
        self,
        known_aliases: Callable[[], Mapping[str, object]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._aliases = known_aliases
        self.clock = clock
        self.started = clock()
        self.ring: deque[Entry] = deque(maxlen=RING_SIZE)
        self.minutes: deque[Minute] = deque(maxlen=WINDOW_MINUTES)
        self.services: dict[str, Usage] = {}
        self.models: dict[str, Usage] = {}
        self.apis: dict[str, Usage] = {}  # by ingress API
        self.policies: dict[tuple[str, str, str], int] = {}
        self.upstreams: dict[str, UpstreamStats] = {}
        self.totals = Usage()
        self.pii_reroutes = 0
        self.listeners: list[Listener] = []
        self._service = BoundedLabel()
        self._deployment = BoundedLabel(limit=200)

    # -- feeding ---------------------------------------------------------------------
    def observe(self, ex: Exchange, record: AuditRecord) -> None:
        """A gateway observer: remember one finished exchange.

        The entry is taken from the exchange, which the record was built from: the feed
        keeps unrounded timings and the epoch ``ts`` its minute buckets need.
        """
        alias = ex.alias if ex.alias is not None and ex.alias in self._aliases() else "unknown"
        policies = [
            {"policy": d.policy, "rule": d.rule, "outcome": d.outcome}
            | ({"model_after": d.model_after} if d.model_after else {})
            for d in ex.decisions
        ]
        entry = Entry(
            request_id=ex.request_id,
            ts=ex.ts,
            service=self._service(ex.service),
            model=alias,
            provider=ex.provider,
            status=ex.status,
            error=ex.error.code if ex.error is not None else None,
            latency_ms=round(ex.latency_ms, 1),
            ttft_ms=None if ex.ttft_ms is None else round(ex.ttft_ms, 1),
            prompt_tokens=ex.prompt_tokens or 0,
            completion_tokens=ex.completion_tokens or 0,
            # None only for an answer from a model with no known price (see Usage.unpriced).
            cost_usd=ex.cost_usd
            if ex.cost_usd is not None or (ex.provider is not None and ex.status < 400)
            else 0.0,
            draft=ex.draft,
            stream=ex.stream,
            cache=ex.cache,
            fallback_from=ex.fallback_from,
            policies=policies,
            api=ex.api if ex.api in APIS else "other",
        )
        self.add(entry)
        for a in ex.attempts:
            if a.outcome == QUOTA_SKIPPED:
                continue  # no call was made: says nothing about the upstream's health
            st = self.upstreams.setdefault(self._deployment(a.deployment), UpstreamStats())
            st.latency.append(a.latency_ms)
            if a.outcome == "ok":
                st.ok += 1
            else:
                st.errors += 1
                st.last_error, st.last_error_at = a.outcome, ex.ts

    def add(self, e: Entry) -> None:
        self.ring.append(e)
        m = self._minute(e.ts)
        m.requests += 1
        m.errors += e.status >= 400
        m.latency.add(e.latency_ms)
        if e.ttft_ms is not None:
            m.ttft.add(e.ttft_ms)
        m.cost_usd += e.cost_usd or 0.0
        m.tokens += e.prompt_tokens + e.completion_tokens
        self.totals.add(e)
        self.services.setdefault(e.service, Usage()).add(e)
        self.models.setdefault(e.model, Usage()).add(e)
        self.apis.setdefault(e.api, Usage()).add(e)
        for p in e.policies:
            key = (p["policy"], p["rule"], p["outcome"])
            self.policies[key] = self.policies.get(key, 0) + 1
            if p["rule"] == PII_RULE and p["outcome"] == "applied" and "model_after" in p:
                self.pii_reroutes += 1
                m.pii_reroutes += 1
        for fn in list(self.listeners):
            fn(e)

    def _minute(self, ts: float) -> Minute:
        start = int(ts // 60 * 60)
        if self.minutes and self.minutes[-1].start == start:
            return self.minutes[-1]
        for m in reversed(self.minutes):  # a late record for an earlier minute
            if m.start == start:
                return m
        m = Minute(start)
        if self.minutes and start < self.minutes[-1].start:
            return m  # older than the window: counted in totals, not drawn
        self.minutes.append(m)
        return m

    # -- reading ---------------------------------------------------------------------
    def timeline(self, minutes: int = 30) -> list[dict[str, Any]]:
        """One row per minute, oldest first, empty minutes included (so charts keep time)."""
        now = int(self.clock() // 60 * 60)
        by_start = {m.start: m for m in self.minutes}
        return [
            by_start.get(t, Minute(t)).to_dict()
            for t in range(now - 60 * (minutes - 1), now + 1, 60)
        ]

    def upstream_health(
        self,
        deployments: Iterable[str],
        breakers: Mapping[str, Mapping[str, object]],
    ) -> list[dict[str, Any]]:
        keys = list(dict.fromkeys([*deployments, *breakers, *self.upstreams]))
        out = []
        for key in keys:
            st = self.upstreams.get(key, UpstreamStats())
            b = breakers.get(key, {})
            lat = sorted(st.latency)
            out.append(
                {
                    "deployment": key,
                    "provider": key.split("/", 1)[0],
                    "breaker": str(b.get("state", "closed")),
                    "failures": b.get("failures", 0),
                    "ok": st.ok,
                    "errors": st.errors,
                    "last_error": st.last_error,
                    "last_error_at": st.last_error_at,
                    "latency_p50": percentile(lat, 50),
                }
            )
        return out

    def summary(
        self,
        *,
        deployments: Iterable[str] = (),
        breakers: Mapping[str, Mapping[str, object]] | None = None,
        minutes: int = 30,
    ) -> dict[str, Any]:
        def usage(d: dict[str, Usage]) -> list[dict[str, Any]]:
            rows = [u.to_dict(k) for k, u in d.items()]
            return sorted(rows, key=lambda r: (-r["cost_usd"], -r["tokens"], r["name"]))

        return {
            "now": self.clock(),
            "started": self.started,
            "totals": self.totals.to_dict("all") | {"pii_reroutes": self.pii_reroutes},
            "timeline": self.timeline(minutes),
            "by_service": usage(self.services),
            "by_model": usage(self.models),
            "by_api": usage(self.apis),
            "policies": [
                {"policy": p, "rule": r, "outcome": o, "count": n}
                for (p, r, o), n in sorted(self.policies.items())
            ],
            "upstreams": self.upstream_health(deployments, breakers or {}),
            "recent": [e.to_dict() for e in list(self.ring)[-RECENT_IN_SUMMARY:][::-1]],
        }
