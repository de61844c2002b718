"""What every HTTP ingress shares: reading the body, making the exchange, rendering over HTTP.

An ingress API is a parser (its wire format -> an :class:`Exchange` whose body is the
provider-neutral chat request) plus a :class:`HttpResponder` subclass (the outcome -> its
wire format, streamed or not). :meth:`Gateway.run` does everything in between, so limits,
policies, cache, dispatch, audit and metrics apply to every API with no copy of the
lifecycle. ``server/chat.py`` is the reference ingress; ARCHITECTURE.md says how to add one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from openclaw.errors import InvalidRequest, OpenClawError, PermissionDenied
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.pipeline.gateway import Gateway
from openclaw.pipeline.stage import ClientGone
from openclaw.server.state import AppState

STATE: web.AppKey[AppState] = web.AppKey("openclaw_state", AppState)


def _request_key(name: str, kind: type) -> Any:
    # A typed key where aiohttp has them (it warns about plain string keys), else the string.
    return web.RequestKey(name, kind) if hasattr(web, "RequestKey") else name


#: Set by the auth middleware when the bearer token is a service's token (its name).
SERVICE_IDENTITY: Any = _request_key("openclaw_service", str)
#: Set once the request has an exchange, whose audit record the pipeline writes; until then a
#: refusal is audited by the error middleware (:func:`openclaw.server.errors.audit_refusal`).
EXCHANGE_MADE: Any = _request_key("openclaw_exchange", bool)
#: Set by the auth middleware when the request passed the security and auth checks.
PASSED_DOOR: Any = _request_key("openclaw_door", bool)
#: The model-request routes and the ingress API each speaks (``Exchange.api``).
API_BY_PATH = {
    "/v1/chat/completions": "chat",
    "/v1/messages": "messages",
    "/v1/responses": "responses",
    "/v1/embeddings": "embeddings",
}
#: A request to one of these refused before its exchange is made is still audited.
MODEL_PATHS = frozenset(API_BY_PATH)


async def read_json(request: web.Request) -> tuple[object, bytes]:
    """The body as JSON; 408 if it does not arrive within ``security.body_timeout_seconds``."""
    limit = request.app[STATE].config.policies.security.body_timeout_seconds
    try:
        if request.content.is_eof():  # arrived with the head, as small bodies do: no wait
            raw = await request.read()
        else:
            async with asyncio.timeout(limit):
                raw = await request.read()
    except TimeoutError:
        raise OpenClawError(
            f"the request body did not arrive within {limit:g} s "
            "(security.body_timeout_seconds in policies.yaml)",
            status=408,
            code="request_timeout",
        ) from None
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object", code="invalid_json")
    try:
        return orjson.loads(raw), raw
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            f"request body is not valid JSON ({exc})", code="invalid_json"
        ) from None


async def apply_body_hooks(
    request: web.Request, st: AppState, body: Json
) -> tuple[Json, Json | None]:
    """Let route installers' body hooks change the request before its exchange is made.

    The skills API adds one: ``X-OpenClaw-Skill: NAME`` puts an instruction-only skill's
    instructions before the caller's messages. Returns the body and what the audit record
    should say of the skill (None: no skill). A hook refuses by raising.
    """
    skill: Json | None = None
    for hook in st.body_hooks:
        body, named = await hook(request, body)
        skill = named if named is not None else skill
    return body, skill


def exchange_for(
    request: web.Request, gw: Gateway, body: Json, raw: bytes | None, *, api: str = "chat"
) -> Exchange:
    """The exchange for an authenticated request: service, channel, task, cache header.

    A service token that claims another service's name fails the exchange here; the
    pipeline then records and refuses it like any other refusal.
    """
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
    ex.api = api
    ex.traceparent = request.headers.get("traceparent")
    request[EXCHANGE_MADE] = True
    ex.cache_control = request.headers.get("X-OpenClaw-Cache")
    if identity is not None:
        ex.audit.auth = "service_token"
        if claimed and claimed != identity:
            ex.audit.claimed_service = claimed[:64]
            ex.fail(
                PermissionDenied(
                    f"this token belongs to service '{identity}'; it cannot act as "
                    f"'{claimed[:64]}' (drop the X-OpenClaw-Service header or use that "
                    "service's token)",
                    code="service_mismatch",
                )
            )
    return ex


class HttpResponder:
    """Renders the pipeline's outcome as OpenAI chat JSON or SSE; ingresses override the
    ``render_*`` and ``frame`` methods for their own wire format."""

    content_type = "text/event-stream"

    def __init__(self, request: web.Request, gw: Gateway) -> None:
        self.request = request
        self.gw = gw
        self.response: web.StreamResponse | None = None

    # -- what an ingress changes ---------------------------------------------------------
    def render_answer(self, ex: Exchange, resp: Json) -> Json:
        return resp

    def render_error(self, ex: Exchange, exc: OpenClawError) -> Json:
        return exc.to_dict()

    def frames(self, ex: Exchange, chunk: Json) -> list[bytes]:
        return [b"data: " + orjson.dumps(chunk) + b"\n\n"]

    def closing_frames(self, ex: Exchange) -> list[bytes]:
        return [b"data: [DONE]\n\n"]

    def error_frames(self, ex: Exchange, exc: OpenClawError) -> list[bytes]:
        return [b"data: " + orjson.dumps(self.render_error(ex, exc)) + b"\n\n"]

    # -- the Responder protocol ----------------------------------------------------------
    async def answer(self, ex: Exchange, resp: Json) -> None:
        self.response = web.Response(
            body=orjson.dumps(self.render_answer(ex, resp)),
            status=200,
            content_type="application/json",
            headers=self.gw.headers(ex),
        )

    async def refuse(self, ex: Exchange, exc: OpenClawError) -> None:
        headers = dict(exc.headers)
        headers.update(self.gw.headers(ex))
        self.response = web.Response(
            body=orjson.dumps(self.render_error(ex, exc)),
            status=exc.status,
            content_type="application/json",
            headers=headers,
        )

    async def open(self, ex: Exchange) -> None:
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": self.content_type,
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                **self.gw.headers(ex),
            },
        )
        self.response = resp
        await resp.prepare(self.request)

    async def send(self, ex: Exchange, chunk: Json) -> None:
        await self._write(self.frames(ex, chunk))

    async def close(self, ex: Exchange) -> None:
        await self._write(self.closing_frames(ex))
        assert self.response is not None
        await self.response.write_eof()

    async def cut(self, ex: Exchange, exc: OpenClawError) -> None:
        await self._write(self.error_frames(ex, exc))
        assert self.response is not None
        await self.response.write_eof()

    async def _write(self, frames: list[bytes]) -> None:
        """Write, giving a client that stopped reading ``security.write_timeout_seconds``.

        Past that the connection is closed and the exchange ends as ``client_gone``, so its
        concurrency slot, buckets and upstream connection are released."""
        assert self.response is not None
        limit = self.gw.config.policies.security.write_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                for f in frames:
                    await self.response.write(f)
        except TimeoutError:
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            raise ClientGone("write_timeout", f"the client read nothing for {limit:g} s") from None

    def refusal(self) -> web.Response:
        assert isinstance(self.response, web.Response), "the pipeline did not refuse"
        return self.response

    def result(self) -> web.StreamResponse:
        assert self.response is not None, "the pipeline rendered nothing"
        return self.response
