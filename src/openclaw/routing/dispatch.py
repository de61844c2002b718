"""Dispatch: turning a chosen alias into a provider response, surviving provider failures.

Candidates are the alias's deployments, ordered by its strategy, followed by the deployments
of its fallback aliases. One pass tries each candidate once; a failed deployment hands the
request to the next one at once instead of retrying the dead one first. Only when a whole
pass fails does the dispatcher back off (exponential, full jitter, ``Retry-After`` honoured up
to a cap) and make another pass, until ``max_retries`` or the request's deadline. Client
errors (400/401/403/404/413) are never retried. A request marked ``local_only`` (PII) never
reaches a non-local deployment, not even as a fallback. Streams fail over only until the
first chunk has been produced.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from openclaw.config.schema import Deployment, ModelAlias, ModelsFile, Timeouts
from openclaw.errors import (
    InvalidRequest,
    ModelNotFound,
    OpenClawError,
    ServiceUnavailable,
    UpstreamError,
    UpstreamTimeout,
)
from openclaw.pipeline.exchange import Attempt, Exchange, Json
from openclaw.providers.base import Provider, ProviderCall
from openclaw.routing.breaker import Breakers
from openclaw.routing.strategies import LatencyTracker, Orderer, deployment_key
from openclaw.routing.tokens import estimate_prompt_tokens

RETRY_AFTER_CAP = 10.0
BACKOFF_BASE = 0.1
BACKOFF_CAP = 4.0


@dataclass(slots=True)
class Candidate:
    alias: str
    spec: ModelAlias
    deployment: Deployment
    provider: Provider

    @property
    def key(self) -> str:
        return deployment_key(self.deployment)


class Dispatcher:
    def __init__(
        self,
        models: ModelsFile,
        providers: dict[str, Provider],
        *,
        breakers: Breakers | None = None,
        latency: LatencyTracker | None = None,
    ) -> None:
        self.models = models
        self.providers = providers
        self.breakers = breakers or Breakers()
        self.latency = latency or LatencyTracker()
        self.orderer = Orderer(self.latency)
        self.on_failover: list[object] = []

    # -- planning ----------------------------------------------------------------
    def candidates(self, ex: Exchange) -> list[Candidate]:
        assert ex.alias is not None
        est = estimate_prompt_tokens(ex.body.get("messages") or [])
        out: list[Candidate] = []
        seen: set[str] = set()
        chain = [ex.alias]
        i = 0
        while i < len(chain):
            alias = chain[i]
            i += 1
            spec = self.models.models.get(alias)
            if spec is None:
                raise ModelNotFound(f"model alias '{alias}' is not configured", param="model")
            ordered = self.orderer.order(
                alias, spec.strategy, spec.deployments, service=ex.service, est_prompt_tokens=est
            )
            for dep in ordered:
                prov = self.providers[dep.provider]
                if ex.local_only and not prov.is_local:
                    continue
                key = f"{alias}:{deployment_key(dep)}"
                if key in seen:
                    continue
                seen.add(key)
                out.append(Candidate(alias, spec, dep, prov))
            for fb in spec.fallbacks:
                if fb not in chain:
                    chain.append(fb)
        if not out:
            if ex.local_only:
                raise ServiceUnavailable(
                    f"no local deployment can serve '{ex.alias}', and this request contains "
                    "sensitive data that may not leave the machine",
                    code="sensitive_model_unavailable",
                )
            raise ServiceUnavailable(f"model '{ex.alias}' has no deployments")
        return out

    @staticmethod
    def _timeouts(c: Candidate) -> Timeouts:
        return c.deployment.timeouts or c.spec.timeouts

    # -- bookkeeping -------------------------------------------------------------
    def _record(self, ex: Exchange, c: Candidate, t0: float, exc: OpenClawError | None) -> None:
        ms = (time.perf_counter() - t0) * 1000.0
        outcome = "ok" if exc is None else (exc.code or "error")
        status = None if exc is None else getattr(exc, "upstream_status", None) or exc.status
        ex.attempts.append(Attempt(c.key, c.provider.name, outcome, ms, status))
        if exc is None:
            self.breakers.success(c.key)
        elif _counts_against_deployment(exc):
            self.breakers.failure(c.key)

    def _served(self, ex: Exchange, c: Candidate) -> None:
        ex.provider = c.provider.name
        ex.provider_model = c.deployment.model
        if c.alias != ex.alias:
            ex.fallback_from = ex.alias
            ex.alias = c.alias

    def cost(self, c: Candidate, prompt: int | None, completion: int | None) -> float:
        d = c.deployment
        return round(
            (
                (prompt or 0) * d.cost_per_million_input_tokens
                + (completion or 0) * d.cost_per_million_output_tokens
            )
            / 1_000_000,
            8,
        )

    # -- the loop ----------------------------------------------------------------
    async def _passes(self, ex: Exchange) -> AsyncGenerator[Candidate, None]:
        cands = self.candidates(ex)
        spec = cands[0].spec
        deadline = time.monotonic() + spec.timeouts.total
        last: OpenClawError | None = None
        for round_no in range(spec.max_retries + 1):
            tried = False
            for c in cands:
                if not self.breakers.allow(c.key):
                    continue
                if time.monotonic() >= deadline:
                    raise UpstreamTimeout(f"request deadline of {spec.timeouts.total:g}s exceeded")
                tried = True
                yield c
                last = ex.error
            if not tried and round_no == 0:
                # Every breaker is open: try the first candidate anyway rather than fail
                # without a single call; it doubles as the probe.
                yield cands[0]
                last = ex.error
            if round_no == spec.max_retries:
                break
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**round_no))
            ra = getattr(last, "retry_after", None)
            if isinstance(ra, (int, float)) and ra > 0:
                delay = max(delay, min(float(ra), RETRY_AFTER_CAP))
            if time.monotonic() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        raise self._final(ex, last or ServiceUnavailable("no deployment is available (all breakers open)"))

    @staticmethod
    def _final(ex: Exchange, exc: OpenClawError) -> OpenClawError:
        """The error a caller sees once dispatch gives up.

        A request kept local because of sensitive data gets a 503 that says why nothing
        else was tried, rather than a provider error that invites a retry elsewhere.
        """
        if ex.local_only and isinstance(exc, UpstreamError):
            err = ServiceUnavailable(
                f"the sensitive model '{ex.alias}' is unavailable ({exc.message}); this request "
                "contains sensitive data, so it was not sent to a remote model",
                code="sensitive_model_unavailable",
            )
            err.__cause__ = exc
            return err
        return exc

    async def complete(self, ex: Exchange) -> Json:
        passes = self._passes(ex)
        async for c in passes:
            t0 = time.perf_counter()
            try:
                resp = await c.provider.complete(self._call(ex, c))
            except OpenClawError as exc:
                self._record(ex, c, t0, exc)
                ex.error = exc
                if not _retryable(exc):
                    await passes.aclose()
                    raise self._final(ex, exc) from exc
                continue
            self._record(ex, c, t0, None)
            self.latency.observe(c.key, (time.perf_counter() - t0) * 1000.0)
            ex.error = None
            self._served(ex, c)
            usage = resp.get("usage") or {}
            ex.prompt_tokens = usage.get("prompt_tokens")
            ex.completion_tokens = usage.get("completion_tokens")
            ex.cost_usd = self.cost(c, ex.prompt_tokens, ex.completion_tokens)
            await passes.aclose()
            return resp
        raise ServiceUnavailable("no deployment answered")  # pragma: no cover - _passes raises

    async def stream(self, ex: Exchange) -> AsyncGenerator[Json, None]:
        passes = self._passes(ex)
        async for c in passes:
            t0 = time.perf_counter()
            agen = c.provider.stream(self._call(ex, c))
            try:
                first = await agen.__anext__()
            except StopAsyncIteration:
                exc: OpenClawError = UpstreamError(
                    f"provider '{c.provider.name}' sent an empty stream"
                )
                self._record(ex, c, t0, exc)
                ex.error = exc
                continue
            except OpenClawError as exc:
                self._record(ex, c, t0, exc)
                ex.error = exc
                await aclose(agen)
                if not _retryable(exc):
                    await passes.aclose()
                    raise self._final(ex, exc) from exc
                continue
            await passes.aclose()
            ex.error = None
            self._served(ex, c)
            ttft = (time.perf_counter() - t0) * 1000.0
            self.latency.observe(c.key, ttft)
            try:
                yield first
                async for ch in agen:
                    usage = ch.get("usage")
                    if usage:
                        ex.prompt_tokens = usage.get("prompt_tokens")
                        ex.completion_tokens = usage.get("completion_tokens")
                    yield ch
            except OpenClawError as exc:
                self._record(ex, c, t0, exc)
                raise
            finally:
                await aclose(agen)
            self._record(ex, c, t0, None)
            ex.cost_usd = self.cost(c, ex.prompt_tokens, ex.completion_tokens)
            return

    @staticmethod
    def _call(ex: Exchange, c: Candidate) -> ProviderCall:
        return ProviderCall(
            body=ex.body,
            model=c.deployment.model,
            timeouts=Dispatcher._timeouts(c),
            request_id=ex.request_id,
        )


async def aclose(it: AsyncIterator[Json]) -> None:
    """Close an adapter's stream (an async generator), releasing its upstream connection."""
    close = getattr(it, "aclose", None)
    if close is not None:
        await close()


def _retryable(exc: OpenClawError) -> bool:
    if isinstance(exc, InvalidRequest):
        return False
    if isinstance(exc, UpstreamError):
        return exc.retryable
    return False


def _counts_against_deployment(exc: OpenClawError) -> bool:
    return isinstance(exc, UpstreamError) and exc.retryable
