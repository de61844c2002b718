"""The gateway pipeline: one ordered chain every request passes through, one owner of its life.

    ingress (parse wire -> Exchange) -> stages in order (limits, policies, cache...)
        -> dispatch -> response filters (drafts, pseudonym restore) -> audit
        -> ingress (render Exchange -> wire)

:meth:`Gateway.run` is the single entry point. HTTP ingresses, skills, the Slack bot, the
terminal and refusals at the door all call it (in-process callers through :meth:`chat`), and
it guarantees on every exit path (success, refusal, upstream error, client gone mid-stream,
exception) that every stage's ``release`` runs once and the exchange gets exactly one audit
record, written before the last byte of the answer goes out.

A :class:`~openclaw.pipeline.stage.Stage` sees the :class:`Exchange` before dispatch and may
reroute it, refuse it, or answer it itself by setting ``ex.response``. An enforcing stage that
crashes fails the request closed (503); it never lets the request through. This module builds
nothing: :mod:`openclaw.assembly` hands it the stages, the dispatcher and the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence

import orjson

from openclaw.audit import AuditLog
from openclaw.audit.record import AuditRecord
from openclaw.config import Config
from openclaw.errors import OpenClawError, ServiceUnavailable, UpstreamError
from openclaw.pipeline.exchange import CLIENT_CLOSED, Exchange, Json
from openclaw.pipeline.record import build_record
from openclaw.pipeline.stage import ClientGone, Dispatch, EventRelay, Responder, Stage, Tracer
from openclaw.providers.base import Provider, chunk
from openclaw.state.shared import GatewayState

log = logging.getLogger("openclaw.gateway")

Observer = Callable[[Exchange, AuditRecord], None]
Hook = Callable[[Exchange], Awaitable[None]]
Selector = Callable[[str | None, str | None], str]


def _stage_hooks(stages: Sequence[Stage], attr: str) -> list[tuple[str, Hook]]:
    return [(s.name, h) for s in stages if (h := getattr(s, attr, None)) is not None]


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


class Gateway:
    """One assembled configuration: its stages, dispatcher, audit log and observers."""

    def __init__(
        self,
        config: Config,
        *,
        stages: Sequence[Stage],
        dispatcher: Dispatch,
        select: Selector,
        audit: AuditLog,
        providers: dict[str, Provider],
        state: GatewayState,
        events: EventRelay | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.config = config
        self.stages = list(stages)
        self.dispatcher = dispatcher
        self.select = select
        self.audit = audit
        self.providers = providers
        self.state = state
        self.events = events if events is not None else EventRelay()
        self.tracer = tracer
        self.observers: list[Observer] = []  # metrics, dashboards, events: see every record
        self.audit_required = False  # set by an enforced audit policy
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
        ex.audit.request_sha256 = hashlib.sha256(
            raw if raw is not None else orjson.dumps(body)
        ).hexdigest()
        return ex

    # -- the one entry point ----------------------------------------------------------
    async def run(self, ex: Exchange, out: Responder) -> None:
        """Run ``ex`` through the pipeline and render the outcome through ``out``.

        An exchange that arrives failed (``ex.error`` set: refused at the door, or its body
        did not parse) skips the stages and is recorded and refused the same way.
        """
        ended = False
        if self.tracer is not None:
            try:
                self.tracer.begin(ex)
            except Exception:
                log.exception("tracer failed")

        async def end() -> None:
            nonlocal ended
            if not ended:
                ended = True
                try:
                    await self._hooks(self._release, ex)
                    for hook in ex.record_hooks:
                        try:
                            await hook()
                        except Exception:
                            log.exception("a record hook failed for %s", ex.request_id)
                finally:
                    self._record(ex)  # even if the hooks were cancelled: every request is kept

        try:
            if ex.error is not None:
                await end()
                await out.refuse(ex, ex.error)
            elif ex.stream:
                await self._run_stream(ex, out, end)
            else:
                try:
                    resp = await self._complete(ex)
                except OpenClawError as exc:
                    await end()
                    await out.refuse(ex, exc)
                    return
                await end()
                await out.answer(ex, resp)
        except BaseException as exc:
            # The client went away (the handler is cancelled, or a write failed), or a bug:
            # either way the exchange still ends here, with its record.
            if isinstance(exc, asyncio.CancelledError | ConnectionResetError):
                ex.status = CLIENT_CLOSED
                if isinstance(exc, ClientGone):
                    ex.audit.client_gone = exc.reason
            elif ex.error is None or not isinstance(exc, OpenClawError):
                log.exception("request %s failed", ex.request_id)
                ex.fail(OpenClawError(f"internal error ({type(exc).__name__}); see the daemon log"))
            if ex.stream:
                ex.stream_cut = True
            await end()
            raise

    async def _run_stream(
        self, ex: Exchange, out: Responder, end: Callable[[], Awaitable[None]]
    ) -> None:
        chunks = self._stream(ex)
        try:
            try:
                first = await chunks.__anext__()
            except OpenClawError as exc:
                await end()
                await out.refuse(ex, exc)
                return
            await out.open(ex)
            ex.ttft_ms = ex.latency_ms
            await out.send(ex, first)
            try:
                async for ch in chunks:
                    await out.send(ex, ch)
            except OpenClawError as exc:
                await end()
                await out.cut(ex, exc)
                return
        finally:
            await chunks.aclose()
        await end()
        await out.close(ex)

    async def chat(
        self,
        body: Json,
        *,
        service: str = "default",
        channel: str | None = None,
        task: str | None = None,
        skill: Json | None = None,
        skill_audit: Json | None = None,
    ) -> Json:
        """Run a non-streaming request through the full pipeline and return the response.

        For in-process callers (skills, Slack, the terminal). Raises the refusal or the
        upstream error as an :class:`OpenClawError`, after its audit record is written.
        """
        ex = self.exchange(dict(body, stream=False), service=service, channel=channel, task=task)
        ex.skill = skill
        ex.skill_audit = skill_audit
        out = Collect()
        await self.run(ex, out)
        if out.error is not None:
            raise out.error
        assert out.response is not None
        return out.response

    async def dry_run(self, ex: Exchange) -> OpenClawError | None:
        """What the side-effect-free stages decide for ``ex``, without dispatch or audit.

        Runs only the stages that declare ``dry_run = True`` (the policies), so a check
        spends no rate limit and touches no cache. Returns the refusal, if any.
        """
        ex.alias = self.select(ex.requested_model, ex.task)
        for stage in self.stages:
            if not getattr(stage, "dry_run", False):
                continue
            try:
                await stage.before(ex)
            except OpenClawError as exc:
                return exc
        return None

    # -- the pipeline itself --------------------------------------------------------------
    async def prepare(self, ex: Exchange) -> None:
        """Select the alias and run every stage; raises to refuse the request."""
        ex.alias = self.select(ex.requested_model, ex.task)
        for stage in self.stages:
            t0 = time.perf_counter()
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
            finally:
                ex.stage_timings.append((stage.name, t0, (time.perf_counter() - t0) * 1000.0))
            if ex.response is not None:
                break

    async def _complete(self, ex: Exchange) -> Json:
        try:
            await self.prepare(ex)
            if ex.response is None:
                ex.response = await self.dispatcher.complete(ex)
            resp = ex.response
            for f in ex.response_filters:
                resp = f(resp)
            resp["openclaw"] = self.facts(ex)
            ex.response = resp
            ex.audit.response_sha256 = hashlib.sha256(orjson.dumps(resp.get("choices"))).hexdigest()
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

    async def _hooks(self, hooks: list[tuple[str, Hook]], ex: Exchange) -> None:
        for name, hook in hooks:
            try:
                await hook(ex)
            except Exception:
                log.exception("the '%s' stage failed after request %s", name, ex.request_id)

    async def _stream(self, ex: Exchange) -> AsyncGenerator[Json, None]:
        """The stream itself: OpenAI chunks; the final one carries the ``openclaw`` facts.

        Preparation errors raise before the first chunk (so the ingress can still send a
        proper HTTP error). A failure after the first chunk raises from the iterator with
        ``ex.stream_cut`` set; the ingress ends the stream with an error event.
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
        ex.audit.response_sha256 = hasher.hexdigest()
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

    def _record(self, ex: Exchange) -> None:
        """Write the audit record and tell the observers (metrics, dashboard, channels)."""
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
        if self.tracer is not None:
            try:
                self.tracer.end(ex, record)
            except Exception:
                log.exception("tracer failed")

    async def aclose(self) -> None:
        for p in self.providers.values():
            await p.aclose()
        for stage in self.stages:
            close = getattr(stage, "aclose", None)
            if close is not None:
                await close()
        await self.state.aclose()


