"""Beside an upstream OpenClaw install: install refuses to overwrite its home or its units
(same names as ours), uninstall never removes a unit this gateway did not write."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from openclaw.cli import main
from openclaw.daemon_units import ServiceError, install_daemon, uninstall_daemon
from openclaw.daemon_units.coexist import MANAGED_MARK
from openclaw.daemon_units.manager import ServiceSpec

from .conftest import FakeRunner

PROGRAM = ["/opt/openclaw/bin/openclaw"]
UPSTREAM_UNIT = """\
[Unit]
Description=OpenClaw Gateway (upstream)

[Service]
ExecStart=/usr/bin/node /home/me/.npm-global/lib/node_modules/openclaw/dist/index.js gateway
Restart=always

[Install]
WantedBy=default.target
"""
UPSTREAM_PLIST = """<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>Label</key><string>ai.openclaw.gateway</string>
  <key>ProgramArguments</key><array><string>/opt/homebrew/bin/node</string></array>
</dict></plist>
"""


def install(home: Path, runner: FakeRunner, user_home: Path, platform: str = "linux") -> object:
    return install_daemon(
        home, 18999, runner=runner, platform=platform, user_home=user_home, wait=0,
        spec=ServiceSpec(home=home, port=18999, program=PROGRAM),
    )  # fmt: skip


def systemd_unit(user_home: Path) -> Path:
    return user_home / ".config/systemd/user/openclaw-gateway.service"


def test_our_units_carry_the_mark(openclaw_home: Path, runner: FakeRunner, user_home: Path) -> None:
    install(openclaw_home, runner, user_home)
    assert MANAGED_MARK in systemd_unit(user_home).read_text()


def test_install_refuses_to_overwrite_an_upstream_systemd_unit(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    unit = systemd_unit(user_home)
    unit.parent.mkdir(parents=True)
    unit.write_text(UPSTREAM_UNIT)
    with pytest.raises(ServiceError) as err:
        install(openclaw_home, runner, user_home)
    message = err.value.message
    assert f"{unit} exists and was not written by this gateway" in message
    assert "OPENCLAW_HOME=" in message and "--port" in message and "--manager none" in message
    assert unit.read_text() == UPSTREAM_UNIT
    assert not any(c[:3] == ["systemctl", "--user", "enable"] for c in runner.calls)


def test_install_refuses_a_home_that_holds_upstream_openclaw_json(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    (openclaw_home / "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
    result = CliRunner().invoke(main, ["gateway", "install", "--manager", "none", "--wait", "0"])
    assert result.exit_code == 1
    assert "this home belongs to the upstream OpenClaw" in result.output
    assert not systemd_unit(user_home).exists()
    assert not (openclaw_home / "service.json").exists()


def test_install_refuses_an_upstream_launch_agent(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    plist = user_home / "Library/LaunchAgents/ai.openclaw.gateway.plist"
    plist.parent.mkdir(parents=True)
    plist.write_text(UPSTREAM_PLIST)
    with pytest.raises(ServiceError, match="was not written by this gateway"):
        install(openclaw_home, runner, user_home, platform="darwin")
    assert plist.read_text() == UPSTREAM_PLIST


def test_install_refuses_an_upstream_scheduled_task(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.reply(
        "schtasks", "/Query", "/TN", "OpenClaw Gateway", "/XML",
        stdout="<Task><Actions><Exec><Command>node.exe</Command></Exec></Actions></Task>",
    )  # fmt: skip
    with pytest.raises(ServiceError, match='the scheduled task "OpenClaw Gateway" exists'):
        install(openclaw_home, runner, user_home, platform="win32")
    assert not any(c[:2] == ["schtasks", "/Create"] for c in runner.calls)


def test_uninstall_never_removes_a_unit_it_did_not_write(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home)
    unit = systemd_unit(user_home)
    unit.write_text(UPSTREAM_UNIT)  # the upstream installer replaced ours since
    runner.calls.clear()
    lines = uninstall_daemon(openclaw_home, 18999, runner=runner, user_home=user_home)
    assert unit.read_text() == UPSTREAM_UNIT
    assert any(line.startswith(f"left {unit} alone") for line in lines)
    assert not any(c[:3] == ["systemctl", "--user", "disable"] for c in runner.calls)


def test_a_unit_written_before_the_mark_is_still_ours(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home)
    unit = systemd_unit(user_home)
    unit.write_text(unit.read_text().replace(MANAGED_MARK, "older version"))
    install(openclaw_home, runner, user_home)  # no refusal: it sets OPENCLAW_SERVICE_MANAGER
    uninstall_daemon(openclaw_home, 18999, runner=runner, user_home=user_home)
    assert not unit.exists()
