"""``POST /v1/chat/completions``: the reference ingress (JSON in, the pipeline, JSON or SSE out).

The pipeline's own wire format is OpenAI chat, so this ingress only validates the body and
makes the exchange; :class:`~openclaw.server.ingress.HttpResponder` renders it as it is.
For streams the first chunk is awaited before any header goes out, so everything that can
fail before the model answers (bad model, policy refusal, every deployment down) still gets
a proper HTTP status; after that a failure ends the stream with an OpenAI-shaped error
event. :meth:`Gateway.run` writes the audit record before the final ``[DONE]`` (or the JSON
body); if the client goes away the handler is cancelled, which cancels the upstream call,
and the record says status 499.
"""

from __future__ import annotations

from aiohttp import web

from openclaw.server.ingress import (
    STATE,
    HttpResponder,
    apply_body_hooks,
    exchange_for,
    read_json,
)
from openclaw.server.schema import validate_chat


async def chat_completions(request: web.Request) -> web.StreamResponse:
    gw = request.app[STATE].gateway  # pin: a reload mid-request does not switch configs
    body, raw = await read_json(request)
    validate_chat(body, max_messages=gw.config.policies.security.max_messages)
    assert isinstance(body, dict)
    st = request.app[STATE]
    body, skill = await apply_body_hooks(request, st, body)
    ex = exchange_for(request, gw, body, raw)
    ex.skill = skill  # the skill X-OpenClaw-Skill attached, if any: the record names it
    out = HttpResponder(request, gw)
    await gw.run(ex, out)
    return out.result()
