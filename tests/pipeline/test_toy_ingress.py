"""A toy ingress API, wired through the pipeline's one entry point and nothing else.

The toy wire format (``POST /toy/ask`` with ``{"question": ...}``, answered ``{"answer": ...}``
or streamed as NDJSON lines) is a parser plus a :class:`HttpResponder` subclass, installed as a
route installer. These tests show that limits, policies, the cache, dispatch, the audit log and
metrics all apply to it without any change to the pipeline: the seam the Anthropic Messages,
Responses and Embeddings ingresses plug into.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from fakes.providers import OllamaUpstream, OpenAIUpstream
from openclaw.errors import OpenClawError
from openclaw.observability import routes as observability
from openclaw.pipeline.exchange import Exchange, Json
from openclaw.server.app import create_app
from openclaw.server.auth import ensure_token
from openclaw.server.ingress import STATE, HttpResponder, exchange_for
from openclaw.server.state import AppState


class ToyResponder(HttpResponder):
    content_type = "application/x-ndjson"

    def render_answer(self, ex: Exchange, resp: Json) -> Json:
        msg = resp["choices"][0]["message"]
        return {"answer": msg["content"], "draft": ex.draft, "served_by": ex.alias}

    def render_error(self, ex: Exchange, exc: OpenClawError) -> Json:
        return {"toy_error": exc.code, "why": exc.message}

    def frames(self, ex: Exchange, chunk: Json) -> list[bytes]:
        out = []
        for c in chunk.get("choices") or []:
            text = (c.get("delta") or {}).get("content")
            if text:
                out.append(orjson.dumps({"piece": text}) + b"\n")
        return out

    def closing_frames(self, ex: Exchange) -> list[bytes]:
        return [orjson.dumps({"done": True, "draft": ex.draft}) + b"\n"]

    def error_frames(self, ex: Exchange, exc: OpenClawError) -> list[bytes]:
        return [orjson.dumps(self.render_error(ex, exc)) + b"\n"]


async def toy_ask(request: web.Request) -> web.StreamResponse:
    """The parser: toy wire -> the provider-neutral chat body; the rest is the pipeline's."""
    gw = request.app[STATE].gateway
    toy = await request.json()
    body = {
        "model": toy.get("model", "general"),
        "messages": [{"role": "user", "content": toy["question"]}],
        "stream": bool(toy.get("stream")),
        "temperature": 0,  # the toy API is deterministic, so the cache may answer it
    }
    ex = exchange_for(request, gw, body, None, api="toy")
    out = ToyResponder(request, gw)
    await gw.run(ex, out)
    return out.result()


def install_toy(app: web.Application, state: AppState) -> None:
    app.router.add_post("/toy/ask", toy_ask)


POLICIES = """\
policies:
  - {name: drafts, rule: all_outputs_are_drafts, enforce: true}
  - {name: pii_local, rule: if_context_contains_pii_use_sensitive_model, enforce: true}
  - {name: audit, rule: log_all_requests_and_responses, enforce: true}
limits:
  global: {requests_per_minute: 5, burst: 5}
cache: {enabled: true}
"""


@pytest.fixture
async def toy(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    (openclaw_home / "models.yaml").write_text(
        "providers:\n"
        f'  remote: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\n'
        f'  local: {{type: ollama, base_url: "{ollama_upstream.url}"}}\n'
        "models:\n"
        "  general: {provider: remote, model: gpt-4o-mini}\n"
        "  sensitive: {provider: local, model: llama3.1}\n"
    )
    (openclaw_home / "policies.yaml").write_text(POLICIES)
    token = ensure_token(openclaw_home)
    state = AppState.build(openclaw_home, token)
    server = TestServer(create_app(state, [observability.install, install_toy]), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client, state
    await server.close()
    await state.assembly.aclose()
    state.gateway.audit.close()


def records(home: Path) -> list[dict[str, Any]]:
    text = (home / "audit.log").read_text()
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


async def test_a_toy_ingress_gets_dispatch_policies_cache_audit_and_metrics(
    toy: tuple[httpx.AsyncClient, AppState],
    openclaw_home: Path,
    openai_upstream: OpenAIUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    client, _ = toy
    r = await client.post("/toy/ask", json={"question": "what is a monad?"})
    assert r.status_code == 200
    body = r.json()
    assert body["served_by"] == "general" and body["draft"] is True  # drafts policy
    assert body["answer"]  # the remote fake's text, through the toy renderer
    assert len(openai_upstream.chat_requests()) == 1

    # The cache answers the same question; the upstream is not called again.
    again = await client.post("/toy/ask", json={"question": "what is a monad?"})
    assert again.json()["answer"] == body["answer"]
    assert len(openai_upstream.chat_requests()) == 1

    # PII routes to the local model; the remote upstream never sees it.
    pii = await client.post("/toy/ask", json={"question": "email jane.doe@example.com back"})
    assert pii.json()["served_by"] == "sensitive"
    assert len(ollama_upstream.chat_requests()) == 1
    assert all(
        "jane.doe@example.com" not in orjson.dumps(r.json).decode()
        for r in openai_upstream.requests
    )

    recs = records(openclaw_home)
    assert [r["api"] for r in recs] == ["toy", "toy", "toy"]
    assert [r["cache"] for r in recs][:2] == ["miss", "hit"]
    assert recs[2]["model"] == "sensitive"
    assert {p["policy"] for p in recs[0]["policies"]} == {"drafts", "pii_local", "audit"}

    metrics = (await client.get("/metrics")).text
    assert 'openclaw_requests_total{method="POST",route_id="general",status="200"} 2.0' in metrics
    assert 'openclaw_requests_total{method="POST",route_id="sensitive",status="200"} 1.0' in metrics
    assert 'openclaw_cache_hits_total{route_id="general"} 1.0' in metrics


async def test_a_toy_ingress_is_rate_limited_and_renders_the_refusal_its_own_way(
    toy: tuple[httpx.AsyncClient, AppState], openclaw_home: Path
) -> None:
    client, _ = toy
    statuses = []
    for i in range(7):
        r = await client.post("/toy/ask", json={"question": f"question number {i}"})
        statuses.append(r.status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    refused = r.json()
    assert refused["toy_error"] == "rate_limit_exceeded"
    assert "Retry-After" in r.headers
    recs = records(openclaw_home)
    assert len(recs) == 7  # every request, refused or not, has exactly one record
    assert [x["status"] for x in recs][5:] == [429, 429]


async def test_a_toy_stream_goes_through_the_same_lifecycle(
    toy: tuple[httpx.AsyncClient, AppState], openclaw_home: Path
) -> None:
    client, state = toy
    r = await client.post("/toy/ask", json={"question": "count to five", "stream": True})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [orjson.loads(x) for x in r.text.splitlines()]
    assert lines[-1] == {"done": True, "draft": True}
    assert "".join(x.get("piece", "") for x in lines[:-1]) == "fake-openai heard: count to five"
    (rec,) = records(openclaw_home)
    assert rec["api"] == "toy" and rec["stream"] is True and rec["stream_cut"] is False
    # Every stage released what it held: no request is left in flight.
    assert await state.gateway.state.backend_for("limits").in_flight("global") == 0
