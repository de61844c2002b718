"""Gateway events reach ``notify: true`` channels and signed webhooks, without blocking requests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from channel_helpers import gateway, manager, running, slack_yaml, wait_until
from fake_slack import FakeSlack, envelope, mention

import openclaw.channels.events as events_mod
from harness import Served
from openclaw.audit.log import AuditWriteError
from openclaw.channels import verify_signature

SECRET = "whsec-test-0123456789"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failover_models() -> str:
    """``general`` tries a deployment nobody listens on, then the mock."""
    return f"""\
providers:
  down: {{type: openai_compatible, base_url: "http://127.0.0.1:{closed_port()}/v1"}}
models:
  general:
    deployments:
      - {{provider: down, model: gpt-down}}
      - {{provider: mock, model: mock-general}}
    max_retries: 0
  sensitive:
    provider: mock
    model: mock-local
"""


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records what it gets."""

    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    hold: asyncio.Event | None = None  # when set, requests wait for it before answering
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/openclaw", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hooks/openclaw"
    yield rec
    if rec.hold is not None:
        rec.hold.set()
    await runner.cleanup()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_mod, "BACKOFF_BASE", 0.01)


def webhook_yaml(
    url: str, *, events: list[str] | None = None, secret: str | None = "${OC_HOOK_SECRET}"
) -> str:
    lines = ["channels:", "  - type: webhook", "    name: ops_hook", f"    url: {url}"]
    if secret:
        lines.append(f'    secret: "{secret}"')
    if events is not None:
        lines.append(f"    events: {json.dumps(events)}")
    return "\n".join(lines) + "\n"


async def ask(gw: Served, text: str = "hello") -> dict[str, Any]:
    return await gw.state.gateway.chat({"messages": [{"role": "user", "content": text}]})


