"""Channels follow the daemon: config, start and stop, reload, status, and no secret in logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest
from channel_helpers import gateway, manager, running, slack_yaml, wait_until
from fake_slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, envelope, mention

from openclaw.channels.redact import MASK, redact
from openclaw.config import load_config
from openclaw.config.schema import SlackChannel
from openclaw.errors import ConfigError

SEED = """\
channels:
  - type: cli
    name: developer_terminal
  - type: slack
    name: team_notifications
    workspace: your-workspace
"""


def test_the_seed_channels_yaml_loads_exactly_as_written(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text("models:\n  general: {provider: mock, model: m}\n")
    (openclaw_home / "channels.yaml").write_text(SEED)
    cli, slack = load_config(openclaw_home).channels.channels
    assert (cli.type, cli.name) == ("cli", "developer_terminal")
    assert isinstance(slack, SlackChannel)
    assert (slack.name, slack.workspace, slack.mode, slack.notify) == (
        "team_notifications",
        "your-workspace",
        "socket",
        False,
    )
    assert slack.bot_token == "${SLACK_BOT_TOKEN}" and slack.app_token == "${SLACK_APP_TOKEN}"


def test_an_unknown_event_name_is_a_config_error_that_suggests_the_right_one(
    openclaw_home: Path,
) -> None:
    (openclaw_home / "models.yaml").write_text("models:\n  general: {provider: mock, model: m}\n")
    (openclaw_home / "channels.yaml").write_text(
        "channels:\n  - type: webhook\n    name: ops\n    url: https://hooks.example/x\n"
        '    secret: "${HOOK_SECRET}"\n    events: [failovr]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(openclaw_home)
    assert "channels.yaml:" in info.value.message
    assert "did you mean 'failover'?" in info.value.message


async def test_a_reload_restarts_only_the_channels_whose_entry_changed(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        mgr = manager(gw)
        slack = await running(gw, "team_notifications")
        terminal = mgr.channels["developer_terminal"]

        second = f"  - type: slack\n    name: second_workspace\n    api_url: {fake_slack.url}\n"
        changed = slack_yaml(fake_slack, allow_users=["U_ALICE"])
        changed = changed.replace(
            "developer_terminal\n", "developer_terminal\n    default_task: t\n"
        )
        (openclaw_home / "channels.yaml").write_text(changed + second)
        assert (await gw.state.reload("test")).ok
        await mgr.settled()

        assert set(mgr.channels) == {"developer_terminal", "team_notifications", "second_workspace"}
        assert mgr.channels["developer_terminal"] is not terminal  # its entry changed
        assert mgr.channels["team_notifications"] is not slack
        assert slack.state == "stopped"
        new_slack = await running(gw, "team_notifications")
        await running(gw, "second_workspace")

        (openclaw_home / "channels.yaml").write_text(changed)  # second_workspace goes away
        assert (await gw.state.reload("test")).ok
        await mgr.settled()
        assert set(mgr.channels) == {"developer_terminal", "team_notifications"}
        assert mgr.channels["team_notifications"] is new_slack  # unchanged: kept connected
    assert new_slack.state == "stopped"  # channels stop with the app
    await wait_until(lambda: not fake_slack.connected)


async def test_a_rejected_reload_leaves_the_channels_alone(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        slack = await running(gw, "team_notifications")
        (openclaw_home / "channels.yaml").write_text("channels:\n  - type: slack\n    nmae: x\n")
        assert not (await gw.state.reload("test")).ok
        await manager(gw).settled()
        assert manager(gw).channels["team_notifications"] is slack and slack.state == "running"


async def test_channel_status_over_http_needs_the_token_and_shows_no_secret(
    openclaw_home: Path, fake_slack: FakeSlack, slack_env: None
) -> None:
    async with gateway(openclaw_home, slack_yaml(fake_slack, notify=True)) as gw:
        await running(gw, "team_notifications")
        async with aiohttp.ClientSession() as s:
            async with s.get(gw.base + "/v1/openclaw/channels") as r:
                assert r.status == 401
            headers = {**gw.auth, "X-OpenClaw-Channel": "developer_terminal"}
            body = {"model": "general", "messages": [{"role": "user", "content": "hi"}]}
            async with s.post(gw.base + "/v1/chat/completions", json=body, headers=headers) as r:
                assert r.status == 200
            async with s.get(gw.base + "/v1/openclaw/channels", headers=gw.auth) as r:
                assert r.status == 200
                text = await r.text()
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in text
    data = json.loads(text)
    by_name = {c["name"]: c for c in data["channels"]}
    slack = by_name["team_notifications"]
    assert slack["state"] == "running" and slack["bot_user"] == "UBOT"
    assert slack["bot_token"] == "${SLACK_BOT_TOKEN} (set)"
    assert slack["notify_problem"].startswith("notify is on but")
    assert by_name["developer_terminal"]["handled"] == 1


async def test_no_token_appears_in_any_log(
    openclaw_home: Path,
    fake_slack: FakeSlack,
    slack_env: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with gateway(openclaw_home, slack_yaml(fake_slack)) as gw:
        slack = await running(gw, "team_notifications")
        await fake_slack.send_envelope(envelope("events_api", mention("hello there"), "env-log"))
        await fake_slack.wait_post(channel="C_TEAM")
        slack.fail(f"an upstream error that quoted Bearer {BOT_TOKEN} and {APP_TOKEN}", state=None)
    assert "apps.connections.open" in caplog.text  # the debug logs really were captured
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text
    assert slack.last_error is not None and BOT_TOKEN not in slack.last_error
    assert MASK in slack.last_error


def test_redact_masks_token_shapes_it_was_never_told_about() -> None:
    text = "xoxb-9-9-abcdef xoxp-1-2 xapp-1-A-2-xyz Bearer abcdefgh.ijk ocw_0123456789abcdefXYZ"
    assert redact(text) == " ".join([MASK, MASK, MASK, "Bearer", MASK, MASK])
