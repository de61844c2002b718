"""``POST /v1/chat/completions``: JSON in, the pipeline, JSON or SSE out.

For streams the first chunk is awaited before any header goes out, so everything that can
fail before the model answers (bad model, policy refusal, every deployment down) still gets a
proper HTTP status. After that, a failure ends the stream with an OpenAI-shaped error event.
The audit record is written before the final ``[DONE]`` (or before the JSON body), so a
client that saw a complete response always has its record. If the client goes away, the
handler is cancelled, which cancels the upstream call, and the record says status 499.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from openclaw.errors import InvalidRequest, OpenClawError, PermissionDenied
from openclaw.server.schema import validate_chat
from openclaw.skills.attach import SKILL_HEADER, attach_skill, resolve_skill, skill_record

if TYPE_CHECKING:
    from openclaw.pipeline.exchange import Exchange
    from openclaw.pipeline.gateway import Gateway

CLIENT_CLOSED = 499
log = logging.getLogger("openclaw.server")
#: Set by the auth middleware when the bearer token is a service's token (its name). A typed
#: key where aiohttp has them (it warns about plain string keys), else the string.
SERVICE_IDENTITY: Any = (
    web.RequestKey("openclaw_service", str) if hasattr(web, "RequestKey") else "openclaw_service"
)
#: Set once the request has an exchange, whose audit record the handler writes; until then a
#: refusal is audited by the error middleware (:func:`openclaw.server.errors.audit_refusal`).
EXCHANGE_MADE: Any = (
    web.RequestKey("openclaw_exchange", bool) if hasattr(web, "RequestKey") else "openclaw_exchange"
)
#: Set by the auth middleware when the request passed the security and auth checks.
PASSED_DOOR: Any = (
    web.RequestKey("openclaw_door", bool) if hasattr(web, "RequestKey") else "openclaw_door"
)


async def read_json(request: web.Request) -> tuple[object, bytes]:
    raw = await request.read()
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object", code="invalid_json")
    try:
        return orjson.loads(raw), raw
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"request body is not valid JSON ({exc})", code="invalid_json"
        ) from None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    from openclaw.server.app import STATE

    st = request.app[STATE]
    gw = st.gateway  # pin: a reload mid-request does not switch configs under us
    body, raw = await read_json(request)
    validate_chat(body)
    assert isinstance(body, dict)
    # -- issue 17 (skills branch): X-OpenClaw-Skill attaches an instruction-only skill.
    skill_name = request.headers.get(SKILL_HEADER)
    skill = await asyncio.to_thread(resolve_skill, st.home, skill_name) if skill_name else None
    if skill is not None:
        body = attach_skill(body, skill)
    # -- end issue 17
    claimed = request.headers.get("X-OpenClaw-Service")
    identity = request.get(SERVICE_IDENTITY)  # a service token's own name; None: gateway token
    ex = gw.exchange(
        body,
        service=identity or claimed or "default",
        channel=request.headers.get("X-OpenClaw-Channel"),
        task=request.headers.get("X-OpenClaw-Task"),
        raw=raw,
        client_ip=request.remote,
    )
    request[EXCHANGE_MADE] = True
    ex.skill = skill_record(skill) if skill is not None else None  # issue 17: audited by name
    ex.cache_control = request.headers.get("X-OpenClaw-Cache")
    if identity is not None:
        ex.audit_extra["auth"] = "service_token"
        if claimed and claimed != identity:
            ex.audit_extra["claimed_service"] = claimed[:64]
            err = PermissionDenied(
                f"this token belongs to service '{identity}'; it cannot act as '{claimed[:64]}' "
                "(drop the X-OpenClaw-Service header or use that service's token)",
                code="service_mismatch",
            )
            ex.fail(err)
            gw.finish(ex)
            from openclaw.server.errors import error_response

            return error_response(err, gw.headers(ex))
    if ex.stream:
        return await _stream(request, gw, ex)
    try:
        resp = await gw.complete(ex)
    except OpenClawError as exc:
        gw.finish(ex)
        from openclaw.server.errors import error_response

        return error_response(exc, gw.headers(ex))
    except asyncio.CancelledError:
        ex.status = CLIENT_CLOSED
        gw.finish(ex)
        raise
    payload = orjson.dumps(resp)
    gw.finish(ex)
    return web.Response(
        body=payload, status=200, content_type="application/json", headers=gw.headers(ex)
    )


async def _stream(request: web.Request, gw: Gateway, ex: Exchange) -> web.StreamResponse:
    from openclaw.server.errors import error_response

    chunks = gw.stream(ex)
    try:
        first = await chunks.__anext__()
    except OpenClawError as exc:
        gw.finish(ex)
        return error_response(exc, gw.headers(ex))
    except asyncio.CancelledError:
        ex.status = CLIENT_CLOSED
        gw.finish(ex)
        await chunks.aclose()
        raise
    except StopAsyncIteration:  # pragma: no cover - gateway always yields a final chunk
        gw.finish(ex)
        return error_response(OpenClawError("empty stream"), gw.headers(ex))

    resp = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            **gw.headers(ex),
        },
    )
    try:
        await resp.prepare(request)
        ex.ttft_ms = (time.perf_counter() - ex.started) * 1000.0
        await resp.write(b"data: " + orjson.dumps(first) + b"\n\n")
        async for ch in chunks:
            await resp.write(b"data: " + orjson.dumps(ch) + b"\n\n")
    except OpenClawError as exc:
        gw.finish(ex)
        await resp.write(b"data: " + orjson.dumps(exc.to_dict()) + b"\n\n")
        await resp.write_eof()
        return resp
    except BaseException as exc:
        # The client went away, or writing failed some other way: either way the stream is
        # cut, the audit record says so, and the pipeline's release hooks still run.
        if isinstance(exc, asyncio.CancelledError | ConnectionResetError):
            ex.status = CLIENT_CLOSED
        else:
            log.exception("streaming %s failed", ex.request_id)
            ex.fail(OpenClawError(f"internal error while streaming ({type(exc).__name__})"))
        ex.stream_cut = True
        gw.finish(ex)
        await chunks.aclose()
        raise
    gw.finish(ex)
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp
