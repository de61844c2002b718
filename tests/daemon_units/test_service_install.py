"""Installing and removing the daemon through the runner seam, on each platform."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from openclaw.cli import main
from openclaw.daemon_units import ServiceError, install_daemon, uninstall_daemon
from openclaw.daemon_units.manager import ServiceSpec
from openclaw.daemon_units.record import read_record

from .conftest import FakeRunner

PROGRAM = ["/opt/openclaw/bin/openclaw"]


def spec(home: Path, port: int = 18999) -> ServiceSpec:
    return ServiceSpec(home=home, port=port, program=PROGRAM)


def install(home: Path, runner: FakeRunner, user_home: Path, platform: str = "linux", **kw: object):  # type: ignore[no-untyped-def]
    return install_daemon(
        home, 18999, runner=runner, platform=platform, user_home=user_home, wait=0,
        spec=spec(home), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_linux_with_systemd_writes_the_user_unit_then_reloads_and_enables_it(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    report = install(openclaw_home, runner, user_home)
    unit = user_home / ".config/systemd/user/openclaw-gateway.service"
    assert f"ExecStart={PROGRAM[0]} gateway run" in unit.read_text()
    systemctl = runner.commands("systemctl")
    assert ["systemctl", "--user", "daemon-reload"] in systemctl
    assert systemctl.index(["systemctl", "--user", "daemon-reload"]) < systemctl.index(
        ["systemctl", "--user", "enable", "--now", "openclaw-gateway.service"]
    )
    assert report.manager.name == "systemd"
    record = read_record(openclaw_home)
    assert record is not None and (record.manager, record.unit) == ("systemd", str(unit))
    assert not any("No service manager" in line for line in report.lines)


def test_reinstalling_an_unchanged_unit_does_not_reload_or_restart(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home)
    unit = user_home / ".config/systemd/user/openclaw-gateway.service"
    before = unit.stat().st_mtime_ns
    runner.calls.clear()
    report = install(openclaw_home, runner, user_home)
    assert unit.stat().st_mtime_ns == before
    verbs = [c[2] for c in runner.commands("systemctl")]
    assert "daemon-reload" not in verbs and "restart" not in verbs
    assert any(line.startswith("unchanged:") for line in report.lines)


def test_a_changed_unit_restarts_a_running_service(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home)
    runner.reply("systemctl", "--user", "is-active")
    runner.calls.clear()
    install_daemon(
        openclaw_home, 19000, runner=runner, platform="linux", user_home=user_home, wait=0,
        spec=spec(openclaw_home, port=19000),
    )  # fmt: skip
    assert ["systemctl", "--user", "restart", "openclaw-gateway.service"] in runner.calls


def test_without_a_usable_service_manager_it_says_so_once_and_starts_a_background_gateway(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.fail("systemctl", "--user", "show-environment", stderr="Failed to connect to bus")
    report = install(openclaw_home, runner, user_home)
    notes = [line for line in report.lines if "No service manager found" in line]
    assert len(notes) == 1 and "Failed to connect to bus" in notes[0]
    start = [*PROGRAM, "gateway", "start", "--port", "18999"]
    assert start in runner.calls
    assert runner.envs[runner.calls.index(start)] == {
        "OPENCLAW_HOME": str(openclaw_home),
        "OPENCLAW_PORT": "18999",
    }
    assert not (user_home / ".config/systemd").exists()
    record = read_record(openclaw_home)
    assert record is not None and record.manager == "none"


def test_macos_writes_the_launch_agent_and_bootstraps_it_into_the_gui_domain(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.fail("launchctl", "print", f"gui/{os.getuid()}/ai.openclaw.gateway")
    install(openclaw_home, runner, user_home, platform="darwin")
    plist = user_home / "Library/LaunchAgents/ai.openclaw.gateway.plist"
    assert plist.exists()
    assert ["launchctl", "bootstrap", f"gui/{os.getuid()}", str(plist)] in runner.calls


def test_macos_reinstall_of_a_loaded_unchanged_agent_only_kickstarts_it(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home, platform="darwin")
    runner.calls.clear()
    install(openclaw_home, runner, user_home, platform="darwin")
    verbs = [c[1] for c in runner.commands("launchctl")]
    assert "bootstrap" not in verbs and "bootout" not in verbs
    assert "kickstart" in verbs


def test_windows_registers_the_scheduled_task_from_its_xml_and_runs_it(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.fail("schtasks", "/Query", "/TN", "OpenClaw Gateway")
    install(openclaw_home, runner, user_home, platform="win32")
    xml = openclaw_home / "service/openclaw-gateway-task.xml"
    assert xml.read_text(encoding="utf-16").startswith('<?xml version="1.0" encoding="UTF-16"?>')
    assert [
        "schtasks",
        "/Create",
        "/TN",
        "OpenClaw Gateway",
        "/XML",
        str(xml),
        "/F",
    ] in runner.calls
    assert ["schtasks", "/Run", "/TN", "OpenClaw Gateway"] in runner.calls


def test_an_unsupported_platform_falls_back_to_a_background_gateway(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    report = install(openclaw_home, runner, user_home, platform="sunos5")
    assert report.manager.name == "none"
    assert "none supported on sunos5" in report.lines[0]


def test_asking_for_a_manager_that_is_not_usable_is_an_error(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.fail("systemctl", "--user", "show-environment", stderr="Failed to connect to bus")
    with pytest.raises(ServiceError, match="systemd user unit is not usable"):
        install(openclaw_home, runner, user_home, prefer="systemd")


def test_a_failing_enable_names_the_command_and_where_to_look(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    runner.fail("systemctl", "--user", "enable", stderr="Unit file is masked.")
    with pytest.raises(ServiceError) as err:
        install(openclaw_home, runner, user_home)
    assert "systemctl --user enable --now" in err.value.message
    assert "Unit file is masked." in err.value.message
    assert "journalctl --user -u openclaw-gateway.service" in err.value.message


def test_switching_to_another_manager_removes_the_old_unit_first(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    install(openclaw_home, runner, user_home)
    runner.calls.clear()
    install(openclaw_home, runner, user_home, prefer="none")
    disable = ["systemctl", "--user", "disable", "--now", "openclaw-gateway.service"]
    start = [*PROGRAM, "gateway", "start", "--port", "18999"]
    assert runner.calls.index(disable) < runner.calls.index(start)
    assert not (user_home / ".config/systemd/user/openclaw-gateway.service").exists()


def test_uninstall_removes_unit_and_record_but_keeps_config_token_and_audit_log(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    kept = ["models.yaml", "policies.yaml", "channels.yaml", "gateway.token", "audit.log"]
    for name in kept:
        (openclaw_home / name).write_text("x\n")
    install(openclaw_home, runner, user_home)
    lines = uninstall_daemon(
        openclaw_home, 18999, runner=runner, platform="linux", user_home=user_home
    )
    assert ["systemctl", "--user", "disable", "--now", "openclaw-gateway.service"] in runner.calls
    assert not (user_home / ".config/systemd/user/openclaw-gateway.service").exists()
    assert read_record(openclaw_home) is None
    assert all((openclaw_home / name).exists() for name in kept)
    assert any("removed" in line for line in lines)
    again = uninstall_daemon(
        openclaw_home, 18999, runner=runner, platform="linux", user_home=user_home
    )
    assert again == ["no service or background gateway to remove"]


def test_gateway_install_and_uninstall_commands_use_the_seam(
    openclaw_home: Path, runner: FakeRunner, user_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    cli = CliRunner()
    result = cli.invoke(main, ["gateway", "install", "--port", "18998", "--wait", "0"])
    assert result.exit_code == 0, result.output
    assert "enabled and started openclaw-gateway.service" in result.output
    assert json.loads((openclaw_home / "service.json").read_text())["port"] == 18998
    result = cli.invoke(main, ["gateway", "uninstall"])
    assert result.exit_code == 0, result.output
    assert "kept your configuration and audit log" in result.output
    assert not (openclaw_home / "service.json").exists()


def test_restart_goes_through_the_manager_that_runs_the_gateway(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    from openclaw.daemon_units import restart_daemon

    install(openclaw_home, runner, user_home)  # systemd
    runner.calls.clear()
    lines = restart_daemon(openclaw_home, runner=runner, user_home=user_home, wait=0)
    assert runner.calls == [["systemctl", "--user", "restart", "openclaw-gateway.service"]]
    assert "restarted openclaw-gateway.service" in lines[0]

    install(openclaw_home, runner, user_home, platform="darwin")  # switches to launchd
    runner.calls.clear()
    restart_daemon(openclaw_home, runner=runner, user_home=user_home, wait=0)
    target = f"gui/{os.getuid()}/ai.openclaw.gateway"
    assert ["launchctl", "kickstart", "-k", target] in runner.calls

    install(openclaw_home, runner, user_home, platform="win32")
    runner.calls.clear()
    restart_daemon(openclaw_home, runner=runner, user_home=user_home, wait=0)
    assert runner.calls[-2:] == [
        ["schtasks", "/End", "/TN", "OpenClaw Gateway"],
        ["schtasks", "/Run", "/TN", "OpenClaw Gateway"],
    ]


def test_restart_of_a_background_gateway_stops_and_starts_it(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    from openclaw.daemon_units import restart_daemon

    runner.fail("systemctl", "--user", "show-environment", stderr="Failed to connect to bus")
    install(openclaw_home, runner, user_home)
    (openclaw_home / "gateway.pid").write_text(f"{os.getpid()}\n")  # a live pid: "running"
    runner.calls.clear()
    restart_daemon(openclaw_home, runner=runner, user_home=user_home, wait=0)
    assert runner.calls == [
        [*PROGRAM, "gateway", "stop"],
        [*PROGRAM, "gateway", "start", "--port", "18999"],
    ]


def test_restart_without_an_installed_or_started_gateway_says_what_to_do(
    openclaw_home: Path, runner: FakeRunner, user_home: Path
) -> None:
    result = CliRunner().invoke(main, ["gateway", "restart", "--wait", "0"])
    assert result.exit_code == 1
    assert "openclaw gateway start" in result.output and "Traceback" not in result.output
