"""The Slack bot in Socket Mode: the real slack-bolt app against a fake Slack on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from channel_helpers import gateway, manager, running, slack_yaml, wait_until
from fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, envelope, mention, slash

NAME = "team_notifications"


def contexts(post: dict[str, Any]) -> list[str]:
    return [
        el["text"]
        for b in post.get("blocks") or []
        if b["type"] == "context"
        for el in b["elements"]
    ]


def sections(post: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in post.get("blocks") or [] if b["type"] == "section")


async def test_mention_gets_threaded_draft_reply_through_gateway_with_audit_record(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    channels = slack_yaml(fake_slack, allow_users=["U_ALICE"])
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        assert "apps.connections.open" in fake_slack.calls

        body = mention(
            "task:summarization please summarise the release notes", ts="1700000001.000200"
        )
        await fake_slack.send_envelope(envelope("events_api", body, "env-1"))
        ack = await fake_slack.wait_ack("env-1")
        assert ack == {"envelope_id": "env-1"}

        post = await fake_slack.wait_post(channel="C_TEAM")
        assert post["thread_ts"] == "1700000001.000200"
        assert "mock-general received: please summarise the release notes" in sections(post)
        assert any("Draft: review before acting" in c for c in contexts(post))
        assert not any("PII" in c for c in contexts(post))

        records = [r for r in gw.audit() if r.get("channel") == NAME]
        assert len(records) == 1
        rec = records[0]
        assert rec["service"] == f"slack:{NAME}"
        assert rec["task"] == "summarization"
        assert rec["model"] == "general" and rec["draft"] is True and rec["status"] == 200


async def test_pii_in_a_mention_is_served_by_the_sensitive_model_and_the_reply_says_so(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        await running(gw, NAME)
        body = mention("draft a reply to jane.doe@example.com about her refund")
        await fake_slack.send_envelope(envelope("events_api", body, "env-pii"))
        post = await fake_slack.wait_post(channel="C_TEAM")

        notes = " ".join(contexts(post))
        assert (
            "Served by the local model `sensitive` because PII was found (EMAIL_ADDRESS)" in notes
        )
        assert "mock-local" in sections(post)  # the sensitive model's deployment answered
        assert "jane.doe@example.com" not in notes  # entity types only, never the value
        (rec,) = [r for r in gw.audit() if r.get("channel") == NAME]
        assert rec["model"] == "sensitive" and rec["provider_model"] == "mock-local"


async def test_user_or_channel_outside_the_allowlist_is_ignored(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    channels = slack_yaml(fake_slack, allow_users=["U_ALICE"], allow_channels=["C_TEAM"])
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        stranger = mention("tell me a secret", user="U_MALLORY")
        elsewhere = mention("hello from another channel", channel="C_OTHER")
        await fake_slack.send_envelope(envelope("events_api", stranger, "env-a"))
        await fake_slack.send_envelope(envelope("events_api", elsewhere, "env-b"))
        await fake_slack.wait_ack("env-a")
        await fake_slack.wait_ack("env-b")  # acknowledged, so Slack does not redeliver
        allowed = mention("who may talk to you?")
        await fake_slack.send_envelope(envelope("events_api", allowed, "env-c"))
        await fake_slack.wait_post(channel="C_TEAM")

        assert len(fake_slack.posts) == 1
        assert "who may talk to you?" in sections(fake_slack.posts[0])
        records = [r for r in gw.audit() if r.get("channel") == NAME]
        assert len([r for r in records if "refused_at" not in r]) == 1
        refused = [(r["channel_user"], r["channel_conversation"]) for r in records[:2]]
        assert refused == [("U_MALLORY", "C_TEAM"), ("U_ALICE", "C_OTHER")]


async def test_a_dm_is_answered_once_even_when_slack_redelivers_it(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    # DMs obey allow_channels like any conversation: this one is listed.
    channels = slack_yaml(fake_slack, allow_users=["U_ALICE"], allow_channels=["C_TEAM", "D_ALICE"])
    async with gateway(openclaw_home, channels) as gw:
        await running(gw, NAME)
        dm = mention("what changed today?", channel="D_ALICE", ts="1700000009.000100")
        dm["event"].update(type="message", channel_type="im", text="what changed today?")
        bot_echo = mention("a message the bot itself posted", channel="D_ALICE")
        bot_echo["event"].update(type="message", channel_type="im", bot_id="B0001")
        await fake_slack.send_envelope(envelope("events_api", bot_echo, "env-echo"))
        await fake_slack.send_envelope(envelope("events_api", dm, "env-dm-1"))
        await fake_slack.send_envelope(envelope("events_api", dm, "env-dm-2"))  # a redelivery
        reply = await fake_slack.wait_post(channel="D_ALICE")
        await fake_slack.wait_ack("env-dm-2")
        assert reply["thread_ts"] == "1700000009.000100"
        assert "what changed today?" in sections(reply)
        later = mention("and tomorrow?", ts="1700000010.000100")
        await fake_slack.send_envelope(envelope("events_api", later, "env-later"))
        await fake_slack.wait_post(channel="C_TEAM")
        assert [p["channel"] for p in fake_slack.posts] == ["D_ALICE", "C_TEAM"]


async def test_slash_command_status_and_models_answer_in_the_ack(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        await running(gw, NAME)
        url = fake_slack.response_url()
        await fake_slack.send_envelope(envelope("slash_commands", slash("status", url), "env-s"))
        ack = await fake_slack.wait_ack("env-s")
        text = ack["payload"]["text"]
        assert "OpenClaw gateway" in text and "`general` (default)" in text
        assert f"This channel (`{NAME}`): running" in text

        await fake_slack.send_envelope(envelope("slash_commands", slash("models", url), "env-m"))
        ack = await fake_slack.wait_ack("env-m")
        assert "`sensitive`: mock/mock-local; tasks: customer_data" in ack["payload"]["text"]

        await fake_slack.send_envelope(envelope("slash_commands", slash("", url), "env-h"))
        assert "Usage:" in (await fake_slack.wait_ack("env-h"))["payload"]["text"]


async def test_slash_ask_answers_through_the_response_url_as_a_draft(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        await running(gw, NAME)
        url = fake_slack.response_url()
        cmd = slash("ask task:drafting write a haiku about gateways", url)
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-ask"))
        assert (await fake_slack.wait_ack("env-ask"))["payload"]["text"] == "Asking OpenClaw..."
        await fake_slack.wait_for(lambda: bool(fake_slack.responses))
        resp = fake_slack.responses[0]
        assert resp["response_type"] == "ephemeral"
        assert "write a haiku about gateways" in sections(resp)
        assert any("Draft: review before acting" in c for c in contexts(resp))
        (rec,) = [r for r in gw.audit() if r.get("channel") == NAME]
        assert rec["task"] == "drafting"


async def test_slash_skill_runs_a_skill_and_answers_with_its_outputs_as_a_draft(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    scaffold = pytest.importorskip(
        "openclaw.skills.scaffold", reason="the skills package is not part of this build"
    )
    scaffold.create_skill("word-stats", openclaw_home / "skills")
    async with gateway(openclaw_home, slack_yaml(fake_slack, skill_users=["U_ALICE"])) as gw:
        await running(gw, NAME)
        cmd = slash('skill word-stats "text=alpha beta gamma"', fake_slack.response_url())
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-k"))
        ack = await fake_slack.wait_ack("env-k")
        assert ack["payload"]["text"] == "Running skill `word-stats`..."
        await fake_slack.wait_for(lambda: bool(fake_slack.responses))
        resp = fake_slack.responses[0]
        assert "*word_count*: 3" in sections(resp)
        assert "*summary*" in sections(resp)
        assert any("Draft: review before acting" in c for c in contexts(resp))
        (rec,) = [r for r in gw.audit() if r.get("channel") == NAME]
        assert rec["service"] == f"slack:{NAME}" and rec["skill"]["name"] == "word-stats"
        assert rec["model"] == "general"

        cmd = slash(
            'skill word-stats "text=write to jane.doe@example.com"', fake_slack.response_url()
        )
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-k2"))
        await fake_slack.wait_for(lambda: len(fake_slack.responses) == 2)
        assert any(
            "because PII was found (EMAIL_ADDRESS)" in c for c in contexts(fake_slack.responses[1])
        )

        cmd = slash("skill no-such-skill", fake_slack.response_url())
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-k3"))
        await fake_slack.wait_for(lambda: len(fake_slack.responses) == 3)
        text = fake_slack.responses[2]["text"]
        assert text.startswith("OpenClaw could not answer: no skill named 'no-such-skill'")


async def test_slash_command_from_outside_the_allowlist_is_refused(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack, allow_users=["U_ALICE"])) as gw:
        await running(gw, NAME)
        cmd = slash("ask anything", fake_slack.response_url(), user="U_MALLORY")
        await fake_slack.send_envelope(envelope("slash_commands", cmd, "env-x"))
        ack = await fake_slack.wait_ack("env-x")
        assert ack["payload"]["text"] == "You are not allowed to use OpenClaw from here."
        (rec,) = gw.audit()  # refused, and audited as such
        assert rec["status"] == 403 and rec["error"]["code"] == "slack_not_allowed"


async def test_a_failed_answer_is_one_plain_sentence_in_the_thread(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        ch = await running(gw, NAME)
        body = mention("mock:error please", ts="1700000002.000300")
        await fake_slack.send_envelope(envelope("events_api", body, "env-err"))
        post = await fake_slack.wait_post(channel="C_TEAM")
        assert post["thread_ts"] == "1700000002.000300"
        assert "blocks" not in post or not post["blocks"]
        text = post["text"]
        assert text.startswith("OpenClaw could not answer: ") and text.endswith(".")
        assert "\n" not in text and "Traceback" not in text
        assert ch.last_error == text and ch.state == "running"


async def test_a_refused_app_token_leaves_the_channel_in_error_without_leaking_it(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    fake_slack.app_token = "xapp-1-the-real-one-is-different"
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        ch = manager(gw).channels[NAME]
        await wait_until(lambda: ch.state == "error")
        assert ch.last_error is not None and "refused a token (invalid_auth)" in ch.last_error
        status = str(manager(gw).status())
        assert APP_TOKEN not in status and BOT_TOKEN not in status
        assert "${SLACK_APP_TOKEN} (set)" in status
        assert not fake_slack.connected


async def test_missing_tokens_are_reported_not_raised(
    openclaw_home: Path, fake_slack: FakeSlack
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        ch = manager(gw).channels[NAME]
        assert ch.state == "error"
        assert ch.last_error == (
            "mode 'socket' needs bot_token ${SLACK_BOT_TOKEN} (unset) and app_token "
            "${SLACK_APP_TOKEN} (unset) in the daemon's environment"
        )
        assert manager(gw).channels["developer_terminal"].state == "running"
        assert fake_slack.calls == []