async def test_webhook_receives_a_signed_failover_event_that_verifies(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    async with gateway(openclaw_home, webhook_yaml(receiver.url), failover_models()) as gw:
        await running(gw, "ops_hook")
        resp = await ask(gw, "summarise the quarterly plan please")
        assert resp["openclaw"]["provider"] == "mock"
        await asyncio.wait_for(receiver.arrived.wait(), 10)

    headers, body = receiver.got[0]
    ts, sig = headers["X-OpenClaw-Timestamp"], headers["X-OpenClaw-Signature"]
    expected = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sig == f"sha256={expected}"
    assert abs(int(ts) - time.time()) < 60
    assert verify_signature(SECRET, ts, body, sig)
    assert not verify_signature(SECRET, ts, body + b" ", sig)
    assert not verify_signature("another-secret", ts, body, sig)
    assert not verify_signature(SECRET, str(int(ts) - 3600), body, sig)  # replayed later

    event = json.loads(body)
    assert headers["X-OpenClaw-Event"] == event["kind"] == "failover"
    assert headers["X-OpenClaw-Delivery"] == event["id"]
    assert headers["Content-Type"] == "application/json"
    data = event["data"]
    assert data["model"] == "general" and data["fallback_to"] is None
    assert [a["deployment"] for a in data["attempts"]][-1].startswith("mock/")
    assert data["served_by"].startswith("mock/")
    assert b"quarterly" not in body  # facts, never content


async def test_a_failing_webhook_is_retried_with_backoff_under_one_delivery_id(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    receiver.statuses = [503, 500]
    async with gateway(openclaw_home, webhook_yaml(receiver.url)) as gw:
        hook = await running(gw, "ops_hook")
        gw.state.gateway.events.emit("rate_limited", {"service": "billing", "limit": "60/min"})
        await wait_until(lambda: len(receiver.got) == 3)
        await wait_until(lambda: hook.handled == 1)
        box = manager(gw).bus.status()["receivers"]["ops_hook"]
        assert box == {"queued": 0, "delivered": 1, "failed": 0, "dropped": 0}
    ids = {h["X-OpenClaw-Delivery"] for h, _ in receiver.got}
    assert len(ids) == 1
    for h, body in receiver.got:
        assert verify_signature(SECRET, h["X-OpenClaw-Timestamp"], body, h["X-OpenClaw-Signature"])


async def test_a_webhook_that_keeps_failing_gives_up_and_records_why(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    receiver.statuses = [500] * 10
    async with gateway(openclaw_home, webhook_yaml(receiver.url)) as gw:
        hook = await running(gw, "ops_hook")
        gw.state.gateway.events.emit("budget_exceeded", {"service": "billing"})
        await wait_until(lambda: hook.last_error is not None)
        assert len(receiver.got) == 5  # max_attempts defaults to 5
        assert hook.last_error is not None
        assert "not delivered after 5 attempt(s)" in hook.last_error
        assert "/hooks/openclaw" not in hook.last_error  # the origin only: URLs carry tokens
        assert hook.state == "running"


async def test_a_stuck_webhook_never_blocks_a_request(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    receiver.hold = asyncio.Event()
    async with gateway(openclaw_home, webhook_yaml(receiver.url), failover_models()) as gw:
        await running(gw, "ops_hook")
        await ask(gw)  # failover: an event goes to the stuck receiver
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        # The receiver has not answered, yet further requests are served.
        for _ in range(3):
            resp = await ask(gw)
            assert resp["choices"][0]["message"]["content"]
        assert not receiver.hold.is_set()
        receiver.hold.set()


async def test_breaker_and_reload_and_audit_failures_become_events(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    async with gateway(openclaw_home, webhook_yaml(receiver.url)) as gw:
        await running(gw, "ops_hook")
        breakers = gw.state.gateway.dispatcher.breakers
        for _ in range(3):
            breakers.failure("openai/gpt-4o")
        breakers.success("openai/gpt-4o")

        (openclaw_home / "models.yaml").write_text("models:\n  general: {provider: nope}\n")
        result = await gw.state.reload("test")
        assert not result.ok

        def broken(record: dict[str, Any]) -> None:
            gw.state.gateway.audit.last_error = "No space left on device"
            raise AuditWriteError("audit log write failed (No space left on device)")

        monkeypatch.setattr(gw.state.gateway.audit, "write", broken)
        monkeypatch.setattr(gw.state.gateway.audit, "ready", lambda: None)
        await ask(gw)
        await ask(gw)  # still failing: reported once, not per request

        await wait_until(lambda: len(receiver.got) == 4)
    kinds = [json.loads(body)["kind"] for _, body in receiver.got]
    assert kinds == [
        "breaker_opened",
        "breaker_closed",
        "config_reload_failed",
        "audit_write_failed",
    ]
    data = [json.loads(body)["data"] for _, body in receiver.got]
    assert data[0] == {"deployment": "openai/gpt-4o", "previous": "closed"}
    assert data[1]["previous"] == "open"
    assert "models.yaml" in data[2]["error"]
    assert data[3]["error"] == "No space left on device"


async def test_a_webhook_only_gets_the_events_it_lists_and_repeats_are_coalesced(
    openclaw_home: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_HOOK_SECRET", SECRET)
    async with gateway(openclaw_home, webhook_yaml(receiver.url, events=["rate_limited"])) as gw:
        await running(gw, "ops_hook")
        gw.state.gateway.events.emit("breaker_opened", {"deployment": "x/y", "previous": "closed"})
        gw.state.gateway.events.emit("rate_limited", {"service": "a"}, key="a")
        gw.state.gateway.events.emit(
            "rate_limited", {"service": "a"}, key="a"
        )  # within the window: counted, not sent
        gw.state.gateway.events.emit("rate_limited", {"service": "b"}, key="b")
        await wait_until(lambda: len(receiver.got) == 2)
        assert manager(gw).bus.emitted == 3
    sent = [json.loads(body) for _, body in receiver.got]
    assert [e["data"]["service"] for e in sent] == ["a", "b"]
    with pytest.raises(ValueError, match="unknown event kind"):
        gw.state.gateway.events.emit(
            "something_else", {}
        )  # a typo fails even with no daemon running


async def test_a_webhook_without_a_usable_secret_does_not_start(
    openclaw_home: Path, receiver: Receiver
) -> None:
    async with gateway(openclaw_home, webhook_yaml(receiver.url, secret=None)) as gw:
        hook = manager(gw).channels["ops_hook"]
        assert hook.state == "error"
        assert hook.last_error is not None and "needs 'secret" in hook.last_error
    async with gateway(openclaw_home, webhook_yaml(receiver.url)) as gw:
        hook = manager(gw).channels["ops_hook"]
        assert hook.last_error == (
            "the webhook secret ${OC_HOOK_SECRET} (unset) is not set in the daemon's environment"
        )
        gw.state.gateway.events.emit("rate_limited", {"service": "a"})
    assert receiver.got == []  # never sent unsigned


async def test_a_notify_slack_channel_receives_a_failover_event(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    channels = slack_yaml(fake_slack, notify=True, notify_channel="C_OPS")
    async with gateway(openclaw_home, channels, failover_models()) as gw:
        await running(gw, "team_notifications")
        body = mention("draft the incident summary", ts="1700000005.000100")
        await fake_slack.send_envelope(envelope("events_api", body, "env-f"))
        reply = await fake_slack.wait_post(channel="C_TEAM")
        assert "failover from" not in reply["text"]  # same alias, another deployment
        note = await fake_slack.wait_post(channel="C_OPS")
    assert note["text"].startswith(":rotating_light: Failover on model 'general'")
    assert "down/gpt-down (upstream_unreachable)" in note["text"]
    assert "served by mock/mock-general" in note["text"]
    assert "incident summary" not in note["text"]  # content stays in its own channel
    assert "thread_ts" not in note or note["thread_ts"] is None
