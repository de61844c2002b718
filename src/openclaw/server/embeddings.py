"""``POST /v1/embeddings``: OpenAI's embeddings API, through the same pipeline as chat.

The body is OpenAI's on both sides, so the parser only validates it
(:func:`openclaw.ingress.parse_embeddings_request`) and the renderer is the default one. The
dispatcher calls the adapters' ``embed`` for ``api == "embeddings"``; only aliases declared
``kind: embedding`` serve it. Embeddings never stream.
"""

from __future__ import annotations

from aiohttp import web

from openclaw.ingress import parse_embeddings_request
from openclaw.server.ingress import STATE, HttpResponder, exchange_for, read_json


async def embeddings(request: web.Request) -> web.StreamResponse:
    gw = request.app[STATE].gateway
    body, raw = await read_json(request)
    parsed = parse_embeddings_request(body)
    ex = exchange_for(request, gw, parsed, raw, api="embeddings")
    ex.stream = False  # no such thing for embeddings, whatever the body says
    out = HttpResponder(request, gw)
    await gw.run(ex, out)
    return out.result()
