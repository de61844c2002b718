"""A ``slack`` channel: a slack-bolt ``AsyncApp`` answering mentions, DMs and ``/openclaw``.

Modes. ``socket`` (default) opens a Socket Mode WebSocket with the app-level token through
slack-bolt's aiohttp adapter, so nothing needs to be reachable from the internet. ``http``
receives Events API requests at ``POST /slack/events`` on the daemon
(:mod:`openclaw.channels.manager` routes them here); that path skips the gateway's bearer
token, so the request's Slack signature is checked against ``signing_secret`` before bolt
(which checks it again) ever sees it.

A mention or DM: (1) is refused unless the user is in ``allow_users`` and the conversation
in ``allow_channels`` (an empty list allows all; a DM is a conversation like any other, so
with ``allow_channels`` set, a DM is answered only if its ``D...`` ID is listed), and every
refusal is audited once and summarised (:mod:`openclaw.channels.refusals`);
(2) goes through the full gateway pipeline (policies, routing, audit) with service
``slack:<name>`` and channel ``<name>``, a leading ``task:<name>`` choosing the task;
(3) is answered in its thread, marked as a draft (:mod:`openclaw.channels.slack_format`).
Replies only ever go to the conversation the message came from, and nothing in the log
carries message text or tokens: the bot's loggers (and those bolt derives from them) pass
every record through :class:`~openclaw.channels.redact.RedactingFilter`.

``start`` never raises for outside problems: a missing token, a token Slack refuses, or an
unreachable Slack leave the channel in state ``error`` with ``last_error`` saying why (the
last case retried with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from openclaw.channels.base import Channel
from openclaw.channels.events import DeliveryError, Event
from openclaw.channels.redact import protect, redact, register_secret
from openclaw.channels.refusals import ChannelRefusals
from openclaw.channels.slack_format import error_sentence, escape, parse_text, reply_blocks
from openclaw.channels.slash import handle_command
from openclaw.errors import OpenClawError

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    from openclaw.config.schema import SlackChannel
    from openclaw.pipeline.exchange import Exchange

SLACK_API = "https://slack.com/api/"
SLASH_COMMAND = "/openclaw"
PING_INTERVAL = 10.0
_RETRY_MAX = 300.0
_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "not_allowed_token_type"}
)


class _ErrorCapture(logging.Handler):
    """Turns slack_sdk's own error logs (e.g. Socket Mode reconnects) into ``last_error``."""

    def __init__(self, bot: SlackBot) -> None:
        super().__init__(logging.ERROR)
        self.bot = bot

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == self.bot.log.name:
            return  # our own messages; fail() already recorded them
        first = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
        self.bot.last_error = redact(first)[:500]
        self.bot.last_error_at = time.time()


