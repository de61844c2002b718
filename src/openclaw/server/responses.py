"""``POST /v1/responses``: the OpenAI Responses ingress, stateless.

The parser (:func:`openclaw.ingress.parse_responses_request`) refuses the stateful fields
(``previous_response_id``, ``store: true``...) with a 400 that says to send the whole
conversation; :class:`ResponsesResponder` renders the outcome as a ``response`` object or the
semantic event stream (``response.created`` ... ``response.completed``, or
``response.failed`` when the stream breaks; no ``[DONE]``). Errors before the stream are the
OpenAI error shape, as the Responses API's own.
"""

from __future__ import annotations

from aiohttp import web

from openclaw.errors import OpenClawError
from openclaw.ingress import ResponsesStream, parse_responses_request, render_responses_response
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.pipeline.gateway import Gateway
from openclaw.server.ingress import STATE, HttpResponder, exchange_for, read_json
from openclaw.server.schema import check_message_count


class ResponsesResponder(HttpResponder):
    """The pipeline's outcome in the Responses wire format; ``request`` is the client's body."""

    def __init__(self, request: web.Request, gw: Gateway, body: Json) -> None:
        super().__init__(request, gw)
        self.body = body
        self.stream = ResponsesStream(body)

    def render_answer(self, ex: Exchange, resp: Json) -> Json:
        return render_responses_response(resp, self.body)

    def frames(self, ex: Exchange, chunk: Json) -> list[bytes]:
        return [self.stream.feed(chunk)]

    def closing_frames(self, ex: Exchange) -> list[bytes]:
        return [self.stream.finish()]

    def error_frames(self, ex: Exchange, exc: OpenClawError) -> list[bytes]:
        return [self.stream.error(exc)]


async def responses(request: web.Request) -> web.StreamResponse:
    gw = request.app[STATE].gateway
    body, raw = await read_json(request)
    if isinstance(body, dict):
        check_message_count(body.get("input"), gw.config.policies.security.max_messages, "input")
    chat = parse_responses_request(body)
    assert isinstance(body, dict)
    ex = exchange_for(request, gw, chat, raw, api="responses")
    out = ResponsesResponder(request, gw, body)
    await gw.run(ex, out)
    return out.result()
