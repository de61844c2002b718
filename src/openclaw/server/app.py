"""The aiohttp application: middlewares and the routes every client sees.

Middleware order (outermost first): errors -> IP lists, host/origin -> auth (the gateway
token, or a service token, which identifies its service: docs/limits.md). Routes that other
parts of the gateway contribute (metrics, dashboard, skills, Slack) come in as route
installers that the daemon passes to :func:`create_app` (``openclaw.daemon.ROUTES``), so this
module does not import them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from openclaw import __version__
from openclaw.errors import AuthenticationError, PermissionDenied
from openclaw.limits.ipfilter import ip_filter
from openclaw.server import openapi
from openclaw.server.auth import bearer, host_allowed, origin_allowed, token_matches
from openclaw.server.chat import chat_completions
from openclaw.server.embeddings import embeddings
from openclaw.server.errors import Handler, error_middleware, write_refusal_summaries
from openclaw.server.ingress import PASSED_DOOR, SERVICE_IDENTITY, STATE
from openclaw.server.messages import messages, messages_count_tokens
from openclaw.server.responses import responses
from openclaw.server.state import AppState
from openclaw.server.status import collect_status

#: Paths that need no token (liveness) or handle their own auth (Slack signatures,
#: the dashboard's one-time login).
PUBLIC_PATHS = {"/healthz", "/slack/events"}
PUBLIC_PREFIXES = ("/dashboard",)
#: What a service token (docs/limits.md) may call; everything else needs the gateway token.
SERVICE_PATHS = {
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/models",
    "/readyz",
}
#: ``GET /v1/models/{id}``: a service token may read one model as it may read the list.
SERVICE_PREFIXES = ("/v1/models/",)

#: Adds routes (and start/stop hooks) to the app; the daemon passes its list to create_app.
log = logging.getLogger("openclaw.server")

RouteInstaller = Callable[[web.Application, AppState], None]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    st = request.app[STATE]
    sec = st.config.policies.security
    if (sec.ip_allow or sec.ip_deny) and not ip_filter(
        tuple(sec.ip_allow), tuple(sec.ip_deny)
    ).allows(request.remote):
        raise PermissionDenied(
            f"requests from {request.remote} are refused by security.ip_allow / ip_deny "
            "in policies.yaml",
            code="ip_not_allowed",
        )
    if not host_allowed(request.headers.get("Host"), frozenset(sec.allowed_hosts)):
        raise PermissionDenied(
            "Host header is not a loopback name; refused to protect against DNS rebinding "
            "(add it to security.allowed_hosts in policies.yaml if this is intended)",
            code="host_not_allowed",
        )
    if not origin_allowed(request.headers.get("Origin"), frozenset(sec.allowed_origins)):
        raise PermissionDenied(
            "cross-site request refused: Origin is not this machine "
            "(add it to security.allowed_origins in policies.yaml if this is intended)",
            code="origin_not_allowed",
        )
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    st = request.app[STATE]
    path = request.path
    if st.auth and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
        throttle = st.config.policies.security.auth_throttle
        state = st.gateway.state
        await st.throttle.check(throttle, state, request.remote)
        # The Anthropic SDK and Claude Code send the key as x-api-key (or a bearer token).
        presented = bearer(request.headers.get("Authorization")) or (
            request.headers.get("x-api-key") or None
        )
        if presented is None:
            await st.throttle.failed(throttle, state, request.remote)
            raise AuthenticationError(
                "missing token: send 'Authorization: Bearer <token>' or 'x-api-key: <token>' "
                "(the token is in $OPENCLAW_HOME/gateway.token)",
                code="missing_api_key",
            )
        if not token_matches(presented, st.token):
            service = st.assembly.services.identify(presented)
            if service is None:
                await st.throttle.failed(throttle, state, request.remote)
                raise AuthenticationError("invalid bearer token", code="invalid_api_key")
            if path not in SERVICE_PATHS and not path.startswith(SERVICE_PREFIXES):
                raise PermissionDenied(
                    f"this is service '{service}'s token, which may call "
                    f"{', '.join(sorted(SERVICE_PATHS))}; {path} needs the gateway token",
                    code="gateway_token_required",
                )
            request[SERVICE_IDENTITY] = service
    request[PASSED_DOOR] = True
    return await handler(request)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    st = request.app[STATE]
    breakers = st.gateway.dispatcher.breakers.snapshot()
    body = {
        "status": "ready",
        "models": sorted(st.config.models.models),
        "breakers": breakers,
        "last_reload": st.last_reload.to_dict() if st.last_reload else None,
    }
    return json_response(body)


def model_object(st: AppState, alias: str) -> dict[str, Any]:
    spec = st.config.models.models[alias]
    return {
        "id": alias,
        "object": "model",
        "created": int(st.started),
        "owned_by": "openclaw",
        "openclaw": {
            "provider": spec.deployments[0].provider,
            "deployments": [f"{d.provider}/{d.model}" for d in spec.deployments],
            "use_for": spec.use_for,
            "strategy": spec.strategy,
            "kind": spec.kind,
            "default": alias == st.config.default_alias,
        },
    }


async def list_models(request: web.Request) -> web.Response:
    st = request.app[STATE]
    data = [model_object(st, alias) for alias in st.config.models.models]
    return json_response({"object": "list", "data": data})


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(openapi.document())


async def get_model(request: web.Request) -> web.Response:
    """``GET /v1/models/{id}``: an alias, or a provider model name one alias maps to."""
    st = request.app[STATE]
    alias = st.gateway.select(request.match_info["model_id"], None)
    return json_response(model_object(st, alias))


async def status(request: web.Request) -> web.Response:
    st = request.app[STATE]
    return json_response(await collect_status(st))


def create_app(state: AppState, installers: Sequence[RouteInstaller] = ()) -> web.Application:
    """The app with the core routes, then whatever ``installers`` add, in order."""
    app = web.Application(
        middlewares=[error_middleware, security_middleware, auth_middleware],
        client_max_size=state.config.policies.security.max_body_bytes,
    )
    app[STATE] = state
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model_id:.+}", get_model)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", messages_count_tokens)
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_get("/v1/openclaw/status", status)
    app.router.add_get("/openapi.json", openapi_document)
    app.cleanup_ctx.append(_refusal_summaries)
    for install in installers:
        install(app, state)
    return app


async def _refusal_summaries(app: web.Application) -> AsyncIterator[None]:
    """Write the minute's held door refusals as summary records, and the rest at shutdown."""
    st = app[STATE]

    async def every_window() -> None:
        while True:
            await asyncio.sleep(st.refusals.window)
            try:
                await write_refusal_summaries(st)
            except Exception:
                log.exception("could not write refusal summaries")

    task = asyncio.create_task(every_window())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await write_refusal_summaries(st)
