"""The gateway pipeline: one ordered chain every request passes through.

    auth (server) -> stages in order (limits, policies, cache...) -> dispatch
        -> response filters (drafts, pseudonym restore) -> audit

A :class:`Stage` sees the :class:`Exchange` before dispatch and may reroute it, refuse it, or
answer it itself by setting ``ex.response``. An enforcing stage that crashes fails the
request closed (503); it never lets the request through. The audit record is written before
the last byte of a response is sent, so a response the client has seen always has a record.
The same object serves HTTP requests, the Slack bot, the terminal and skills (:meth:`chat`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Protocol

import orjson

from openclaw.audit import AuditLog
from openclaw.config import Config
from openclaw.errors import OpenClawError, ServiceUnavailable, UpstreamError
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.pipeline.record import build_record
from openclaw.policies.scrub import ErrorScrubber
from openclaw.providers.base import Provider
from openclaw.providers.registry import build_providers
from openclaw.routing.breaker import Breakers
from openclaw.routing.dispatch import Dispatcher
from openclaw.routing.select import ModelSelector
from openclaw.routing.strategies import LatencyTracker

log = logging.getLogger("openclaw.gateway")


class Stage(Protocol):
    """A pipeline stage. Besides ``before``, a stage may define (found with getattr):

    - ``async def after(ex)``: after a successful answer (complete: after the response
      filters; stream: after the last upstream chunk, before the final one), e.g. to store
      it in a cache;
    - ``async def release(ex)``: exactly once when the exchange ends, however it ends
      (success, error, refusal by an earlier stage, client gone), e.g. to free a
      concurrency slot or settle token usage. Per-request state goes in ``ex.scratch``.

    Errors in either are logged, never raised: the answer is already decided.
    """

    name: str

    async def before(self, ex: Exchange) -> None: ...


Observer = Callable[[Exchange, Json], None]
Hook = Callable[[Exchange], Awaitable[None]]
StageFactory = Callable[["Gateway"], list[Stage]]

#: Factories that build the pipeline's stages from config, in order. Other packages append
#: theirs at import time (limits, policies, cache) so this module names none of them.
STAGE_FACTORIES: list[tuple[int, StageFactory]] = []


def register_stage_factory(order: int, factory: StageFactory) -> None:
    STAGE_FACTORIES.append((order, factory))
    STAGE_FACTORIES.sort(key=lambda t: t[0])


def _stage_hooks(stages: list[Stage], attr: str) -> list[tuple[str, Hook]]:
    return [(s.name, h) for s in stages if (h := getattr(s, attr, None)) is not None]


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


class Gateway:
    def __init__(
        self,
        config: Config,
        *,
        audit: AuditLog | None = None,
        providers: dict[str, Provider] | None = None,
        breakers: Breakers | None = None,
        latency: LatencyTracker | None = None,
    ) -> None:
        self.config = config
        self.providers = providers if providers is not None else build_providers(config.models)
        self.selector = ModelSelector(config.models, config.default_alias)
        self.dispatcher = Dispatcher(
            config.models, self.providers, breakers=breakers, latency=latency
        )
        b = config.models.breaker
        self.dispatcher.breakers.configure(b.failures, b.cooldown_seconds)
        self.audit = audit or AuditLog.from_settings(
            config.home / "audit.log",
            config.policies.audit,
            scrub=ErrorScrubber(config.policies.pii.language),
        )
        self.observers: list[Observer] = []  # metrics, dashboards, events: see every record
        self.audit_required = False  # set by an enforced audit policy
        _load_builtin_stages()
        load_plugins(config.policies.plugins)
        self.stages: list[Stage] = []
        for _order, factory in STAGE_FACTORIES:
            self.stages.extend(factory(self))
        self._after = _stage_hooks(self.stages, "after")
        self._release = _stage_hooks(self.stages, "release")

    # -- building an exchange ------------------------------------------------------
    def exchange(
        self,
        body: Json,
        *,
        service: str = "default",
        channel: str | None = None,
        task: str | None = None,
        request_id: str | None = None,
        raw: bytes | None = None,
        client_ip: str | None = None,
    ) -> Exchange:
        meta = body.get("metadata")
        if task is None and isinstance(meta, dict):
            t = meta.get("task")
            task = t if isinstance(t, str) else None
        model = body.get("model")
        stream = bool(body.get("stream"))
        opts = body.get("stream_options")
        ex = Exchange(
            request_id=request_id or new_request_id(),
            body=body,
            service=service,
            channel=channel,
            task=task,
            stream=stream,
            include_usage=bool(isinstance(opts, dict) and opts.get("include_usage")),
            requested_model=model if isinstance(model, str) and model else None,
            client_ip=client_ip,
        )
        ex.audit_extra["request_sha256"] = hashlib.sha256(
            raw if raw is not None else orjson.dumps(body)
        ).hexdigest()
        return ex

    # -- the pipeline ----------------------------------------------------------------
    async def prepare(self, ex: Exchange) -> None:
        """Select the alias and run every stage; raises to refuse the request."""
        ex.alias = self.selector.select(ex.requested_model, ex.task)
        for stage in self.stages:
            try:
                await stage.before(ex)
            except OpenClawError:
                raise
            except Exception as exc:
                log.exception("stage %s crashed; failing the request closed", stage.name)
                raise ServiceUnavailable(
                    f"the '{stage.name}' stage failed ({type(exc).__name__}); "
                    "the request was refused rather than let through unchecked",
                    code="policy_error",
                ) from exc
            if ex.response is not None:
                break

    async def complete(self, ex: Exchange) -> Json:
        try:
            await self.prepare(ex)
            if ex.response is None:
                ex.response = await self.dispatcher.complete(ex)
            resp = ex.response
            for f in ex.response_filters:
                resp = f(resp)
            resp["openclaw"] = self.facts(ex)
            ex.response = resp
            ex.audit_extra["response_sha256"] = hashlib.sha256(
                orjson.dumps(resp.get("choices"))
            ).hexdigest()
            await self._hooks(self._after, ex)
            return resp
        except OpenClawError as exc:
            ex.fail(exc)
            raise
        except Exception as exc:
            log.exception("unexpected error in request %s", ex.request_id)
            err = OpenClawError(f"internal error ({type(exc).__name__}); see the daemon log")
            ex.fail(err)
            raise err from exc
        finally:
            await self._hooks(self._release, ex)

    async def _hooks(self, hooks: list[tuple[str, Hook]], ex: Exchange) -> None:
        for name, hook in hooks:
            try:
                await hook(ex)
            except Exception:
                log.exception("the '%s' stage failed after request %s", name, ex.request_id)

    async def stream(self, ex: Exchange) -> AsyncGenerator[Json, None]:
        """Yield OpenAI chunks; the final one carries the ``openclaw`` facts.

        Stages' ``release`` hooks run when the stream ends, however it ends.
        """
        inner = self._stream(ex)
        try:
            async for ch in inner:
                yield ch
        finally:
            await inner.aclose()
            await self._hooks(self._release, ex)

    async def _stream(self, ex: Exchange) -> AsyncGenerator[Json, None]:
        """The stream itself.

        Preparation errors raise before the first chunk (so the server can still send a
        proper HTTP error). A failure after the first chunk raises from the iterator with
        ``ex.stream_cut`` set; the caller ends the stream with an error event.
        """
        try:
            await self.prepare(ex)
        except OpenClawError as exc:
            ex.fail(exc)
            raise
        hasher = hashlib.sha256()
        source: AsyncIterator[Json]
        if ex.response is not None:
            source = _replay(ex.response)
        else:
            source = self.dispatcher.stream(ex)
        held: Json | None = None
        try:
            async for ch in source:
                for f in ex.chunk_filters:
                    ch = f(ch)
                choices = ch.get("choices") or []
                for c in choices:
                    delta = c.get("delta") or {}
                    content = delta.get("content")
                    if content:
                        hasher.update(content.encode())
                        ex.chars_sent += len(content)
                if not choices:
                    # A usage-only chunk goes only to clients that asked for it; others get
                    # the facts on the finish chunk, since code like chunk.choices[0] breaks
                    # on a chunk without choices.
                    if ex.include_usage:
                        if held is not None:
                            yield held
                        held = ch
                    continue
                if any(c.get("finish_reason") for c in choices):
                    if held is not None:
                        yield held
                    held = ch
                    continue
                if held is not None:
                    yield held
                    held = None
                ex.chunks_sent += 1
                yield ch
        except OpenClawError as exc:
            ex.stream_cut = ex.chunks_sent > 0
            ex.fail(exc)
            raise
        except Exception as exc:
            log.exception("unexpected error in stream %s", ex.request_id)
            ex.stream_cut = ex.chunks_sent > 0
            err = UpstreamError(f"stream failed ({type(exc).__name__})")
            ex.fail(err)
            raise err from exc
        ex.audit_extra["response_sha256"] = hasher.hexdigest()
        await self._hooks(self._after, ex)
        final = held if held is not None else _empty_chunk(ex)
        final["openclaw"] = self.facts(ex) | ex.final_chunk_extra
        ex.chunks_sent += 1
        yield final

    def facts(self, ex: Exchange) -> Json:
        out: Json = {
            "request_id": ex.request_id,
            "model": ex.alias,
            "provider": ex.provider,
            "provider_model": ex.provider_model,
            "draft": ex.draft,
        }
        if ex.fallback_from:
            out["fallback_from"] = ex.fallback_from
        if ex.decisions:
            out["policies"] = [d.to_dict() for d in ex.decisions]
        if ex.cache:
            out["cache"] = ex.cache
        return out

    def headers(self, ex: Exchange) -> dict[str, str]:
        h = {"X-OpenClaw-Request-Id": ex.request_id}
        if ex.alias:
            h["X-OpenClaw-Model"] = ex.alias
        if ex.provider:
            h["X-OpenClaw-Provider"] = ex.provider
        if ex.decisions:
            h["X-OpenClaw-Policy"] = ", ".join(d.header() for d in ex.decisions)
        h.update(ex.response_headers)
        return h

    def finish(self, ex: Exchange) -> None:
        """Write the audit record. Called before the response's last byte is sent."""
        record = build_record(ex)
        try:
            self.audit.write(record)
        except OpenClawError:
            log.error("audit write failed for %s: %s", ex.request_id, self.audit.last_error)
        for obs in self.observers:
            try:
                obs(ex, record)
            except Exception:
                log.exception("observer failed")

    # -- in-process callers (skills, channels) -------------------------------------------
    async def chat(
        self,
        body: Json,
        *,
        service: str = "default",
        channel: str | None = None,
        task: str | None = None,
        skill: Json | None = None,
    ) -> Json:
        """Run a non-streaming request through the full pipeline and return the response."""
        ex = self.exchange(dict(body, stream=False), service=service, channel=channel, task=task)
        ex.skill = skill
        try:
            return await self.complete(ex)
        finally:
            self.finish(ex)

    async def aclose(self) -> None:
        for p in self.providers.values():
            await p.aclose()
        for stage in self.stages:
            close = getattr(stage, "aclose", None)
            if close is not None:
                await close()


