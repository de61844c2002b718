"""A fake Slack on loopback: the Web API methods the bot uses, Socket Mode, response URLs.

The real slack_sdk / slack-bolt clients talk to it (``api_url`` in channels.yaml points
``AsyncWebClient(base_url=...)`` here). It speaks Slack's wire format:

- ``POST /api/auth.test``, ``/api/chat.postMessage``, ``/api/apps.connections.open`` with
  ``Authorization: Bearer <token>``; a wrong token gets ``{"ok": false, "error": "invalid_auth"}``;
- ``apps.connections.open`` returns a ``ws://127.0.0.1:<port>/link/?ticket=...`` URL; the
  WebSocket there says ``hello``, delivers envelopes from :meth:`FakeSlack.send_envelope`
  and records the acks (``{"envelope_id": ..., "payload"?: ...}``);
- ``POST /respond/<id>``: a slash command's ``response_url``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-1111-2222-fakebottokenvalue"
APP_TOKEN = "xapp-1-A111-3333-fakeapptokenvalue"
SIGNING_SECRET = "fake-signing-secret-0123456789abcdef"
BOT_USER = "UBOT"
TEAM = "T0001"


class FakeSlack:
    def __init__(self, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: list[str] = []
        self.posts: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.fail_posts = 0  # answer the next N chat.postMessage calls with HTTP 500
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/link/", self._link)
        app.router.add_post("/respond/{id}", self._respond)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/respond/{next(self._ids)}"

    # -- Web API ---------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        body: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.can_read_body:
            body = dict(await request.post())
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            url = f"ws://127.0.0.1:{self.port}/link/?ticket=t{next(self._ids)}"
            return web.json_response({"ok": True, "url": url})
        if token != self.bot_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://fake.slack/",
                    "team": "Fake",
                    "user": "openclaw",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": "B0001",
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            if self.fail_posts > 0:
                self.fail_posts -= 1
                return web.Response(status=500, text="internal error")
            await self._record(self.posts, body)
            return web.json_response(
                {
                    "ok": True,
                    "channel": body.get("channel"),
                    "ts": f"{time.time():.6f}",
                    "message": body,
                }
            )
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _respond(self, request: web.Request) -> web.Response:
        await self._record(self.responses, await request.json())
        return web.Response(text="ok")

    async def _record(self, into: list[dict[str, Any]], item: dict[str, Any]) -> None:
        async with self._changed:
            into.append(item)
            self._changed.notify_all()

    # -- Socket Mode -----------------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        async with self._changed:
            self._changed.notify_all()
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}
        )
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    async with self._changed:
                        self.acks[data["envelope_id"]] = data
                        self._changed.notify_all()
        self._sockets.remove(ws)
        return ws

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await self.wait_for(lambda: bool(self._sockets))
        await self._sockets[-1].send_json(envelope)

    # -- waiting ---------------------------------------------------------------------------
    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_ack(self, envelope_id: str) -> dict[str, Any]:
        await self.wait_for(lambda: envelope_id in self.acks)
        return self.acks[envelope_id]

    async def wait_post(self, **match: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for p in self.posts:
                if all(p.get(k) == v for k, v in match.items()):
                    return p
            return None

        await self.wait_for(lambda: found() is not None)
        post = found()
        assert post is not None
        return post

    @property
    def connected(self) -> bool:
        return bool(self._sockets)


# ------------------------------------------------------------------------ payloads

_event_ids = itertools.count(1)


def mention(
    text: str,
    *,
    user: str = "U_ALICE",
    channel: str = "C_TEAM",
    ts: str = "1700000000.000100",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` body for an ``app_mention``."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{next(_event_ids):04d}",
        "event_time": 1700000000,
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


_TRIGGERS = itertools.count(1)


def slash(
    text: str,
    response_url: str,
    *,
    user: str = "U_ALICE",
    channel: str = "C_TEAM",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A slash command payload; like Slack, a fresh ``trigger_id`` for every invocation."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "team",
        "user_id": user,
        "user_name": "alice",
        "command": "/openclaw",
        "text": text,
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": trigger_id or f"1337.{next(_TRIGGERS)}.abcdef",
    }


def envelope(kind: str, payload: dict[str, Any], envelope_id: str) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": kind,
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": 0,
        "retry_reason": "",
    }


def signed_headers(
    body: bytes,
    secret: str = SIGNING_SECRET,
    *,
    ts: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack sends with an HTTP-mode request (v0 signature)."""
    stamp = str(int(time.time()) if ts is None else ts)
    base = b"v0:" + stamp.encode() + b":" + body
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig,
        "Content-Type": content_type,
    }


def form(payload: dict[str, Any]) -> bytes:
    return urlencode(payload).encode()
