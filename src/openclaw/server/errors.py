"""The one place errors become HTTP responses: ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from openclaw.errors import OpenClawError

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


def error_response(exc: OpenClawError, extra_headers: dict[str, str] | None = None) -> web.Response:
    headers = dict(exc.headers)
    if extra_headers:
        headers.update(extra_headers)
    return web.Response(
        body=orjson.dumps(exc.to_dict()),
        status=exc.status,
        content_type="application/json",
        headers=headers,
    )


def http_error(status: int, message: str) -> OpenClawError:
    etype, code = _HTTP_TYPES.get(status, ("server_error", "internal_error"))
    err = OpenClawError(message, code=code, status=status)
    err.type = etype
    return err


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OpenClawError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        return error_response(
            http_error(
                413,
                f"request body is larger than the limit of {limit} bytes "
                "(security.max_body_bytes in policies.yaml)",
            )
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            msg = f"no route for {request.method} {request.path}"
        elif exc.status == 405:
            msg = f"method {request.method} is not allowed on {request.path}"
        else:
            msg = exc.reason
        resp = error_response(http_error(exc.status, msg))
        if exc.status == 405 and "Allow" in exc.headers:
            resp.headers["Allow"] = exc.headers["Allow"]
        return resp
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(OpenClawError("internal error; see the daemon log"))
