"""The Slack bot in HTTP mode: Events API requests at ``POST /slack/events`` on the daemon.

That path needs no gateway token, so the Slack signature is all that keeps others out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiohttp
import pytest
from channel_helpers import gateway, manager, running, slack_yaml
from fake_slack import FakeSlack, form, mention, signed_headers, slash

NAME = "team_notifications"


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


async def test_signed_mention_is_answered_in_its_thread(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack, mode="http")) as gw:
        await running(gw, NAME)
        body = json.dumps(mention("summarise the standup", ts="1700000003.000400")).encode()
        status, _ = await post(gw.base + "/slack/events", body, signed_headers(body))
        assert status == 200
        reply = await fake_slack.wait_post(channel="C_TEAM")
        assert reply["thread_ts"] == "1700000003.000400"
        assert "summarise the standup" in reply["text"]
        assert "apps.connections.open" not in fake_slack.calls  # no socket in HTTP mode
        (rec,) = [r for r in gw.audit() if r.get("channel") == NAME]
        assert rec["service"] == f"slack:{NAME}"


async def test_a_bad_or_stale_signature_is_rejected(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack, mode="http")) as gw:
        await running(gw, NAME)
        body = json.dumps(mention("let me in")).encode()
        forged = signed_headers(body, secret="not-the-signing-secret")
        stale = signed_headers(body, ts=int(time.time()) - 600)
        tampered = signed_headers(body)
        for headers, sent in ((forged, body), (stale, body), (tampered, body + b" "), ({}, body)):
            status, text = await post(gw.base + "/slack/events", sent, headers)
            assert status == 401
            err = json.loads(text)["error"]
            assert (
                err["code"] == "invalid_slack_signature" and err["type"] == "authentication_error"
            )
        assert fake_slack.posts == [] and gw.audit() == []


async def test_url_verification_and_slash_commands_over_http(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack, mode="http")) as gw:
        await running(gw, NAME)
        challenge = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
        status, text = await post(
            gw.base + "/slack/events", challenge.encode(), signed_headers(challenge.encode())
        )
        assert status == 200 and "c-123" in text

        body = form(slash("models", fake_slack.response_url()))
        headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
        status, text = await post(gw.base + "/slack/events", body, headers)
        assert status == 200
        assert "`general` (default): mock/mock-general" in text


async def test_no_http_mode_channel_means_no_slack_route(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:  # socket mode
        await running(gw, NAME)
        body = json.dumps(mention("hello")).encode()
        status, text = await post(gw.base + "/slack/events", body, signed_headers(body))
        assert status == 404
        assert json.loads(text)["error"]["code"] == "not_found"


async def test_http_mode_without_a_signing_secret_does_not_start(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    async with gateway(openclaw_home, slack_yaml(fake_slack, mode="http")) as gw:
        ch = manager(gw).channels[NAME]
        assert ch.state == "error"
        assert "signing_secret ${SLACK_SIGNING_SECRET} (unset)" in (ch.last_error or "")
        body = json.dumps(mention("hello")).encode()
        status, _ = await post(gw.base + "/slack/events", body, signed_headers(body))
        assert status == 404
