"""The one place errors become HTTP responses: ``{"error": {message, type, param, code}}``.

Except for Anthropic clients on ``/v1/messages``: a request there that says
``anthropic-version`` (every Anthropic SDK and Claude Code send it; Anthropic's API requires
it) gets every error, a door refusal included, in Anthropic's shape
(``{"type": "error", "error": {type, message}}``); :func:`anthropic_client` decides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from openclaw.errors import OpenClawError
from openclaw.ingress import render_messages_error
from openclaw.pipeline.gateway import Collect
from openclaw.server.ingress import (
    API_BY_PATH,
    EXCHANGE_MADE,
    MODEL_PATHS,
    PASSED_DOOR,
    SERVICE_IDENTITY,
    STATE,
    HttpResponder,
)
from openclaw.server.messages import MessagesResponder, anthropic_client
from openclaw.server.state import AppState

log = logging.getLogger("openclaw.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
}


def error_response(
    exc: OpenClawError,
    extra_headers: dict[str, str] | None = None,
    *,
    request: web.Request | None = None,
) -> web.Response:
    headers = dict(exc.headers)
    if extra_headers:
        headers.update(extra_headers)
    anthropic = request is not None and anthropic_client(request)
    body = render_messages_error(exc)[1] if anthropic else exc.to_dict()
    return web.Response(
        body=orjson.dumps(body),
        status=exc.status,
        content_type="application/json",
        headers=headers,
    )


def http_error(status: int, message: str) -> OpenClawError:
    etype, code = _HTTP_TYPES.get(status, ("server_error", "internal_error"))
    err = OpenClawError(message, code=code, status=status)
    err.type = etype
    return err


async def audit_refusal(request: web.Request, exc: OpenClawError) -> web.Response:
    """Refuse a model request that has no exchange yet, through the pipeline's entry point.

    Every ``POST /v1/...`` refused at the door (bad or missing token, foreign Host or Origin,
    IP lists) and every request refused before its ingress made an exchange (malformed JSON,
    schema errors, a body over the limit) gets an audit record like any other request, with
    ``refused_at`` saying where. The service is only taken from the request once the caller
    has authenticated. Anything else gets the plain error response.
    """
    if request.method != "POST" or not request.path.startswith("/v1/"):
        return error_response(exc, request=request)
    passed = bool(request.get(PASSED_DOOR))
    if request.get(EXCHANGE_MADE) or (passed and request.path not in MODEL_PATHS):
        return error_response(exc, request=request)
    try:
        st = request.app[STATE]
        gw = st.gateway
        if passed:
            claimed = request.headers.get("X-OpenClaw-Service") or "default"
            service = request.get(SERVICE_IDENTITY) or claimed[:64]
        else:
            service = "unauthenticated"
            address = request.remote or "unknown"
            reason = exc.code or exc.type
            if not st.refusals.admit(reason, address):
                if st.refusals.count(reason, address, exc, request.path[:128]):
                    gw.events.emit(
                        "refusal_spike",
                        {
                            "reason": reason,
                            "source": address,
                            "count": st.refusals.per_minute + 1,
                            "window_seconds": st.refusals.window,
                        },
                        key=f"{reason}|{address}",
                    )
                return error_response(
                    exc, request=request
                )  # counted: the next summary record says so
        ex = gw.exchange({}, service=service, raw=b"", client_ip=request.remote)
        ex.requested_model = None
        ex.api = API_BY_PATH.get(request.path, ex.api)
        ex.audit.refused_at = "pipeline_entry" if passed else "door"
        ex.audit.path = request.path[:128]
        ex.audit.request_sha256 = None  # the body was not read (or not valid)
        ex.fail(exc)
        out = (MessagesResponder if anthropic_client(request) else HttpResponder)(request, gw)
        await gw.run(ex, out)
        return out.refusal()
    except Exception:  # the refusal stands even if its record cannot be written
        log.exception("could not audit a refused request to %s", request.path)
        return error_response(exc, request=request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OpenClawError as exc:
        return await audit_refusal(request, exc)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        err = http_error(
            413,
            f"request body is larger than the limit of {limit} bytes "
            "(security.max_body_bytes in policies.yaml)",
        )
        return await audit_refusal(request, err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            msg = f"no route for {request.method} {request.path}"
        elif exc.status == 405:
            msg = f"method {request.method} is not allowed on {request.path}"
        else:
            msg = exc.reason
        resp = error_response(http_error(exc.status, msg), request=request)
        if exc.status == 405 and "Allow" in exc.headers:
            resp.headers["Allow"] = exc.headers["Allow"]
        return resp
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(OpenClawError("internal error; see the daemon log"), request=request)


async def write_refusal_summaries(st: AppState) -> int:
    """One audit record per held (reason, address): how many refusals it stands for."""
    gw = st.gateway
    written = 0
    for address, held in st.refusals.take():
        ex = gw.exchange({}, service="unauthenticated", raw=b"", client_ip=address)
        ex.requested_model = None
        ex.audit.request_sha256 = None
        ex.audit.refused_at = "door"
        ex.audit.path = held.path
        ex.audit.refusals_summarised = held.count
        ex.audit.since = round(held.since, 3)
        ex.fail(held.error)
        await gw.run(ex, Collect())
        written += 1
    return written