class Collect:
    """The in-process responder: keeps the answer or the error for :meth:`Gateway.chat`."""

    def __init__(self) -> None:
        self.response: Json | None = None
        self.error: OpenClawError | None = None

    async def answer(self, ex: Exchange, resp: Json) -> None:
        self.response = resp

    async def refuse(self, ex: Exchange, exc: OpenClawError) -> None:
        self.error = exc

    async def open(self, ex: Exchange) -> None:
        raise OpenClawError("in-process callers do not stream")

    async def send(self, ex: Exchange, chunk: Json) -> None:
        raise OpenClawError("in-process callers do not stream")

    async def close(self, ex: Exchange) -> None:
        return None

    async def cut(self, ex: Exchange, exc: OpenClawError) -> None:
        self.error = exc


async def _replay(resp: Json) -> AsyncIterator[Json]:
    """Turn a complete response (e.g. from the cache) into a stream of chunks."""
    cid, created, model = (
        resp.get("id", "chatcmpl-replay"),
        resp.get("created", 0),
        resp.get("model", ""),
    )
    choice = (resp.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    yield chunk(cid, model, created, {"role": "assistant", "content": ""})
    # Thinking first, as the model sent it: the text, then the signed blocks a later turn
    # must send back to Anthropic.
    if msg.get("reasoning_content"):
        yield chunk(cid, model, created, {"reasoning_content": msg["reasoning_content"]})
    if msg.get("thinking_blocks"):
        yield chunk(cid, model, created, {"thinking_blocks": msg["thinking_blocks"]})
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
