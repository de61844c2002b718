"""``POST /v1/messages`` and ``/v1/messages/count_tokens``: the Anthropic Messages ingress.

The parser (:func:`openclaw.ingress.parse_messages_request`) turns the body into the
pipeline's chat body; :class:`MessagesResponder` renders the outcome as a Messages ``message``,
Anthropic's event stream, or Anthropic's error shape (``{"type": "error", "error": ...}``)
for Anthropic clients (:func:`anthropic_client`), also for refusals at the door
(:mod:`openclaw.server.errors` picks the responder by the same test).
The ``anthropic-beta`` header goes to the parser, which keeps it for an Anthropic upstream;
``anthropic-version`` is accepted and not needed (the adapter sends its own).

**Pings.** When a stream is silent for ``ping_every`` seconds a ``ping`` event goes out, so
proxies and clients with idle timeouts keep the connection while a model thinks, as
Anthropic's own API does. The pipeline pulls the chunks, so the responder keeps the clock: a
timer task that writes under the same lock as the frames. Until the first ping or chunk no
header has gone out, so a refusal or an upstream failure in that time still gets its HTTP
status; once a ping has committed the stream (``200``, ``message_start``), a later refusal
is an ``error`` event, which the SDK raises just the same.

``count_tokens`` answers locally with the gateway's estimate; it calls no model, so it has
no audit record, like ``GET /v1/models``.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from openclaw.errors import OpenClawError
from openclaw.ingress import (
    MessagesStream,
    count_tokens,
    parse_messages_request,
    render_messages_error,
    render_messages_response,
)
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.pipeline.gateway import Gateway
from openclaw.server.ingress import STATE, HttpResponder, exchange_for, read_json
from openclaw.server.schema import check_message_count
from openclaw.tokens import count_prompt


def anthropic_client(request: web.Request) -> bool:
    """Whether errors go out in Anthropic's shape: on ``/v1/messages`` to a client that sends
    ``anthropic-version`` (the SDKs and Claude Code always do); other callers, such as the
    gateway's own route-walking checks and plain curl, get the gateway's OpenAI shape."""
    path = request.path
    return (path == "/v1/messages" or path.startswith("/v1/messages/")) and (
        "anthropic-version" in request.headers
    )


class MessagesResponder(HttpResponder):
    """The pipeline's outcome in the Anthropic Messages wire format."""

    #: Seconds of silence in an open stream before a ``ping`` event.
    ping_every = 10.0

    def __init__(self, request: web.Request, gw: Gateway, model: str = "") -> None:
        super().__init__(request, gw)
        self.stream = MessagesStream(model)
        self._lock = asyncio.Lock()
        self._quiet_since = 0.0
        self._pinger: asyncio.Task[None] | None = None

    def render_answer(self, ex: Exchange, resp: Json) -> Json:
        return render_messages_response(resp)

    def render_error(self, ex: Exchange, exc: OpenClawError) -> Json:
        if anthropic_client(self.request):
            return render_messages_error(exc)[1]
        return exc.to_dict()

    def frames(self, ex: Exchange, chunk: Json) -> list[bytes]:
        return [self.stream.feed(chunk)]

    def closing_frames(self, ex: Exchange) -> list[bytes]:
        return [self.stream.finish()]

    def error_frames(self, ex: Exchange, exc: OpenClawError) -> list[bytes]:
        return [self.stream.error(exc)]

    def arm(self, ex: Exchange) -> None:
        """Start the clock for a streamed request, before the pipeline runs."""
        if ex.stream and self._pinger is None:
            self._quiet_since = asyncio.get_running_loop().time()
            self._pinger = asyncio.create_task(self._ping(ex))

    async def open(self, ex: Exchange) -> None:
        async with self._lock:
            if self.response is None:
                await self._open(ex)

    async def _open(self, ex: Exchange) -> None:
        self.stream.input_tokens = _estimate(ex)
        await super().open(ex)

    async def refuse(self, ex: Exchange, exc: OpenClawError) -> None:
        await self.stop()  # first: no ping may commit the stream while this decides
        if self.response is None:
            await super().refuse(ex, exc)
            return
        await self.cut(ex, exc)  # the stream was committed by a ping: an error event

    async def close(self, ex: Exchange) -> None:
        await self.stop()
        await super().close(ex)

    async def cut(self, ex: Exchange, exc: OpenClawError) -> None:
        await self.stop()
        await super().cut(ex, exc)

    async def _write(self, frames: list[bytes]) -> None:
        async with self._lock:
            await super()._write(frames)
            self._quiet_since = asyncio.get_running_loop().time()

    async def _ping(self, ex: Exchange) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._quiet_since + self.ping_every - loop.time()))
            if loop.time() - self._quiet_since < self.ping_every:
                continue
            async with self._lock:
                if self.response is None:
                    await self._open(ex)
            await self._write([self.stream.start() + self.stream.ping()])

    async def stop(self) -> None:
        """Stop the pinger (the stream ended, or the handler is leaving)."""
        task, self._pinger = self._pinger, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _estimate(ex: Exchange) -> int:
    """``message_start``'s input tokens: an estimate; ``message_delta`` brings the real count."""
    messages = ex.body.get("messages")
    return count_prompt(messages if isinstance(messages, list) else [], ex.provider_model)


async def messages(request: web.Request) -> web.StreamResponse:
    gw = request.app[STATE].gateway
    body, raw = await read_json(request)
    if isinstance(body, dict):
        check_message_count(body.get("messages"), gw.config.policies.security.max_messages)
    chat = parse_messages_request(body, beta=request.headers.get("anthropic-beta"))
    ex = exchange_for(request, gw, chat, raw, api="messages")
    out = MessagesResponder(request, gw, chat["model"])
    out.arm(ex)
    try:
        await gw.run(ex, out)
    finally:
        await out.stop()
    return out.result()


async def messages_count_tokens(request: web.Request) -> web.Response:
    gw = request.app[STATE].gateway
    body, _ = await read_json(request)
    n = count_tokens(body)
    assert isinstance(body, dict)
    gw.select(body["model"], None)  # an unknown model is a 404 here too
    return web.Response(body=orjson.dumps({"input_tokens": n}), content_type="application/json")
