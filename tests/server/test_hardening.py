"""The door against hostile clients: auth throttling, slow clients, huge requests, audit floods.

Each test pins down one defence named in docs/security.md.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from fakes.providers import OpenAIUpstream
from fakes.upstreams import Reply
from harness import MOCK_MODELS, Served, serve_gateway
from limits.limits_redis import RedisServer, state_yaml
from openclaw.daemon import make_app
from openclaw.server.auth import ensure_token
from openclaw.server.errors import write_refusal_summaries
from openclaw.server.runner import GuardedRunner
from openclaw.server.state import AppState


async def post_chat(served: Served, token: str, content: str = "hi") -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as c:
        return await c.post(
            "/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": "general", "messages": [{"role": "user", "content": content}]},
        )


# -------------------------------------------------------------------- auth throttling


async def test_repeated_bad_tokens_get_429_with_a_growing_retry_after(
    openclaw_home: Path,
) -> None:
    served = await serve_gateway(
        openclaw_home,
        policies="security:\n  auth_throttle: {failures_per_minute: 5, failures_per_hour: 50}\n",
    )
    now = [1000.0]
    served.state.assembly.shared.memory.clock = lambda: now[0]
    try:
        codes = [(await post_chat(served, "wrong")).status_code for _ in range(7)]
        assert codes == [401] * 5 + [429, 429]
        first = await post_chat(served, "wrong")
        again = await post_chat(served, "wrong")
        assert first.json()["error"]["code"] == "auth_throttled"
        assert int(again.headers["Retry-After"]) > int(first.headers["Retry-After"]) >= 1
        # While penalised, even the right token is refused: a guess tells nothing.
        assert (await post_chat(served, served.token)).status_code == 429
        # Once the penalty has run out, the right token works again.
        now[0] += 600
        assert (await post_chat(served, served.token)).status_code == 200
    finally:
        await served.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


async def test_the_auth_penalty_is_shared_through_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    policies = (
        "security:\n  auth_throttle: {failures_per_minute: 3, failures_per_hour: 50}\n"
        + state_yaml(redis_server.url, prefix=f"t{uuid.uuid4().hex[:10]}:")
    )
    homes = [tmp_path / "a", tmp_path / "b"]
    for h in homes:
        h.mkdir()
    a = await serve_gateway(homes[0], policies=policies)
    b = await serve_gateway(homes[1], policies=policies)
    try:
        assert [(await post_chat(a, "wrong")).status_code for _ in range(3)] == [401] * 3
        # b has not seen this address fail yet: one more try, then the shared penalty.
        assert (await post_chat(b, "wrong")).status_code == 401
        assert (await post_chat(b, "wrong")).status_code == 429
    finally:
        await a.close()
        await b.close()


# -------------------------------------------------------------------- slow clients


@pytest.fixture
async def guarded(openclaw_home: Path) -> AsyncIterator[tuple[int, AppState]]:
    """The app served by the daemon's own runner, with short deadlines."""
    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    (openclaw_home / "policies.yaml").write_text(
        "security:\n  header_timeout_seconds: 0.5\n  body_timeout_seconds: 0.5\n"
        "  keepalive_timeout_seconds: 0.8\n"
    )
    state = AppState.build(openclaw_home, ensure_token(openclaw_home))
    sec = state.config.policies.security
    runner = GuardedRunner(
        make_app(state),
        header_timeout=sec.header_timeout_seconds,
        keepalive_timeout=sec.keepalive_timeout_seconds,
        access_log=None,
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield port, state
    await runner.cleanup()
    await state.assembly.aclose()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True if the server closes the connection (EOF) before ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(4096):
                pass
        return True
    except TimeoutError:
        return False


async def test_a_client_that_sends_half_its_headers_is_cut_off(
    guarded: tuple[int, AppState],
) -> None:
    port, _ = guarded
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    assert await closed_within(reader, 5.0)
    assert time.monotonic() - started < 3.0
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed(guarded: tuple[int, AppState]) -> None:
    port, _ = guarded
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert b"200 OK" in await asyncio.wait_for(reader.read(4096), 5)
    assert await closed_within(reader, 5.0)
    writer.close()


async def test_a_body_that_never_finishes_gets_408_and_an_audit_record(
    guarded: tuple[int, AppState], openclaw_home: Path
) -> None:
    port, state = guarded
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {state.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + b'{"model": "general", ')
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"body_timeout_seconds" in answer
    (rec,) = [r for r in AuditLines(openclaw_home)]
    assert rec["status"] == 408 and rec["refused_at"] == "pipeline_entry"


def AuditLines(home: Path) -> list[dict[str, Any]]:
    import json

    path = home / "audit.log"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


async def test_a_streaming_client_that_stops_reading_is_cut_and_releases_its_slot(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLING_TOKEN", "ocs_billing_" + "x" * 40)
    served = await serve_gateway(
        openclaw_home,
        models=(
            f'providers:\n  up: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\n'
            "models:\n  general: {provider: up, model: m}\n"
        ),
        policies=(
            "security: {write_timeout_seconds: 0.5}\n"
            "services:\n  - name: billing\n    token: ${BILLING_TOKEN}\n    max_concurrent: 1\n"
        ),
    )
    # 160 deltas of 64 KB: more than the socket buffers hold for a client that reads nothing.
    openai_upstream.enqueue(Reply(text=" ".join(["x" * 65536] * 160)))
    body = b'{"model": "general", "stream": true, "messages": [{"role": "user", "content": "go"}]}'
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer ocs_billing_{'x' * 40}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", served.server.port or 0))
            s.sendall(head.encode() + body)
            # ... and read nothing: the gateway's writes block, then time out.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not served.audit():
                await asyncio.sleep(0.05)
        (rec,) = served.audit()
        assert rec["status"] == 499 and rec["client_gone"] == "write_timeout"
        assert rec["stream_cut"] is True
        lease = served.state.gateway.state.backend_for("limits")
        assert await lease.in_flight("service:billing:concurrency") == 0
        # The slot is free: the same service is served again at once.
        openai_upstream.enqueue(Reply(text="ok"))
        assert (await post_chat(served, "ocs_billing_" + "x" * 40)).status_code == 200
    finally:
        await served.close()


# -------------------------------------------------------------------- huge requests


async def test_too_many_messages_are_refused_before_any_scan(openclaw_home: Path) -> None:
    served = await serve_gateway(
        openclaw_home,
        policies=(
            "security: {max_messages: 5}\npolicies:\n"
            "  - {name: pii, rule: if_context_contains_pii_use_sensitive_model, enforce: true}\n"
        ),
    )
    try:
        msgs = [{"role": "user", "content": f"turn {i} mail a@b.example"} for i in range(6)]
        async with httpx.AsyncClient(base_url=served.url, headers=served.auth) as c:
            r = await c.post("/chat/completions", json={"model": "general", "messages": msgs})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "too_many_messages"
        assert "security.max_messages" in r.json()["error"]["message"]
        (rec,) = served.audit()
        assert rec["refused_at"] == "pipeline_entry" and rec["policies"] == []
    finally:
        await served.close()


# -------------------------------------------------------------------- audit floods


async def test_door_refusals_are_summarised_beyond_a_small_rate(openclaw_home: Path) -> None:
    served = await serve_gateway(
        openclaw_home, policies="security:\n  auth_throttle: {enabled: false}\n"
    )
    spikes: list[dict[str, Any]] = []
    served.state.gateway.events.subscribe(
        lambda kind, data, key: spikes.append(data) if kind == "refusal_spike" else None
    )
    try:
        for _ in range(100):
            assert (await post_chat(served, "wrong")).status_code == 401
        per_minute = served.state.refusals.per_minute
        assert len(served.audit()) == per_minute  # the rest are held for the summary
        assert len(spikes) == 1 and spikes[0]["reason"] == "invalid_api_key"
        assert await write_refusal_summaries(served.state) == 1
        recs = served.audit()
        assert len(recs) == per_minute + 1
        summary = recs[-1]
        assert summary["refusals_summarised"] == 100 - per_minute
        assert summary["status"] == 401 and summary["refused_at"] == "door"
        # A served request still gets its own record.
        assert (await post_chat(served, served.token)).status_code == 200
        assert served.audit()[-1]["status"] == 200
    finally:
        await served.close()