async def _replay(resp: Json) -> AsyncIterator[Json]:
    """Turn a complete response (e.g. from the cache) into a stream of chunks."""
    from openclaw.providers.base import chunk

    cid, created, model = (
        resp.get("id", "chatcmpl-replay"),
        resp.get("created", 0),
        resp.get("model", ""),
    )
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    yield chunk(cid, model, created, {"role": "assistant", "content": ""})
    if msg.get("content"):
        yield chunk(cid, model, created, {"content": msg["content"]})
    if msg.get("tool_calls"):
        calls = [dict(tc, index=i) for i, tc in enumerate(msg["tool_calls"])]
        yield chunk(cid, model, created, {"tool_calls": calls})
    yield chunk(cid, model, created, {}, choice.get("finish_reason") or "stop")
    if resp.get("usage"):
        last = chunk(cid, model, created, {}, usage=resp["usage"])
        last["choices"] = []
        yield last


def _empty_chunk(ex: Exchange) -> Json:
    return {
        "id": f"chatcmpl-{ex.request_id}",
        "object": "chat.completion.chunk",
        "created": int(ex.ts),
        "model": ex.provider_model or "",
        "choices": [],
    }


_loaded = False


def _load_builtin_stages() -> None:
    """Import the packages that contribute stages (they register on import)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import openclaw.cache.stage
    import openclaw.limits.stage
    import openclaw.policies.engine  # noqa: F401


def load_plugins(modules: list[str]) -> None:
    """Import plugin modules (custom rules, providers, stages register themselves on import).

    Named in ``plugins:`` in policies.yaml, or ``OPENCLAW_PLUGINS`` (comma-separated), so a
    daemon started by a service manager finds them without a shell environment.
    """
    import importlib
    import os

    names = list(modules) + [
        m.strip() for m in os.environ.get("OPENCLAW_PLUGINS", "").split(",") if m.strip()
    ]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            from openclaw.errors import ConfigError

            raise ConfigError(
                f"policies.yaml: plugins: cannot import '{name}' ({type(exc).__name__}: {exc}); "
                "check that the module is installed or on PYTHONPATH"
            ) from None
