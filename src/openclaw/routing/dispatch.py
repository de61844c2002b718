"""Dispatch: turning a chosen alias into a provider response, surviving provider failures.

Candidates are the alias's deployments, ordered by its strategy, followed by the deployments
of its fallback aliases. One pass tries each candidate once; a failed deployment hands the
request to the next one at once instead of retrying the dead one first (LiteLLM's users see
several slow attempts on a dead deployment before it switches). Only when a whole pass fails
does the dispatcher back off (exponential, full jitter, ``Retry-After`` honoured up to a cap)
and make another pass, until ``max_retries`` or the request's deadline (``timeouts.total``,
which also caps every single call). Client errors (400/401/403/404/413) are never retried.
Breakers skip a deployment that keeps failing, across requests and across retries.

Failure modes handled before or around the call:

- context too long: the prompt's estimated tokens against ``context_window`` skip the alias
  for a fallback with a larger window, or fail with 400 ``context_length_exceeded`` before any
  call is made;
- content filter: a ``content_filter`` finish (or a provider refusal) moves on to the next
  candidate when the alias says ``on_content_filter: fallback``; otherwise it is returned;
- malformed output: an unreadable body or a broken stream is an upstream failure like a 500;
- JSON mode: a ``response_format`` JSON answer that does not parse gets one repair call,
  then a clear 502.

A request marked ``local_only`` (PII) never reaches a non-local deployment, not even as a
fallback. Streams fail over only until the first chunk has been produced.

Embeddings (``ex.api == "embeddings"``) take the same passes, breakers and backoff, calling
the adapters' ``embed``; an alias must be of the request's kind (``kind: embedding`` for
embeddings, ``chat`` for the rest) or the request is a 400 before any call, and fallbacks of
the other kind are skipped.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson

from openclaw.clock import Clock, SystemClock
from openclaw.config.schema import Deployment, ModelAlias, ModelsFile, Timeouts
from openclaw.errors import (
    ContextLengthExceeded,
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
from openclaw.routing.pricing import PriceBook
from openclaw.routing.select import check_alias_kind
from openclaw.routing.strategies import LatencyTracker, Orderer, deployment_key
from openclaw.tokens import count_prompt, encoding_for, warm

RETRY_AFTER_CAP = 10.0
BACKOFF_BASE = 0.1
BACKOFF_CAP = 4.0
JSON_REPAIR_PROMPT = (
    "Your previous reply was not valid JSON. Reply again with only the JSON value, "
    "no prose and no code fences."
)

T = TypeVar("T")
#: What a failed attempt counts as in the lowest_latency average (milliseconds).
FAILURE_LATENCY_MS = 10_000.0
#: Called before each attempt; raises a retryable UpstreamError to skip the deployment
#: (the per-upstream quota in openclaw.limits.stage uses it).
Gate = Callable[[Exchange, "Candidate"], Awaitable[None]]


@dataclass(slots=True)
class Candidate:
    alias: str
    spec: ModelAlias
    deployment: Deployment
    provider: Provider

    @property
    def key(self) -> str:
        return deployment_key(self.deployment)


class ContentFiltered(Exception):
    """Internal: the answer was filtered and the alias wants the next candidate."""

    def __init__(self, response: Json | None) -> None:
        super().__init__("content filtered")
        self.response = response


class Dispatcher:
    def __init__(
        self,
        models: ModelsFile,
        providers: dict[str, Provider],
        *,
        breakers: Breakers | None = None,
        latency: LatencyTracker | None = None,
        gates: Sequence[Gate] = (),
        clock: Clock | None = None,
    ) -> None:
        self.models = models
        self.providers = providers
        self.clock: Clock = clock or SystemClock()  # deadlines and attempt latencies
        self.breakers = breakers or Breakers(clock=self.clock)
        self.latency = latency or LatencyTracker()
        self.prices = PriceBook(models)
        warm(d.model for spec in models.models.values() for d in spec.deployments)
        self.orderer = Orderer(self.latency, self.prices.price)
        #: Checked in order before each attempt; one that raises skips the deployment
        #: (e.g. a provider over its own quota, :class:`openclaw.limits.stage.UpstreamQuota`).
        self.gates = list(gates)

    # -- planning ----------------------------------------------------------------
    def candidates(self, ex: Exchange) -> list[Candidate]:
        assert ex.alias is not None
        first = self.models.models.get(ex.alias)
        if first is not None:
            check_alias_kind(ex.alias, first.kind, ex.api)
        kind = first.kind if first is not None else "chat"
        messages = ex.body.get("messages") or []
        wanted_out = ex.body.get("max_completion_tokens") or ex.body.get("max_tokens") or 0
        wanted_out = wanted_out if isinstance(wanted_out, int) else 0
        counts: dict[str | None, int] = {}  # by encoding: aliases may use different tokenizers

        def prompt_tokens(spec: ModelAlias) -> int:
            model = spec.deployments[0].model if spec.deployments else None
            enc = encoding_for(model)
            if enc not in counts:
                counts[enc] = count_prompt(messages, model)
            return counts[enc]

        out: list[Candidate] = []
        seen: set[str] = set()
        too_small: list[tuple[str, int]] = []
        chain = [ex.alias]
        i = 0
        while i < len(chain):
            alias = chain[i]
            i += 1
            spec = self.models.models.get(alias)
            if spec is None:
                raise ModelNotFound(f"model alias '{alias}' is not configured", param="model")
            for fb in spec.fallbacks:
                if fb not in chain:
                    chain.append(fb)
            if spec.kind != kind:
                continue  # a fallback of the other kind cannot serve this request
            # Counting is only needed for a context window or a price comparison: most
            # requests need neither, and a 4 KB prompt costs tens of microseconds to count.
            needs_count = spec.context_window is not None or spec.strategy == "lowest_cost"
            est = prompt_tokens(spec) if needs_count else 0
            if spec.context_window is not None and est + wanted_out > spec.context_window:
                too_small.append((alias, spec.context_window))
                continue
            ordered = self.orderer.order(
                alias,
                spec.strategy,
                spec.deployments,
                service=ex.service,
                est_prompt_tokens=est,
                advance=False,  # _run turns the rotation of the aliases it reaches
            )
            for dep in ordered:
                prov = self.providers[dep.provider]
                if ex.local_only and not prov.is_local:
                    continue
                key = f"{alias}:{deployment_key(dep)}"
                if key not in seen:
                    seen.add(key)
                    out.append(Candidate(alias, spec, dep, prov))
        if not out:
            if too_small:
                windows = ", ".join(f"'{a}' takes {w}" for a, w in too_small)
                est = prompt_tokens(self.models.models[ex.alias])
                need = est + wanted_out
                raise ContextLengthExceeded(
                    f"the prompt is about {est} tokens (estimated; {need} with the requested "
                    f"output) and no configured model fits it: {windows}",
                    param="messages",
                )
            if ex.local_only:
                raise ServiceUnavailable(
                    f"no local deployment can serve '{ex.alias}', and this request contains "
                    "sensitive data that may not leave the machine",
                    code="sensitive_model_unavailable",
                )
            raise ServiceUnavailable(f"model '{ex.alias}' has no deployments")
        if too_small:
            ex.audit.context_skipped = [a for a, _ in too_small]
        return out

    # -- bookkeeping -------------------------------------------------------------
    def _record(
        self, ex: Exchange, c: Candidate, t0: float, exc: OpenClawError | None, outcome: str = "ok"
    ) -> None:
        ms = (self.clock.monotonic() - t0) * 1000.0
        if exc is not None:
            outcome = exc.code or "error"
        status = None if exc is None else getattr(exc, "upstream_status", None) or exc.status
        ex.attempts.append(Attempt(c.key, c.provider.name, outcome, ms, status))
        if exc is None:
            self.breakers.success(c.key)
        elif _counts_against_deployment(exc):
            self.breakers.failure(c.key)
            # For lowest_latency a failure is a slow answer: without this, a deployment that
            # never once succeeded stays "unmeasured" and is tried first on every request.
            self.latency.observe(c.key, max(ms, FAILURE_LATENCY_MS))

    def _served(self, ex: Exchange, c: Candidate) -> None:
        ex.provider = c.provider.name
        ex.provider_model = c.deployment.model
        if c.alias != ex.alias:
            ex.fallback_from = ex.alias
            ex.alias = c.alias

    def cost(self, c: Candidate, prompt: int | None, completion: int | None) -> float | None:
        """USD for the call, or None when the deployment's price is unknown."""
        return self.prices.price(c.deployment).cost(prompt, completion)

    def _call(
        self, ex: Exchange, c: Candidate, deadline: float, body: Json | None = None
    ) -> ProviderCall:
        t = c.deployment.timeouts or c.spec.timeouts
        remaining = max(0.05, deadline - self.clock.monotonic())
        if remaining < t.total:
            t = Timeouts(
                connect=min(t.connect, remaining),
                first_token=min(t.first_token, remaining),
                total=remaining,
            )
        return ProviderCall(
            body=ex.body if body is None else body,
            model=c.deployment.model,
            timeouts=t,
            request_id=ex.request_id,
        )

    # -- the loop ----------------------------------------------------------------
    async def _run(self, ex: Exchange, attempt: Callable[[Candidate, float], Awaitable[T]]) -> T:
        """Try candidates in passes until one succeeds; see the module docstring."""
        cands = self.candidates(ex)
        spec = cands[0].spec
        deadline = self.clock.monotonic() + spec.timeouts.total
        last: OpenClawError | None = None
        filtered: ContentFiltered | None = None
        skip: set[str] = set()
        reached: set[str] = set()
        for round_no in range(spec.max_retries + 1):
            tried = False
            for c in cands:
                if c.alias not in reached:
                    reached.add(c.alias)
                    if c.spec.strategy == "round_robin":
                        self.orderer.advance(c.alias)
                if c.key in skip or not self.breakers.allow(c.key):
                    continue
                if self.clock.monotonic() >= deadline:
                    raise self._final(
                        ex,
                        UpstreamTimeout(f"request deadline of {spec.timeouts.total:g}s exceeded"),
                    )
                tried = True
                try:
                    for gate in self.gates:
                        await gate(ex, c)
                    return await attempt(c, deadline)
                except ContentFiltered as cf:
                    filtered = filtered or cf
                    skip.add(c.key)  # the same deployment would filter it again
                except OpenClawError as exc:
                    last = exc
                    if not _retryable(exc):
                        raise self._final(ex, exc) from exc
            if not tried and round_no == 0 and last is None and filtered is None:
                # Every breaker is open: try the first candidate anyway rather than fail
                # without a single call; it doubles as the probe.
                try:
                    for gate in self.gates:
                        await gate(ex, cands[0])
                    return await attempt(cands[0], deadline)
                except OpenClawError as exc:
                    last = exc
                    if not _retryable(exc):
                        raise self._final(ex, exc) from exc
            if filtered is not None and last is None:
                break  # everything left filtered it: nothing to retry
            if round_no == spec.max_retries:
                break
            delay = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**round_no))
            ra = getattr(last, "retry_after", None)
            if isinstance(ra, (int, float)) and ra > 0:
                delay = max(delay, min(float(ra), RETRY_AFTER_CAP))
            if self.clock.monotonic() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        if filtered is not None and filtered.response is not None:
            return filtered.response  # type: ignore[return-value]
        raise self._final(
            ex, last or ServiceUnavailable("no deployment is available (all breakers open)")
        )

    @staticmethod
    def _final(ex: Exchange, exc: OpenClawError) -> OpenClawError:
        """The error a caller sees once dispatch gives up.

        A request kept local because of sensitive data gets a 503 that says why nothing
        else was tried, rather than a provider error that invites a retry elsewhere.
        """
        ex.error = exc
        if ex.local_only and isinstance(exc, UpstreamError):
            err = ServiceUnavailable(
                f"the sensitive model '{ex.alias}' is unavailable ({exc.message}); this request "
                "contains sensitive data, so it was not sent to a remote model",
                code="sensitive_model_unavailable",
            )
            err.__cause__ = exc
            return err
        return exc

    # -- non-streaming -------------------------------------------------------------
    async def complete(self, ex: Exchange) -> Json:
        if ex.api == "embeddings":
            return await self.embed(ex)

        async def attempt(c: Candidate, deadline: float) -> Json:
            t0 = self.clock.monotonic()
            try:
                resp = await c.provider.complete(self._call(ex, c, deadline))
            except OpenClawError as exc:
                if _is_content_filter_error(exc) and c.spec.on_content_filter == "fallback":
                    self._record(ex, c, t0, None, outcome="content_filter")
                    raise ContentFiltered(None) from exc
                self._record(ex, c, t0, exc)
                raise
            if _finish_reason(resp) == "content_filter":
                self._record(ex, c, t0, None, outcome="content_filter")
                if c.spec.on_content_filter == "fallback":
                    self._accept(ex, c, resp)
                    raise ContentFiltered(resp)
            else:
                self._record(ex, c, t0, None)
            self.latency.observe(c.key, (self.clock.monotonic() - t0) * 1000.0)
            if _wants_json(ex.body) and not _is_json(resp):
                resp = await self._repair_json(ex, c, deadline, resp)
            self._accept(ex, c, resp)
            return resp

        ex.error = None
        resp = await self._run(ex, attempt)
        ex.error = None
        return resp

    async def embed(self, ex: Exchange) -> Json:
        """An embeddings request: the same passes and breakers, ``provider.embed`` calls."""

        async def attempt(c: Candidate, deadline: float) -> Json:
            t0 = self.clock.monotonic()
            try:
                resp = await c.provider.embed(self._call(ex, c, deadline))
            except OpenClawError as exc:
                self._record(ex, c, t0, exc)
                raise
            self._record(ex, c, t0, None)
            self.latency.observe(c.key, (self.clock.monotonic() - t0) * 1000.0)
            self._accept(ex, c, resp)
            return resp

        ex.error = None
        resp = await self._run(ex, attempt)
        ex.error = None
        return resp

    def _accept(self, ex: Exchange, c: Candidate, resp: Json) -> None:
        self._served(ex, c)
        usage = resp.get("usage") or {}
        ex.prompt_tokens = usage.get("prompt_tokens")
        ex.completion_tokens = usage.get("completion_tokens")
        ex.cost_usd = self.cost(c, ex.prompt_tokens, ex.completion_tokens)

    async def _repair_json(self, ex: Exchange, c: Candidate, deadline: float, bad: Json) -> Json:
        content = _content(bad)
        body = dict(ex.body)
        body["messages"] = [
            *list(ex.body.get("messages") or []),
            {"role": "assistant", "content": content},
            {"role": "user", "content": JSON_REPAIR_PROMPT},
        ]
        t0 = self.clock.monotonic()
        try:
            fixed = await c.provider.complete(self._call(ex, c, deadline, body))
        except OpenClawError as exc:
            self._record(ex, c, t0, exc)
            raise
        if not _is_json(fixed):
            self._record(ex, c, t0, None, outcome="invalid_json")
            raise UpstreamError(
                f"the model's answer is not valid JSON, also after one repair attempt "
                f"(provider '{c.provider.name}', model '{c.deployment.model}')",
                code="invalid_json_output",
                retryable=False,
            )
        self._record(ex, c, t0, None, outcome="ok_repaired")
        ex.audit.json_repaired = True
        return fixed

    # -- streaming ---------------------------------------------------------------
    async def stream(self, ex: Exchange) -> AsyncGenerator[Json, None]:
        async def attempt(
            c: Candidate, deadline: float
        ) -> tuple[Candidate, AsyncIterator[Json], Json, float]:
            t0 = self.clock.monotonic()
            agen = c.provider.stream(self._call(ex, c, deadline))
            try:
                first = await agen.__anext__()
            except StopAsyncIteration:
                exc = UpstreamError(f"provider '{c.provider.name}' sent an empty stream")
                self._record(ex, c, t0, exc)
                raise exc from None
            except OpenClawError as exc:
                self._record(ex, c, t0, exc)
                await aclose(agen)
                raise
            return c, agen, first, t0

        ex.error = None
        c, agen, first, t0 = await self._run(ex, attempt)
        ex.error = None
        self._served(ex, c)
        self.latency.observe(c.key, (self.clock.monotonic() - t0) * 1000.0)
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


def _is_content_filter_error(exc: OpenClawError) -> bool:
    return exc.code == "content_filter"


def _finish_reason(resp: Json) -> str | None:
    choices = resp.get("choices") or []
    if choices and isinstance(choices[0], dict):
        fr = choices[0].get("finish_reason")
        return fr if isinstance(fr, str) else None
    return None


def _content(resp: Json) -> str:
    choices = resp.get("choices") or []
    if choices and isinstance(choices[0], dict):
        msg = choices[0].get("message") or {}
        c = msg.get("content")
        return c if isinstance(c, str) else ""
    return ""


def _wants_json(body: Json) -> bool:
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")


def _is_json(resp: Json) -> bool:
    text = _content(resp).strip()
    if not text:
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True
