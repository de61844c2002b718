"""Slack safety by default: skills need a grant, DMs obey the allowlists, bodies are capped
before the signature check, commands are answered once, and refusals are audited once and
summarised."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from channel_helpers import gateway, manager, running, slack_yaml, wait_until
from fake_slack import FakeSlack, envelope, mention, signed_headers, slash

import openclaw.channels.refusals as refusals_mod
from openclaw.channels.events import Event
from openclaw.channels.manager import SLACK_MAX_BODY

NAME = "team_notifications"


def refused(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if r.get("refused_at") == "slack"]


# -- skills --------------------------------------------------------------------------------


@pytest.fixture
def word_stats(openclaw_home: Path) -> None:
    scaffold = pytest.importorskip(
        "openclaw.skills.scaffold", reason="the skills package is not part of this build"
    )
    scaffold.create_skill("word-stats", openclaw_home / "skills")


async def test_skills_are_refused_without_a_grant_with_a_helpful_message(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None, word_stats: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:  # no allowlists at all
        await running(gw, NAME)
        cmd = slash('skill word-stats "text=a b"', fake_slack.response_url())
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-s1"))
        text = (await fake_slack.wait_ack("env-s1"))["payload"]["text"]
    assert text.startswith("Running skills from Slack is not enabled for you here.")
    assert f"channel `{NAME}`" in text and "`skill_users`" in text and "`skill_channels`" in text
    assert fake_slack.responses == []
    (rec,) = gw.audit()
    assert rec["status"] == 403 and rec["error"]["code"] == "slack_skills_not_allowed"
    assert (rec["channel_user"], rec["channel_conversation"]) == ("U_ALICE", "C_TEAM")
    assert "skill" not in rec  # nothing ran


async def test_a_channel_grant_lets_anyone_there_run_skills(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None, word_stats: None
) -> None:
    channels = slack_yaml(fake_slack, skill_channels=["C_TEAM"])
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        url = fake_slack.response_url()
        ok = slash('skill word-stats "text=one two"', url, user="U_BOB")
        await fake_slack.send_envelope(envelope("slash_commands", ok, "env-s2"))
        assert (await fake_slack.wait_ack("env-s2"))["payload"]["text"].startswith("Running skill")
        await fake_slack.wait_for(lambda: bool(fake_slack.responses))
        elsewhere = slash('skill word-stats "text=x"', url, user="U_BOB", channel="C_OTHER")
        await fake_slack.send_envelope(envelope("slash_commands", elsewhere, "env-s3"))
        ack = await fake_slack.wait_ack("env-s3")
        assert ack["payload"]["text"].startswith("Running skills from Slack is not enabled")
    records = gw.audit()
    assert [r["skill"]["name"] for r in records if "skill" in r] == ["word-stats"]
    assert [r["error"]["code"] for r in refused(records)] == ["slack_skills_not_allowed"]


# -- DMs -----------------------------------------------------------------------------------


async def test_a_dm_outside_allow_channels_is_refused_and_audited(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    channels = slack_yaml(fake_slack, allow_users=["U_ALICE"], allow_channels=["C_TEAM"])
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        dm = mention("what is in the secret channel?", channel="D_ALICE")
        dm["event"].update(type="message", channel_type="im", text="what is in there?")
        await fake_slack.send_envelope(envelope("events_api", dm, "env-dm"))
        await fake_slack.wait_ack("env-dm")
        later = mention("and in the team channel?", ts="1700000011.000100")
        await fake_slack.send_envelope(envelope("events_api", later, "env-team"))
        await fake_slack.wait_post(channel="C_TEAM")
    assert [p["channel"] for p in fake_slack.posts] == ["C_TEAM"]
    (rec,) = refused(gw.audit())
    assert rec["channel_conversation"] == "D_ALICE" and rec["error"]["code"] == "slack_not_allowed"
    assert "secret channel" not in json.dumps(rec)  # never the message text


# -- HTTP mode: the body cap -----------------------------------------------------------


async def post(url: str, body: bytes | AsyncIterator[bytes], headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers=headers) as r:
        text = await r.text()
        if r.status == 413:
            assert json.loads(text)["error"]["code"] == "request_too_large"
        return r.status


async def test_slack_events_reads_at_most_64_kb_before_the_signature_check(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    assert SLACK_MAX_BODY == 64 * 1024
    async with gateway(openclaw_home, slack_yaml(fake_slack, mode="http")) as gw:
        await running(gw, NAME)
        url = gw.base + "/slack/events"
        big = json.dumps(mention("x" * (SLACK_MAX_BODY + 10))).encode()
        assert await post(url, big, signed_headers(big)) == 413  # even correctly signed
        assert await post(url, big, {"Content-Type": "application/json"}) == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(100):
                yield b"x" * 4096

        assert await post(url, chunks(), {"Content-Type": "application/json"}) == 413
        # Prose, not one 60 KB word: an unbroken base64-like run is an opaque payload to the
        # PII scan (docs/pii.md), which this test is not about.
        small = json.dumps(mention("yyy " * 15_000)).encode()
        assert await post(url, small, signed_headers(small)) == 200  # under the cap: served
        assert (
            "mock-general received: yyy" in (await fake_slack.wait_post(channel="C_TEAM"))["text"]
        )


# -- slash commands are answered once ---------------------------------------------------


async def test_a_redelivered_slash_command_is_answered_and_audited_once(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        await running(gw, NAME)
        cmd = slash("ask how many times?", fake_slack.response_url(), trigger_id="T-once")
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-1"))
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-2"))  # a retry
        assert (await fake_slack.wait_ack("env-1"))["payload"]["text"] == "Asking OpenClaw..."
        assert "payload" not in await fake_slack.wait_ack("env-2")
        await fake_slack.wait_for(lambda: bool(fake_slack.responses))
        other = slash("models", fake_slack.response_url())  # a new invocation still works
        await fake_slack.send_envelope(envelope("slash_commands", other, "env-3"))
        assert "`general`" in (await fake_slack.wait_ack("env-3"))["payload"]["text"]
    assert len(fake_slack.responses) == 1
    assert len([r for r in gw.audit() if r.get("channel") == NAME]) == 1


# -- refusals: audited once, then summarised; a spike is told ----------------------------


async def test_a_burst_of_refusals_is_audited_a_few_times_then_summarised_and_notified(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refusals_mod, "WINDOW", 1.0)
    monkeypatch.setattr(refusals_mod, "SPIKE_AT", 5)
    channels = slack_yaml(fake_slack, allow_users=["U_ALICE"], notify=True, notify_channel="C_OPS")
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        for i in range(25):
            knock = mention(f"let me in {i}", user="U_MALLORY", ts=f"1700000100.{i:06d}")
            await fake_slack.send_envelope(envelope("events_api", knock, f"env-k{i}"))
        await fake_slack.wait_ack("env-k24")
        note = await fake_slack.wait_post(channel="C_OPS")
        await wait_until(lambda: not manager(gw).channels[NAME].refusals.ledger.pending)
    records = refused(gw.audit())
    single = [r for r in records if "refusals" not in r]
    summaries = [r for r in records if "refusals" in r]
    assert summaries and len(single) < 25
    assert len(single) + sum(r["refusals"]["count"] for r in summaries) == 25
    assert all(r["channel_user"] == "U_MALLORY" for r in records)
    assert all("let me in" not in json.dumps(r) for r in records)
    assert note["text"].startswith(":rotating_light: Refusal spike: ")
    assert (
        "slack_not_allowed, from slack:team_notifications user U_MALLORY in C_TEAM" in note["text"]
    )


def test_the_refusal_spike_event_reads_as_one_line() -> None:
    data = {"reason": "invalid_api_key", "source": "127.0.0.1", "count": 240, "window_seconds": 60}
    assert Event("refusal_spike", data).summary() == (
        "Refusal spike: 240 request(s) refused in 60s (invalid_api_key, from 127.0.0.1); "
        "the audit log has them summarised."
    )
