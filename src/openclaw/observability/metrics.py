"""Prometheus metrics for one running gateway, fed by the gateway's observer hook.

Every app gets its own :class:`~prometheus_client.CollectorRegistry` (never the global one),
so tests and config reloads never clash over metric names. Counters move in
:meth:`Metrics.observe`, which the gateway calls with each finished :class:`Exchange` and its
audit record; breaker state is read at scrape time by :class:`BreakerCollector`, so it is
never stale.

Labels stay bounded. A route is the configured model alias the request ended on (a client's
raw ``model`` string never becomes a label: an unknown one is ``unknown``); upstreams are
configured provider names; policies are configured policy names. The one free-form label,
``service`` (from the ``X-OpenClaw-Service`` header), goes through :class:`BoundedLabel`,
which lets the first :data:`MAX_FREE_LABELS` values through and folds the rest into
``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from openclaw import __version__
from openclaw.audit.record import PII_RULE, AuditRecord
from openclaw.ingress import APIS
from openclaw.pipeline.exchange import QUOTA_SKIPPED, Exchange

UNKNOWN = "unknown"
OTHER = "other"
MAX_FREE_LABELS = 50
#: Error codes that mean "refused by a limit" (a rate limit or a spending budget).
LIMIT_CODES = frozenset({"rate_limit_exceeded", "budget_exceeded"})

# Chat latencies run from milliseconds (cache, mock) to minutes (long generations).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)

BreakerSnapshot = Callable[[], Mapping[str, Mapping[str, object]]]
BREAKER_STATES = ("closed", "half_open", "open")


class BoundedLabel:
    """A label value filter: the first ``limit`` distinct values pass, later ones are ``other``."""

    def __init__(self, limit: int = MAX_FREE_LABELS, max_len: int = 64) -> None:
        self.limit = limit
        self.max_len = max_len
        self._seen: set[str] = set()

    def __call__(self, value: object) -> str:
        if not isinstance(value, str) or not value:
            return UNKNOWN
        value = value[: self.max_len]
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(value)
        return value


class BreakerCollector(Collector):
    """Circuit-breaker state per deployment, read from the dispatcher when scraped."""

    def __init__(self, snapshot: BreakerSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "openclaw_breaker_state",
            "Circuit breaker state per deployment (1 for the current state, 0 otherwise).",
            labels=["deployment", "state"],
        )
        failures = GaugeMetricFamily(
            "openclaw_breaker_consecutive_failures",
            "Consecutive failures counted by each deployment's circuit breaker.",
            labels=["deployment"],
        )
        for key, snap in self.snapshot().items():
            current = str(snap.get("state", "closed"))
            for s in BREAKER_STATES:
                state.add_metric([key, s], 1.0 if s == current else 0.0)
            f = snap.get("failures", 0)
            failures.add_metric([key], float(f) if isinstance(f, int | float) else 0.0)
        yield state
        yield failures


SpanCounts = Callable[[], tuple[int, int] | None]


class SpanCollector(Collector):
    """Trace spans exported and dropped (``telemetry:``), read from the tracer when scraped."""

    def __init__(self, counts: SpanCounts) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        now = self.counts()
        if now is None:  # tracing is off
            return
        exported, dropped = now
        yield CounterMetricFamily(
            "openclaw_trace_spans_exported",
            "Trace spans the OTLP exporter delivered.",
            value=exported,
        )
        yield CounterMetricFamily(
            "openclaw_trace_spans_dropped",
            "Trace spans dropped: the export queue was full or the exporter failed.",
            value=dropped,
        )


class Metrics:
    """The gateway's metrics. ``known_aliases`` says which model aliases may be labels."""

    def __init__(
        self,
        known_aliases: Callable[[], Mapping[str, object]],
        breakers: BreakerSnapshot | None = None,
        spans: SpanCounts | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._aliases = known_aliases
        self._service = BoundedLabel()
        self._limit = BoundedLabel()
        r = self.registry
        self.requests = Counter(
            "openclaw_requests_total",
            "Chat requests finished by the gateway, by model alias (route), status and method.",
            ["route_id", "status", "method"],
            registry=r,
        )
        # A separate counter rather than a label on openclaw_requests_total, whose series
        # dashboards and alerts already select by their exact labels.
        self.requests_by_api = Counter(
            "openclaw_requests_by_api_total",
            "Requests finished by the gateway, by ingress API (chat, messages, responses, "
            "embeddings) and status.",
            ["api", "status"],
            registry=r,
        )
        self.upstream_requests = Counter(
            "openclaw_upstream_requests_total",
            "Calls made to upstream providers (each failover or retry attempt counts).",
            ["upstream_name", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "openclaw_request_duration_seconds",
            "Time from request arrival to the audit record, per route and serving upstream.",
            ["route_id", "upstream_name"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.upstream_duration = Histogram(
            "openclaw_upstream_duration_seconds",
            "Duration of each upstream attempt.",
            ["upstream_name"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "openclaw_time_to_first_token_seconds",
            "Time to first token of streamed answers.",
            ["route_id"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter(
            "openclaw_cache_hits_total",
            "Requests answered from the cache.",
            ["route_id"],
            registry=r,
        )
        self.cache_misses = Counter(
            "openclaw_cache_misses_total",
            "Cacheable requests the cache could not answer.",
            ["route_id"],
            registry=r,
        )
        self.rate_limit_blocked = Counter(
            "openclaw_rate_limit_blocked_total",
            "Requests refused by a rate limit or a spending budget.",
            ["limit_id"],
            registry=r,
        )
        self.cost = Counter(
            "openclaw_estimated_cost_usd_total",
            "Estimated spend from configured per-token prices.",
            ["upstream_name", "model_name"],
            registry=r,
        )
        self.tokens = Counter(
            "openclaw_tokens_total",
            "Tokens reported by upstreams, by service, model alias and kind (prompt/completion).",
            ["service", "model_name", "kind"],
            registry=r,
        )
        self.pii_reroutes = Counter(
            "openclaw_pii_reroutes_total",
            "Requests sent to a sensitive (local) model because they contained PII.",
            ["policy", "to_model"],
            registry=r,
        )
        self.policy_decisions = Counter(
            "openclaw_policy_decisions_total",
            "Policy decisions (applied, would_apply in shadow mode, pass, error).",
            ["policy", "rule", "outcome"],
            registry=r,
        )
        self.drafts = Counter(
            "openclaw_draft_responses_total",
            "Answers marked as drafts by a policy.",
            ["route_id"],
            registry=r,
        )
        info = Gauge("openclaw_build_info", "OpenClaw version.", ["version"], registry=r)
        info.labels(__version__).set(1)
        if breakers is not None:
            r.register(BreakerCollector(breakers))
        if spans is not None:
            r.register(SpanCollector(spans))

    # -- label helpers -------------------------------------------------------------
    def route(self, alias: str | None) -> str:
        """A configured alias, or ``unknown`` (never a client's raw model string)."""
        return alias if alias is not None and alias in self._aliases() else UNKNOWN

    # -- counters other features call ------------------------------------------------
    def cache_hit(self, route_id: str) -> None:
        self.cache_hits.labels(route_id).inc()

    def cache_miss(self, route_id: str) -> None:
        self.cache_misses.labels(route_id).inc()

    def rate_limited(self, limit_id: str) -> None:
        self.rate_limit_blocked.labels(self._limit(limit_id)).inc()

    # -- the observer ----------------------------------------------------------------
    def observe(self, ex: Exchange, record: AuditRecord) -> None:
        """Count one finished exchange (a gateway observer)."""
        route = self.route(ex.alias)
        upstream = ex.provider or "none"
        method = "POST" if ex.client_ip is not None else "internal"
        self.requests.labels(route, str(ex.status), method).inc()
        self.requests_by_api.labels(ex.api if ex.api in APIS else "other", str(ex.status)).inc()
        self.request_duration.labels(route, upstream).observe(ex.latency_ms / 1000.0)
        if ex.ttft_ms is not None:
            self.ttft.labels(route).observe(ex.ttft_ms / 1000.0)
        for a in ex.attempts:
            if a.outcome == QUOTA_SKIPPED:
                continue  # skipped by the provider's quota: no call was made
            status = "200" if a.outcome == "ok" else str(a.status or "error")
            self.upstream_requests.labels(a.provider, status).inc()
            self.upstream_duration.labels(a.provider).observe(a.latency_ms / 1000.0)
        if ex.cache == "hit":
            self.cache_hit(route)
        elif ex.cache == "miss":
            self.cache_miss(route)
        if ex.status == 429 and ex.error is not None and ex.error.code in LIMIT_CODES:
            self.rate_limited(record.limit or ex.error.code or "")
        if ex.cost_usd:
            self.cost.labels(upstream, route).inc(ex.cost_usd)
        service = self._service(ex.service)
        if ex.prompt_tokens:
            self.tokens.labels(service, route, "prompt").inc(ex.prompt_tokens)
        if ex.completion_tokens:
            self.tokens.labels(service, route, "completion").inc(ex.completion_tokens)
        for d in ex.decisions:
            self.policy_decisions.labels(d.policy, d.rule, d.outcome).inc()
            if (
                d.rule == PII_RULE
                and d.outcome == "applied"
                and d.model_after
                and d.model_after != d.model_before
            ):
                self.pii_reroutes.labels(d.policy, self.route(d.model_after)).inc()
        if ex.draft:
            self.drafts.labels(route).inc()

    # -- exposition ----------------------------------------------------------------
    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """(body, content type), OpenMetrics if the scraper asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
