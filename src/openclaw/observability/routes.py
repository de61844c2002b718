"""HTTP routes for metrics and the dashboard: :func:`install` is one of the daemon's ROUTES.

=================================  ==========================================================
``GET /metrics``                   Prometheus text (OpenMetrics on request); bearer token
``POST /v1/dashboard/login-link``  bearer token; a one-time ``/dashboard/login?t=...`` link
``GET /dashboard/login``           redeems the link, sets the session cookie, redirects
``GET /dashboard``                 the page (session cookie)
``GET /dashboard/api/summary``     chart data, JSON (session cookie)
``GET /dashboard/api/events``      new requests as Server-Sent Events (session cookie)
``POST /dashboard/logout``         ends the session
``GET /dashboard/static/<file>``   the page's own JS and CSS (code only, no data)
=================================  ==========================================================

``/dashboard`` paths skip the bearer check (``PUBLIC_PREFIXES``), so every one of them that
shows data checks the session cookie here. The Host/Origin middleware still runs first, so a
page on a foreign site is refused before any of this. Every dashboard response carries a
strict Content-Security-Policy: scripts and styles only from this origin, no inline code,
no framing, and nothing fetched from anywhere but the daemon itself.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from openclaw.errors import AuthenticationError, InvalidRequest, PermissionDenied
from openclaw.observability.feed import Entry, Feed
from openclaw.observability.metrics import Metrics
from openclaw.observability.sessions import COOKIE, DashboardSessions
from openclaw.routing.strategies import deployment_key
from openclaw.server.app import json_response
from openclaw.server.ingress import STATE
from openclaw.server.state import AppState

log = logging.getLogger("openclaw.observability")

METRICS: web.AppKey[Metrics] = web.AppKey("openclaw_metrics", Metrics)
FEED: web.AppKey[Feed] = web.AppKey("openclaw_feed", Feed)
SESSIONS: web.AppKey[DashboardSessions] = web.AppKey("openclaw_sessions", DashboardSessions)
STREAMS: web.AppKey[set[asyncio.Queue[Entry | None]]] = web.AppKey("openclaw_streams")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}
KEEPALIVE = 15.0
STREAM_QUEUE = 256


# -------------------------------------------------------------------- helpers


def _secure(resp: web.StreamResponse) -> web.StreamResponse:
    for k, v in SECURITY_HEADERS.items():
        resp.headers[k] = v
    return resp


def _load_static() -> dict[str, tuple[bytes, str]]:
    root = resources.files("openclaw.observability").joinpath("static")
    out: dict[str, tuple[bytes, str]] = {}
    for item in root.iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in STATIC_TYPES:
            out[item.name] = (item.read_bytes(), STATIC_TYPES[suffix])
    return out


def html_page(title: str, message: str, status: int) -> web.Response:
    """A small self-contained page (no script) for refusals and sign-out."""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<link rel=icon href="/dashboard/static/icon.svg" type="image/svg+xml">'
        '<link rel=stylesheet href="/dashboard/static/dashboard.css"></head>'
        f"<body class=notice><main><h1>{html.escape(title)}</h1><p>{message}</p></main></body></html>"
    )
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    _secure(resp)
    return resp


NOT_SIGNED_IN = (
    "Open the dashboard from a terminal with <code>openclaw dashboard</code>; it signs this "
    "browser in with a one-time link."
)


def wants_html(request: web.Request) -> bool:
    """Browsers navigating ask for HTML; API clients (and the error-shape test) get JSON."""
    return "text/html" in request.headers.get("Accept", "")


def _session_ok(request: web.Request) -> bool:
    return request.app[SESSIONS].valid(request.cookies.get(COOKIE))


def _require_session(request: web.Request) -> None:
    """For the JSON and event endpoints: an OpenAI-shaped 401 without a valid session."""
    if not _session_ok(request):
        raise AuthenticationError(
            "no dashboard session: run 'openclaw dashboard' to sign in with a one-time link",
            code="dashboard_session_required",
        )


# -------------------------------------------------------------------- handlers


async def metrics_handler(request: web.Request) -> web.Response:
    body, content_type = request.app[METRICS].render(request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})


async def login_link(request: web.Request) -> web.Response:
    ttl: float | None = None
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise InvalidRequest("body must be JSON", code="invalid_json") from None
            value = data.get("ttl") if isinstance(data, dict) else None
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise InvalidRequest("ttl must be a number of seconds >= 0", param="ttl")
                ttl = float(value)
    secret, life = request.app[SESSIONS].mint_link(ttl)
    path = f"/dashboard/login?t={secret}"
    return json_response(
        {"url": f"{request.scheme}://{request.host}{path}", "path": path, "expires_in": life},
        headers={"Cache-Control": "no-store"},
    )


async def login(request: web.Request) -> web.StreamResponse:
    sessions = request.app[SESSIONS]
    session = sessions.redeem(request.query.get("t"))
    if session is None:
        if not wants_html(request):
            raise PermissionDenied(
                "this dashboard login link has expired or was already used; "
                "run 'openclaw dashboard' for a new one",
                code="login_link_invalid",
            )
        return html_page(
            "This login link cannot be used",
            "It has expired or was already used: links work once, for a minute. "
            "Run <code>openclaw dashboard</code> for a new one.",
            403,
        )
    resp = web.Response(status=303, headers={"Location": "/dashboard"})
    resp.set_cookie(
        COOKIE,
        session,
        httponly=True,
        samesite="Strict",
        path="/dashboard",
        max_age=int(sessions.session_ttl),
        secure=request.secure,
    )
    _secure(resp)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[SESSIONS].end(request.cookies.get(COOKIE))
    resp = html_page("Signed out", NOT_SIGNED_IN, 200)
    resp.del_cookie(COOKIE, path="/dashboard")
    return resp


def _static_handler(files: dict[str, tuple[bytes, str]]) -> Callable[..., Any]:
    async def static(request: web.Request) -> web.Response:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, ctype = found
        resp = web.Response(body=body, content_type=ctype, charset="utf-8")
        _secure(resp)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    return static


def _page_handler(files: dict[str, tuple[bytes, str]]) -> Callable[..., Any]:
    async def page(request: web.Request) -> web.Response:
        if not _session_ok(request):
            if not wants_html(request):
                _require_session(request)
            return html_page("Sign in to the OpenClaw dashboard", NOT_SIGNED_IN, 401)
        body, _ = files["dashboard.html"]
        resp = web.Response(body=body, content_type="text/html", charset="utf-8")
        _secure(resp)
        return resp

    return page


async def summary(request: web.Request) -> web.Response:
    _require_session(request)
    st: AppState = request.app[STATE]
    models = st.config.models.models
    deployments = [deployment_key(d) for spec in models.values() for d in spec.deployments]
    data = request.app[FEED].summary(
        deployments=deployments, breakers=st.gateway.dispatcher.breakers.snapshot()
    )
    data["models"] = sorted(models)
    resp = json_response(data)
    _secure(resp)
    return resp


async def events(request: web.Request) -> web.StreamResponse:
    """New requests as they finish, one ``event: request`` each (metadata only)."""
    _require_session(request)
    feed, streams = request.app[FEED], request.app[STREAMS]
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Entry | None] = asyncio.Queue(maxsize=STREAM_QUEUE)

    def offer(e: Entry | None) -> None:
        if queue.full():
            return  # a stalled browser misses rows; the summary catches it up
        queue.put_nowait(e)

    def push(e: Entry) -> None:
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            offer(e)
        else:  # an in-process caller on another thread (a channel)
            loop.call_soon_threadsafe(offer, e)

    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    _secure(resp)
    feed.listeners.append(push)
    streams.add(queue)
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 3000\nevent: ready\ndata: {}\n\n")
        while True:
            try:
                entry = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE)
            except TimeoutError:
                if not _session_ok(request):
                    break  # the session ended: the browser's next reconnect gets a 401
                await resp.write(b": keepalive\n\n")
                continue
            if entry is None:  # the daemon is shutting down
                break
            await resp.write(b"event: request\ndata: " + orjson.dumps(entry.to_dict()) + b"\n\n")
    except ConnectionResetError:
        pass
    finally:
        feed.listeners.remove(push)
        streams.discard(queue)
    return resp


async def _close_streams(app: web.Application) -> None:
    """Let open event streams end at shutdown instead of holding the drain for its timeout."""
    streams = app[STREAMS]
    for q in list(streams):
        if q.full():
            q.get_nowait()
        q.put_nowait(None)


async def _redirect_to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard")


# -------------------------------------------------------------------- wiring


def install(app: web.Application, state: AppState) -> None:
    """Route installer: build this app's metrics, feed and sessions, observe the gateway."""

    def aliases() -> dict[str, Any]:
        return dict(state.config.models.models)

    def spans() -> tuple[int, int] | None:
        counts = getattr(state.assembly.shared.tracer, "counts", None)
        return None if counts is None else (counts.exported, counts.dropped)

    metrics = Metrics(
        aliases, breakers=lambda: state.gateway.dispatcher.breakers.snapshot(), spans=spans
    )
    feed = Feed(aliases)
    # Observers travel with reloads (AppState.reload copies them to the new gateway).
    state.gateway.observers.extend([metrics.observe, feed.observe])
    app[METRICS] = metrics
    app[FEED] = feed
    app[SESSIONS] = DashboardSessions()
    app[STREAMS] = set()
    app.on_shutdown.append(_close_streams)

    files = _load_static()
    r = app.router
    r.add_get("/metrics", metrics_handler)
    r.add_post("/v1/dashboard/login-link", login_link)
    r.add_get("/dashboard", _page_handler(files))
    r.add_get("/dashboard/", _redirect_to_page)
    r.add_get("/dashboard/login", login)
    r.add_post("/dashboard/logout", logout)
    r.add_get("/dashboard/api/summary", summary)
    r.add_get("/dashboard/api/events", events)
    r.add_get("/dashboard/static/{name}", _static_handler(files))
