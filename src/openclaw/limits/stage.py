"""The limits stage (order 20, before policies): who may call what, how often, for how much.

For a request from a configured service it checks, in order:

1. ``allow_models`` / ``deny_models`` against the requested model alias (403
   ``model_not_allowed``);
2. the service's daily ``budget``: when spent, ``on_exceed: block`` answers 429
   ``budget_exceeded`` (``Retry-After`` until 00:00 UTC) and ``downgrade:<alias>`` moves the
   request to the cheaper alias, saying so in ``X-OpenClaw-Budget`` and the audit record;
3. the token buckets (service and global; requests and estimated tokens) and the
   service's ``max_concurrent`` slot, all admitted atomically or not at all. A model's own
   buckets (``limits.models``) are taken after the policies by :class:`ModelLimitsStage`,
   for the model that will really serve. Over a limit the
   request waits in a bounded queue if ``queue.max_wait_ms`` allows it, else gets 429
   ``rate_limit_exceeded`` with ``Retry-After`` (and ``retry-after-ms``, which the OpenAI SDKs
   honour).

When the exchange ends, :meth:`LimitsStage.release` settles the token buckets with the real
usage (the estimate was prompt plus the completion cap), frees the concurrency slot and
charges the budget with the real cost. Per-upstream quotas (``providers.<name>.
requests_per_minute``) are enforced by :class:`UpstreamQuota`, a dispatcher gate: a provider
over its quota looks like a 429 from that deployment, so failover moves on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from openclaw.audit.record import BudgetFacts, LimitsCharge
from openclaw.config import Config
from openclaw.config.schema import QueueSettings, ServiceConfig
from openclaw.errors import PermissionDenied, RateLimited, UpstreamError
from openclaw.limits import plan
from openclaw.limits.services import ServiceRegistry
from openclaw.pipeline.exchange import QUOTA_SKIPPED, Attempt, Exchange
from openclaw.pipeline.stage import EventRelay
from openclaw.state.base import Admission, Bucket, Lease, StateBackend, Take
from openclaw.state.shared import GatewayState

if TYPE_CHECKING:
    from openclaw.routing.dispatch import Candidate

log = logging.getLogger("openclaw.limits")

#: How often a queued request looks again at a full concurrency limit.
LEASE_POLL = 0.025


@dataclass(slots=True)
class Grant:
    """What a request was granted, so :meth:`LimitsStage.release` can settle it."""

    backend: StateBackend | None
    token_takes: list[Take]
    lease: Lease | None
    prompt_estimate: int
    estimate: int
    budget_service: str | None
    request_takes: list[Take] = field(default_factory=list)  # given back if a model limit refuses


class LimitsStage:
    name = "limits"

    def __init__(
        self, cfg: Config, state: GatewayState, services: ServiceRegistry, events: EventRelay
    ) -> None:
        plan.validate(cfg)
        pol = cfg.policies
        self.state = state
        self.registry = services
        self.events = events
        self.services = {s.name: s for s in pol.services}
        self.default_completion = pol.limits.default_completion_tokens
        self.models = cfg.models  # whose tokenizer counts a request's prompt
        self.default_queue = pol.limits.queue
        self.names: dict[str, str] = {}  # limit id -> what it is, for messages
        self.global_set = plan.bucket_set(
            "global", pol.limits.global_, self.default_queue, "limits.global", self.names
        )
        self.model_sets = {
            alias: s
            for alias, rl in pol.limits.models.items()
            if (
                s := plan.bucket_set(
                    f"model:{alias}", rl, self.default_queue, f"limits.models.{alias}", self.names
                )
            )
            is not None
        }
        self.service_sets = {
            svc.name: s
            for svc in pol.services
            if (
                s := plan.bucket_set(
                    f"service:{svc.name}",
                    svc.rate_limit,
                    self.default_queue,
                    f"services[{svc.name}].rate_limit",
                    self.names,
                )
            )
            is not None
        }
        for svc in pol.services:
            if svc.max_concurrent is not None:
                self.names[f"service:{svc.name}:concurrency"] = (
                    f"{svc.max_concurrent} requests in flight (services[{svc.name}].max_concurrent)"
                )
        totals = [m.timeouts.total for m in cfg.models.models.values()]
        self.lease_ttl = max(totals, default=300.0) + 60.0
        self.waiting = 0
        self.refused: Counter[str] = Counter()
        self.downgraded: Counter[str] = Counter()

    # -- before the call ----------------------------------------------------------------
    async def before(self, ex: Exchange) -> None:
        svc = self.services.get(ex.service)
        if svc is not None:
            self._check_model(svc, ex)
            if svc.budget is not None:
                await self._check_budget(svc, ex)
        # Model buckets are taken later, by ModelLimitsStage, once the policies have chosen
        # the model that will really serve (a PII reroute counts against 'sensitive').
        sets = [
            s
            for s in (
                self.service_sets.get(svc.name) if svc is not None else None,
                self.global_set,
            )
            if s is not None
        ]
        lease = None
        if svc is not None and svc.max_concurrent is not None:
            lease = Lease(
                f"service:{svc.name}:concurrency",
                ex.request_id,
                svc.max_concurrent,
                self.lease_ttl,
            )
        budget_service = svc.name if svc is not None and svc.budget is not None else None
        if not sets and lease is None and budget_service is None:
            return
        prompt_est, est = plan.estimate_request_tokens(ex, self.default_completion, self.models)
        takes, token_takes = _takes(sets, est)
        backend = await self._admit(ex, takes, lease, sets) if takes or lease else None
        request_takes = [t for t in takes if t not in token_takes]
        ex.scratch["limits"] = Grant(
            backend, token_takes, lease, prompt_est, est, budget_service, request_takes
        )

    def _check_model(self, svc: ServiceConfig, ex: Exchange) -> None:
        alias = ex.alias or ""
        denied = bool(svc.deny_models) and plan.model_matches(alias, svc.deny_models)
        if denied or (svc.allow_models and not plan.model_matches(alias, svc.allow_models)):
            ex.audit.limit = f"service:{svc.name}:models"
            raise PermissionDenied(
                f"service '{svc.name}' may not use model '{alias}' "
                f"(services[{svc.name}].allow_models / deny_models in policies.yaml)",
                code="model_not_allowed",
                param="model",
            )

    async def _check_budget(self, svc: ServiceConfig, ex: Exchange) -> None:
        b = svc.budget
        assert b is not None
        key = plan.budget_key(svc.name)
        usd, tokens = await self.state.run("budgets", lambda be: be.spent(key))
        over = None
        if b.usd_per_day is not None and usd >= b.usd_per_day:
            over = "usd_per_day"
        elif b.tokens_per_day is not None and tokens >= b.tokens_per_day:
            over = "tokens_per_day"
        if over is None:
            return
        info: BudgetFacts = {
            "service": svc.name,
            "exceeded": over,
            "spent_usd": round(usd, 6),
            "spent_tokens": tokens,
            "usd_per_day": b.usd_per_day,
            "tokens_per_day": b.tokens_per_day,
            "action": "block",
        }
        to = b.downgrade_to
        if to is not None:
            if ex.alias != to:
                info["action"] = "downgrade"
                info["model_before"] = ex.alias
                info["model_after"] = to
                ex.response_headers["X-OpenClaw-Budget"] = (
                    f"downgraded; exceeded={over}; from={ex.alias}; to={to}"
                )
                ex.alias = to
                self.downgraded[svc.name] += 1
                self.events.emit("budget_exceeded", {**info, "request_id": ex.request_id}, svc.name)
            else:
                info["action"] = "none (already on the downgrade model)"
            ex.audit.budget = info
            return
        ex.audit.budget = info
        limit = f"budget:{svc.name}:{over}"
        ex.audit.limit = limit
        self.refused[limit] += 1
        self.events.emit("budget_exceeded", {**info, "request_id": ex.request_id}, svc.name)
        spent = (
            f"${usd:.4f} of ${b.usd_per_day:g}"
            if over == "usd_per_day"
            else (f"{tokens} of {b.tokens_per_day} tokens")
        )
        raise RateLimited(
            f"the daily budget of service '{svc.name}' is spent ({spent} today); requests are "
            f"refused until 00:00 UTC (services[{svc.name}].budget in policies.yaml)",
            code="budget_exceeded",
            headers={"Retry-After": str(plan.seconds_to_midnight()), "X-OpenClaw-Limit": limit},
        )

    async def _admit(
        self, ex: Exchange, takes: list[Take], lease: Lease | None, sets: list[plan.BucketSet]
    ) -> StateBackend:
        started = time.monotonic()
        deadline: float | None = None
        queued = False
        used: list[StateBackend] = []  # where the admission happened (Redis or the fallback)

        async def op(be: StateBackend) -> Admission:
            used.append(be)
            return await be.admit(takes, lease)

        try:
            while True:
                adm = await self.state.run("limits", op)
                if adm.ok:
                    if queued:
                        ms = (time.monotonic() - started) * 1000
                        ex.audit.queued_ms = round(ms, 1)
                    return used[-1]
                limit = adm.denied or "unknown"
                q = self._queue(limit, sets)
                if deadline is None:
                    deadline = started + q.max_wait_ms / 1000.0
                remaining = deadline - time.monotonic()
                wait = LEASE_POLL if adm.retry_after < 0 else adm.retry_after
                full = not queued and self.waiting >= q.max_waiting
                if remaining <= 0 or wait > remaining or full:
                    self._refuse(ex, limit, adm.retry_after)
                if not queued:
                    queued = True
                    self.waiting += 1
                await asyncio.sleep(wait)
        finally:
            if queued:
                self.waiting -= 1

    def _queue(self, limit: str, sets: list[plan.BucketSet]) -> QueueSettings:
        for s in sets:
            for b in (s.requests, s.tokens):
                if b is not None and b.key == limit:
                    return s.queue
        if limit.startswith("service:"):
            # service:<name>:<kind>, where the name may itself contain ':' (slack:team)
            svc = self.services.get(limit.removeprefix("service:").rpartition(":")[0])
            if svc is not None and svc.rate_limit is not None and svc.rate_limit.queue:
                return svc.rate_limit.queue
        return self.default_queue

    def _refuse(self, ex: Exchange, limit: str, wait: float) -> NoReturn:
        retry = 1 if wait < 0 else max(1, math.ceil(wait))
        ex.audit.limit = limit
        self.refused[limit] += 1
        self.events.emit(
            "rate_limited",
            {"limit": limit, "service": ex.service, "model": ex.alias, "request_id": ex.request_id},
            limit,
        )
        headers = {"Retry-After": str(retry), "X-OpenClaw-Limit": limit}
        if wait >= 0:
            headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
        what = self.names.get(limit, limit)
        raise RateLimited(f"rate limit exceeded: {what}; retry in {retry}s", headers=headers)

    # -- after the exchange ---------------------------------------------------------------
    async def release(self, ex: Exchange) -> None:
        g = ex.scratch.pop("limits", None)
        if isinstance(g, Grant):
            await self.settle(ex, g)

    async def settle(self, ex: Exchange, g: Grant, *, record: bool = True) -> None:
        actual = plan.used_tokens(ex, g.prompt_estimate)
        summary: LimitsCharge = {"estimated_tokens": g.estimate, "charged_tokens": actual}
        adj: list[Take] = []
        if g.backend is not None and g.token_takes and actual != g.estimate:
            adj = [Take(t.bucket, float(actual - g.estimate)) for t in g.token_takes]
        if g.backend is not None and (ex.audit.limit or "").startswith("model:"):
            # Refused by a model's own limit after this grant: the request never ran, so
            # it gives back its service and global request tokens too.
            adj += [Take(t.bucket, -t.cost) for t in g.request_takes]
        lease = g.lease if g.backend is not None else None
        charge: tuple[str, float, int, float] | None = None
        if g.budget_service is not None and (actual or ex.cost_usd):
            usd = ex.cost_usd or 0.0
            summary["charged_usd"] = usd
            charge = (plan.budget_key(g.budget_service), usd, actual, plan.BUDGET_KEEP_SECONDS)
        if record:
            ex.audit.limits = summary
        if (
            charge is not None
            and g.backend is not None
            and self.state.backend_for("budgets") is g.backend
        ):
            # The usual case: buckets, slot and budget in one place, one round trip.
            if await self.state.run_on(g.backend, _settle(adj, lease, charge)) is None:
                self._charge_lost(g.budget_service, charge)
            return
        if g.backend is not None and (adj or lease is not None):
            await self.state.run_on(g.backend, _settle(adj, lease, None))
        if charge is not None:
            c = charge
            try:
                await self.state.run("budgets", lambda be: be.charge(*c))
            except Exception as exc:
                self._charge_lost(g.budget_service, c, exc)

    @staticmethod
    def _charge_lost(
        service: str | None, charge: tuple[str, float, int, float], exc: object = "unreachable"
    ) -> None:
        log.error(
            "could not charge %s tokens / $%s to the budget of '%s': %s",
            charge[2],
            charge[1],
            service,
            exc,
        )

    # -- reporting ------------------------------------------------------------------------
    def buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        for s in [self.global_set, *self.model_sets.values(), *self.service_sets.values()]:
            if s is not None:
                out += [b for b in (s.requests, s.tokens) if b is not None]
        return out

    async def aclose(self) -> None:
        await self.state.aclose()


class ModelLimitsStage:
    """``limits.models.<alias>`` (order 60, after the policies): the buckets of the model that
    will really serve the request, so traffic the PII policy reroutes to ``sensitive``, or a
    budget downgrades to ``cheap``, counts against that model's limits. Shares the queue and
    the refusal of :class:`LimitsStage`."""

    name = "model_limits"

    def __init__(self, limits: LimitsStage) -> None:
        self.limits = limits

    async def before(self, ex: Exchange) -> None:
        s = self.limits.model_sets.get(ex.alias or "")
        if s is None:
            return
        prompt_est, est = plan.estimate_request_tokens(
            ex, self.limits.default_completion, self.limits.models
        )
        takes, token_takes = _takes([s], est)
        backend = await self.limits._admit(ex, takes, None, [s])
        ex.scratch["model_limits"] = Grant(backend, token_takes, None, prompt_est, est, None)

    async def release(self, ex: Exchange) -> None:
        g = ex.scratch.pop("model_limits", None)
        if isinstance(g, Grant):
            await self.limits.settle(ex, g, record=False)


def _takes(sets: list[plan.BucketSet], estimate: int) -> tuple[list[Take], list[Take]]:
    """What a request takes from bucket sets: one request token and its estimated tokens.
    Returns (every take, the token takes alone, which are settled after the call)."""
    takes: list[Take] = []
    token_takes: list[Take] = []
    for s in sets:
        if s.requests is not None:
            takes.append(Take(s.requests, 1.0))
        if s.tokens is not None:
            t = Take(s.tokens, float(estimate))
            takes.append(t)
            token_takes.append(t)
    return takes, token_takes


def _settle(
    adj: list[Take], lease: Lease | None, charge: tuple[str, float, int, float] | None
) -> Callable[[StateBackend], Awaitable[bool]]:
    async def op(be: StateBackend) -> bool:
        await be.settle(adj, lease, charge)
        return True

    return op


class UpstreamQuota:
    """Dispatcher gate for ``providers.<name>.requests_per_minute``.

    A provider over its quota raises a retryable 429 for that deployment (recorded as an
    attempt, without counting against its breaker: the deployment is healthy), so the
    dispatcher tries the next candidate, and backs off by the bucket's wait if none is left.
    """

    def __init__(self, state: GatewayState, quotas: dict[str, int]) -> None:
        self.state = state
        self.buckets = {name: plan.provider_bucket(name, rpm) for name, rpm in quotas.items()}
        self.refused: Counter[str] = Counter()

    async def __call__(self, ex: Exchange, c: Candidate) -> None:
        bucket = self.buckets.get(c.provider.name)
        if bucket is None:
            return
        take = [Take(bucket, 1.0)]
        adm = await self.state.run("limits", lambda be: be.admit(take, None))
        if adm.ok:
            return
        self.refused[bucket.key] += 1
        # Recorded as an attempt that made no call (metrics and the dashboard skip it); the
        # record's "limit" is only set if the request ends refused (Exchange.fail).
        ex.attempts.append(Attempt(c.key, c.provider.name, QUOTA_SKIPPED, 0.0, None))
        retry = max(1, math.ceil(adm.retry_after))
        raise UpstreamError(
            f"provider '{c.provider.name}' is over its quota of "
            f"{round(bucket.capacity)} requests per minute "
            f"(providers.{c.provider.name}.requests_per_minute in models.yaml)",
            status=429,
            code="rate_limit_exceeded",
            upstream_status=429,
            retryable=True,
            retry_after=adm.retry_after,
            headers={"Retry-After": str(retry), "X-OpenClaw-Limit": bucket.key},
        )
