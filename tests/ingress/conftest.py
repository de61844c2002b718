"""A stand-in for the gateway's routes: the ingress translators around one provider adapter.

The official SDKs talk to it over loopback; behind it a real adapter talks to a fake
upstream, so each test runs the whole translation chain (SDK -> ingress parser -> chat body ->
adapter -> provider wire -> adapter -> chat response -> ingress renderer -> SDK) without the
pipeline, which the lead wires in server/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from fakes.fixtures import (  # noqa: F401  (fixtures, re-exported for this directory)
    anthropic_upstream,
    ollama_upstream,
    openai_upstream,
)
from openclaw.config.schema import ProviderConfig, Timeouts
from openclaw.errors import OpenClawError
from openclaw.ingress import (
    MessagesStream,
    ResponsesStream,
    count_tokens,
    parse_messages_request,
    parse_responses_request,
    render_messages_error,
    render_messages_response,
    render_responses_response,
    with_heartbeat,
)
from openclaw.providers.base import Json, Provider, ProviderCall
from openclaw.providers.registry import ProviderRegistry

KEY = "sk-test-not-a-real-key"
TIMEOUTS = Timeouts(connect=2.0, first_token=5.0, total=10.0)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def make_provider(kind: str, url: str = "") -> Provider:
    cls = ProviderRegistry.from_entry_points().get(kind)
    extra = {"api_key": "${OPENAI_API_KEY}"} if kind in ("openai", "anthropic") else {}
    return cls(kind, ProviderConfig(type=kind, base_url=url or None, **extra))  # type: ignore[arg-type]


@dataclass
class Ingress:
    """What the stand-in saw: the chat bodies its parsers produced."""

    provider: Provider
    url: str = ""
    chat_bodies: list[Json] = field(default_factory=list)
    ping_every: float = 15.0  # seconds without a chunk before a Messages stream pings


def _call(ingress: Ingress, chat: Json) -> ProviderCall:
    ingress.chat_bodies.append(chat)
    return ProviderCall(body=chat, model="upstream-model", timeouts=TIMEOUTS)


def _anthropic_error(exc: OpenClawError) -> web.Response:
    status, body = render_messages_error(exc)
    return web.json_response(body, status=status)


async def _sse(
    request: web.Request,
    chunks: AsyncIterator[Json],
    renderer: MessagesStream | ResponsesStream,
    ping_every: float,
) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    try:
        async for ch in with_heartbeat(chunks, ping_every):
            if ch is None:
                if isinstance(renderer, MessagesStream):
                    await resp.write(renderer.start() + renderer.ping())
                continue
            await resp.write(renderer.feed(ch))
        await resp.write(renderer.finish())
    except OpenClawError as exc:
        await resp.write(renderer.error(exc))
    await resp.write_eof()
    return resp


def build_app(ingress: Ingress) -> web.Application:
    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            chat = parse_messages_request(
                await request.json(), beta=request.headers.get("anthropic-beta")
            )
            call = _call(ingress, chat)
            if chat.get("stream"):
                stream = MessagesStream(chat["model"], input_tokens=3)
                chunks = ingress.provider.stream(call)
                return await _sse(request, chunks, stream, ingress.ping_every)
            resp = await ingress.provider.complete(call)
        except OpenClawError as exc:
            return _anthropic_error(exc)
        return web.json_response(render_messages_response(resp))

    async def tokens(request: web.Request) -> web.Response:
        try:
            return web.json_response({"input_tokens": count_tokens(await request.json())})
        except OpenClawError as exc:
            return _anthropic_error(exc)

    async def responses(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        try:
            chat = parse_responses_request(body)
            call = _call(ingress, chat)
            if chat.get("stream"):
                chunks = ingress.provider.stream(call)
                return await _sse(request, chunks, ResponsesStream(body), ingress.ping_every)
            resp = await ingress.provider.complete(call)
        except OpenClawError as exc:
            return web.json_response(exc.to_dict(), status=exc.status)
        return web.Response(
            body=orjson.dumps(render_responses_response(resp, body)),
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", tokens)
    app.router.add_post("/v1/responses", responses)
    return app


IngressFactory = Callable[[Provider], Awaitable[Ingress]]


@pytest.fixture
async def serve() -> AsyncIterator[IngressFactory]:
    """``await serve(provider)``: the stand-in on loopback in front of ``provider``."""
    servers: list[tuple[TestServer, Provider]] = []

    async def start(provider: Provider) -> Ingress:
        ingress = Ingress(provider)
        server = TestServer(build_app(ingress), host="127.0.0.1")
        await server.start_server()
        servers.append((server, provider))
        ingress.url = str(server.make_url("")).rstrip("/")
        return ingress

    yield start
    for server, provider in servers:
        await server.close()
        await provider.aclose()
