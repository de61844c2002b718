"""The channel manager: channels live and die with the daemon and follow its config.

:func:`install` is one of the daemon's ROUTES (``openclaw.daemon``).
For each app it adds ``POST /slack/events`` (Slack's HTTP mode; public, so the Slack
signature is checked here, after reading at most :data:`SLACK_MAX_BODY` bytes), ``GET /v1/openclaw/channels`` (what ``openclaw channels status``
shows) and the app's startup/cleanup signals: the daemon starts every channel from
``channels.yaml`` with the server and stops them after in-flight requests have drained.

On a successful config reload only channels whose entry changed (or that appeared or went
away) are restarted; the others keep their connections. A channel that cannot start does not
stop the daemon: it shows ``state: error`` and its ``last_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from openclaw.channels.base import Channel
from openclaw.channels.events import EventBus
from openclaw.channels.redact import protect
from openclaw.channels.terminal import TerminalChannel
from openclaw.channels.watch import GatewayWatch
from openclaw.channels.webhook import WebhookSender
from openclaw.errors import AuthenticationError, NotFound, PayloadTooLarge

if TYPE_CHECKING:
    from openclaw.channels.base import ChannelConfig
    from openclaw.channels.slack import SlackBot
    from openclaw.pipeline.exchange import Exchange
    from openclaw.server.state import AppState

log = logging.getLogger("openclaw.channels")
STOP_TIMEOUT = 5.0


def build_channel(config: ChannelConfig, state: AppState) -> Channel:
    if config.type == "slack":
        from openclaw.channels.slack import SlackBot  # slack-bolt is only loaded when used

        return SlackBot(config, state)
    if config.type == "webhook":
        return WebhookSender(config, state)
    return TerminalChannel(config, state)


class ChannelManager:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.channels: dict[str, Channel] = {}
        self.bus = EventBus(clock=state.assembly.shared.clock)
        self.watch = GatewayWatch(state, self.bus, self._on_exchange)
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self.running = False

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        protect(logging.getLogger("openclaw"))
        self.bus.bind(asyncio.get_running_loop())
        self.state.assembly.shared.events.subscribe(self._relay)
        self.watch.attach()
        self.state.reload_listeners.append(self._on_reload)
        self.running = True
        await self.apply(self.state.config.channels.channels)

    async def stop(self) -> None:
        self.running = False
        with contextlib.suppress(ValueError):
            self.state.reload_listeners.remove(self._on_reload)
        self.watch.detach()
        for t in list(self._pending):
            t.cancel()
        await self.bus.stop()
        async with self._lock:
            for ch in list(self.channels.values()):
                await self._stop_one(ch)
            self.channels.clear()
        self.state.assembly.shared.events.unsubscribe(self._relay)

    def _relay(self, kind: str, data: dict[str, Any], key: str | None) -> None:
        """Gateway events (budgets, rate limits) from the pipeline's relay onto the bus."""
        self.bus.emit(kind, data, key=key)

    async def apply(self, configs: list[ChannelConfig]) -> None:
        """Make the running channels match ``configs``, restarting only what changed."""
        async with self._lock:
            wanted = {c.name: c for c in configs}
            for name, ch in list(self.channels.items()):
                if wanted.get(name) != ch.config:
                    await self._stop_one(ch)
                    del self.channels[name]
            for name, cfg in wanted.items():
                if name not in self.channels:
                    ch = build_channel(cfg, self.state)
                    self.channels[name] = ch
                    await self._start_one(ch)
            self.bus.set_receivers(list(self.channels.values()))

    async def _start_one(self, ch: Channel) -> None:
        try:
            await ch.start()
        except Exception as exc:  # a channel's bug must not keep the daemon from starting
            log.exception("channel %s failed to start", ch.name)
            ch.fail(f"failed to start ({type(exc).__name__}: {exc})")

    async def _stop_one(self, ch: Channel) -> None:
        try:
            await asyncio.wait_for(ch.stop(), STOP_TIMEOUT)
        except Exception:
            log.exception("channel %s did not stop cleanly", ch.name)

    def _on_reload(self, state: AppState) -> None:
        if not self.running or state.last_reload is None or not state.last_reload.ok:
            return
        task = asyncio.get_running_loop().create_task(self.apply(state.config.channels.channels))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Wait for reload-triggered restarts (tests, and an orderly stop)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # -- what the terminal does, as seen by the daemon ---------------------------------------
    def _on_exchange(self, ex: Exchange) -> None:
        ch = self.channels.get(ex.channel or "")
        remember = getattr(ch, "remember", None)
        if remember is not None:
            remember(ex)
        if isinstance(ch, TerminalChannel):
            ch.touch()
            if ex.error is not None:
                ch.fail(f"last request failed: {ex.error.message}", state=None)

    # -- queries -------------------------------------------------------------------------------
    def http_bots(self) -> list[SlackBot]:
        from openclaw.channels.slack import SlackBot  # slack-bolt is only loaded when used

        return [
            ch
            for ch in self.channels.values()
            if isinstance(ch, SlackBot)
            and ch.config.mode == "http"
            and ch.state in ("starting", "running")
        ]

    def status(self) -> dict[str, Any]:
        return {
            "channels": [ch.status() for ch in self.channels.values()],
            "events": self.bus.status(),
        }


# ---------------------------------------------------------------------------- routes

CHANNELS: web.AppKey[ChannelManager] = web.AppKey("openclaw_channels", ChannelManager)


#: Most bytes of a Slack request read before its signature is checked. Slack's own events
#: and commands are a few KB; the route is public, so an unsigned request may not make the
#: daemon buffer more than this.
SLACK_MAX_BODY = 64 * 1024


async def read_capped(request: web.Request, limit: int) -> bytes:
    """The request body, or :class:`PayloadTooLarge` once it passes ``limit`` bytes."""
    too_big = PayloadTooLarge(
        f"a Slack request body is at most {limit} bytes", code="request_too_large"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    body = bytearray()
    while chunk := await request.content.read(limit + 1 - len(body)):
        body += chunk
        if len(body) > limit:
            raise too_big
    return bytes(body)


async def slack_events(request: web.Request) -> web.StreamResponse:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response  # only with a Slack channel

    bots = request.app[CHANNELS].http_bots()
    if not bots:
        raise NotFound(
            "no Slack channel in mode 'http' is running on this gateway (see channels.yaml)",
            code="not_found",
        )
    body = await read_capped(request, SLACK_MAX_BODY)
    for bot in bots:
        if bot.verifies(body, request.headers):
            resp = await bot.dispatch(body, request.query_string, request.headers)
            return await to_aiohttp_response(resp)
    raise AuthenticationError(
        "the request does not carry a valid Slack signature (X-Slack-Signature)",
        code="invalid_slack_signature",
    )


async def channels_status(request: web.Request) -> web.Response:
    data = request.app[CHANNELS].status()
    return web.Response(body=orjson.dumps(data), content_type="application/json")


def install(app: web.Application, state: AppState) -> None:
    """Route installer: routes, and channels that start and stop with the app."""
    manager = ChannelManager(state)
    app[CHANNELS] = manager
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/v1/openclaw/channels", channels_status)

    async def on_startup(_app: web.Application) -> None:
        await manager.start()

    async def on_cleanup(_app: web.Application) -> None:
        await manager.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