class SlackBot(Channel):
    kind = "slack"
    config: SlackChannel

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.app: AsyncApp | None = None
        self.client: AsyncWebClient | None = None
        self.handler: AsyncSocketModeHandler | None = None
        self.bot_user_id: str | None = None
        self.team: str | None = None
        self._verifier: SignatureVerifier | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._facts: OrderedDict[str, dict[str, Any]] = OrderedDict()  # request id -> routing
        self.refusals = ChannelRefusals(self)
        # slack_sdk and bolt log here (and bolt's own loggers copy its filter).
        self.slack_log = logging.getLogger(f"openclaw.channels.slack.{self.name}")

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.state = "starting"
        cfg = self.config
        needed = {"bot_token": cfg.bot_token}
        if cfg.mode == "socket":
            needed["app_token"] = cfg.app_token
        else:
            needed["signing_secret"] = cfg.signing_secret
        values, missing = {}, []
        for field, ref in needed.items():
            value = ref.resolve() if ref is not None else None
            if value:
                register_secret(value)
                values[field] = value
            else:
                missing.append(
                    f"{field} {ref.describe() if ref is not None else '(not configured)'}"
                )
        if missing:
            self.fail(
                f"mode '{cfg.mode}' needs {' and '.join(missing)} in the daemon's environment"
            )
            return
        bot_token = values["bot_token"]
        app_token = values.get("app_token")
        signing = values.get("signing_secret")
        protect(self.slack_log)
        self._drop_capture()
        base = (cfg.api_url or SLACK_API).rstrip("/") + "/"
        if signing:
            self._verifier = SignatureVerifier(signing)
        # token= rather than client=: bolt warns about an ignored token whenever
        # SLACK_BOT_TOKEN is set and a client is passed. Its client is then pointed at api_url.
        self.app = AsyncApp(
            token=bot_token,
            signing_secret=signing or "",
            logger=self.slack_log,
            name=f"openclaw:{self.name}",
            request_verification_enabled=cfg.mode == "http",
        )
        self.client = self.app.client
        self.client.base_url = base
        self.client.timeout = 15
        self._register(self.app)
        # Added after bolt has derived its loggers from slack_log, so that they do not copy it.
        self.slack_log.addHandler(_ErrorCapture(self))
        if not (cfg.allow_users or cfg.allow_channels):
            self.log.warning(
                "slack channel %s has no allow_users or allow_channels: anyone in the "
                "workspace who can reach the bot can use the gateway",
                self.name,
            )
        self._task = asyncio.get_running_loop().create_task(
            self._connect(app_token), name=f"slack:{self.name}"
        )

    def _drop_capture(self) -> None:
        for h in [h for h in self.slack_log.handlers if isinstance(h, _ErrorCapture)]:
            self.slack_log.removeHandler(h)

    async def _connect(self, app_token: str | None) -> None:
        assert self.client is not None and self.app is not None
        delay = 1.0
        while True:
            try:
                auth = await self.client.auth_test()
                self.bot_user_id = auth.get("user_id")
                self.team = auth.get("team")
                if app_token is not None:
                    opened = await self.client.apps_connections_open(app_token=app_token)
                    await self._open_socket(app_token, str(opened["url"]))
                break
            except SlackApiError as exc:
                code = exc.response.get("error") if exc.response is not None else None
                if code in _AUTH_ERRORS:
                    self.fail(f"Slack refused a token ({code}); check bot_token and app_token")
                    return
                self.fail(f"Slack API error ({code or 'unknown'}); retrying in {delay:.0f}s")
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.fail(f"Slack is unreachable ({type(exc).__name__}); retrying in {delay:.0f}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)
        self.state = "running"
        self.started_at = time.time()
        self.log.info("slack channel %s connected (%s mode)", self.name, self.config.mode)

    async def _open_socket(self, app_token: str, url: str) -> None:
        # Socket Mode only: its websocket client is loaded by the bots that use it.
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        assert self.app is not None
        self.handler = AsyncSocketModeHandler(
            self.app,
            app_token,
            logger=self.slack_log,
            web_client=self.client,
            ping_interval=PING_INTERVAL,
        )
        # Use the URL apps.connections.open just gave us, so a bad app token is reported
        # above instead of inside slack_sdk's endless reconnect loop.
        self.handler.client.wss_uri = url
        await self.handler.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.handler is not None:
            with contextlib.suppress(Exception):
                await self.handler.close_async()  # type: ignore[no-untyped-call]
            self.handler = None
        self._drop_capture()
        self.refusals.close()
        await super().stop()

    # -- bolt wiring -----------------------------------------------------------------
    def _register(self, app: AsyncApp) -> None:
        async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
            await self.on_message(body, event)

        async def on_dm(body: dict[str, Any], event: dict[str, Any]) -> None:
            if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
                return
            await self.on_message(body, event)

        async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
            await handle_command(self, command, ack, respond)

        async def on_error(error: Exception) -> None:
            self.report(error)

        app.event("app_mention")(on_mention)
        app.event("message")(on_dm)
        app.command(SLASH_COMMAND)(on_command)
        app.error(on_error)

    # -- HTTP mode ---------------------------------------------------------------------
    def verifies(self, body: bytes, headers: Any) -> bool:
        """True if the request carries a valid, fresh Slack signature for this app."""
        if self._verifier is None or self.state not in ("starting", "running"):
            return False
        try:
            return self._verifier.is_valid(
                body, headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
            )
        except (ValueError, TypeError):
            return False

    async def dispatch(self, body: bytes, query: str, headers: Any) -> BoltResponse:
        assert self.app is not None
        req = AsyncBoltRequest(
            body=body.decode("utf-8", "replace"), query=query, headers=dict(headers)
        )
        return await self.app.async_dispatch(req)

    # -- handling a message --------------------------------------------------------------
    def allowed(self, user: str | None, channel: str | None) -> bool:
        """Within ``allow_users`` and ``allow_channels`` (a DM's ``D...`` ID included)."""
        cfg = self.config
        if cfg.allow_users and user not in cfg.allow_users:
            return False
        return not cfg.allow_channels or channel in cfg.allow_channels

    def may_run_skills(self, user: str | None, channel: str | None) -> bool:
        """Skills need an explicit grant: ``skill_users`` or ``skill_channels``."""
        cfg = self.config
        return self.allowed(user, channel) and (
            (user is not None and user in cfg.skill_users)
            or (channel is not None and channel in cfg.skill_channels)
        )

    def parse(self, text: str) -> tuple[str | None, str]:
        return parse_text(text, self.bot_user_id)

    def first_time(self, event_id: str | None) -> bool:
        """Slack redelivers on timeouts and reconnects; answer each event (or command) once."""
        if not event_id:
            return True
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > 1000:
            self._seen.popitem(last=False)
        return True

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not self.first_time(body.get("event_id")):
            return
        user, channel = event.get("user"), event.get("channel")
        if not self.allowed(user, channel):
            self.log.info(
                "ignored a message from user %s in %s (not in the allowlists)", user, channel
            )
            self.refusals.refuse(
                "slack_not_allowed",
                "the Slack user or conversation is not in allow_users / allow_channels",
                user=user,
                where=channel,
            )
            return
        self.touch()
        thread = event.get("thread_ts") or event.get("ts")
        task, prompt = self.parse(str(event.get("text") or ""))
        if not prompt:
            await self._post(
                channel,
                thread,
                text="Ask me something after the mention, e.g. `task:summarization <text>`.",
            )
            return
        try:
            resp = await self.ask(prompt, task)
        except Exception as exc:
            self.report(exc)
            await self._post(channel, thread, text=error_sentence(exc))
            return
        text, blocks = reply_blocks(resp)
        await self._post(channel, thread, text=text, blocks=blocks)

    async def ask(self, prompt: str, task: str | None) -> dict[str, Any]:
        """One turn through the full pipeline, audited as this channel."""
        cfg = self.config
        body = {
            "model": cfg.default_model or "auto",
            "messages": [{"role": "user", "content": prompt}],
        }
        gw = self.app_state.gateway  # the current gateway; a reload mid-answer does not switch it
        return await gw.chat(
            body, service=f"slack:{self.name}", channel=self.name, task=task or cfg.default_task
        )

    def remember(self, ex: Exchange) -> None:
        """Keep how a request of this channel was routed (for skill replies' PII note)."""
        self._facts[ex.request_id] = {
            "model": ex.alias,
            "fallback_from": ex.fallback_from,
            "policies": [d.to_dict() for d in ex.decisions],
        }
        while len(self._facts) > 200:
            self._facts.popitem(last=False)

    def facts_for(self, request_id: str) -> dict[str, Any]:
        return dict(self._facts.get(request_id, {}))

    def report(self, exc: BaseException) -> None:
        """Record a failed answer: the sentence for status, the traceback only for bugs."""
        if isinstance(exc, OpenClawError):
            self.fail(error_sentence(exc), state=None)
        else:
            self.log.error("slack channel %s: unexpected error", self.name, exc_info=exc)
            self.fail(f"internal error ({type(exc).__name__}); see the daemon log", state=None)

    async def _post(
        self,
        channel: str | None,
        thread: str | None,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        assert self.client is not None
        try:
            await self.client.chat_postMessage(
                channel=str(channel), thread_ts=thread, text=text, blocks=blocks
            )
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else None
            self.fail(f"could not post to Slack ({code})", state=None)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.fail(f"could not post to Slack ({type(exc).__name__})", state=None)

    # -- gateway events --------------------------------------------------------------------
    @property
    def notify_target(self) -> str | None:
        cfg = self.config
        return cfg.notify_channel or (cfg.allow_channels[0] if cfg.allow_channels else None)

    @property
    def receives_events(self) -> bool:
        return self.config.notify and self.notify_target is not None

    async def deliver(self, event: Event) -> None:
        if self.client is None or self.state != "running":
            raise DeliveryError(f"slack channel {self.name} is not connected ({self.state})")
        try:
            await self.client.chat_postMessage(
                channel=str(self.notify_target), text=f":rotating_light: {escape(event.summary())}"
            )
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else None
            raise DeliveryError(
                f"Slack refused the event ({code})", retryable=code == "ratelimited"
            ) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"Slack is unreachable ({type(exc).__name__})") from None

    def details(self) -> dict[str, Any]:
        cfg = self.config
        out: dict[str, Any] = {
            "mode": cfg.mode,
            "workspace": cfg.workspace or self.team,
            "bot_user": self.bot_user_id,
            "bot_token": cfg.bot_token.describe() if cfg.bot_token else None,
            "allow_users": len(cfg.allow_users) or "all",
            "allow_channels": len(cfg.allow_channels) or "all",
        }
        if cfg.mode == "socket":
            out["app_token"] = cfg.app_token.describe() if cfg.app_token else None
        else:
            out["signing_secret"] = cfg.signing_secret.describe() if cfg.signing_secret else None
            out["events_path"] = "/slack/events"
        if cfg.notify:
            out["notify_channel"] = self.notify_target
            if self.notify_target is None:
                out["notify_problem"] = (
                    "notify is on but neither notify_channel nor allow_channels is set"
                )
        return out
