"""The unit templates, rendered into a temporary home and checked as their managers would."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from openclaw.daemon_units import templates
from openclaw.daemon_units.launchd import LaunchdManager
from openclaw.daemon_units.manager import ServiceSpec
from openclaw.daemon_units.systemd import SystemdManager, exec_start
from openclaw.daemon_units.windows import WindowsTaskManager

from .conftest import FakeRunner

REPO = Path(__file__).resolve().parents[2]


def service_section(unit: str) -> list[tuple[str, str]]:
    """(key, value) pairs of the [Service] section, in order (keys repeat)."""
    out, section = [], None
    for line in unit.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


@pytest.fixture
def spec(tmp_path: Path) -> ServiceSpec:
    # A space and a percent sign: both need escaping in a systemd unit.
    return ServiceSpec(
        home=tmp_path / "Open Claw 100%", port=18999, program=[sys.executable, "-m", "openclaw"]
    )


@pytest.mark.parametrize("name", sorted(templates.CHECKOUT_COPIES))
def test_checkout_copies_of_templates_are_identical_to_the_packaged_ones(name: str) -> None:
    checkout = REPO / templates.CHECKOUT_COPIES[name] / name
    assert checkout.read_bytes() == templates.template_text(name).encode("utf-8")


def test_systemd_unit_runs_gateway_with_home_port_and_restart_on_failure(
    spec: ServiceSpec, user_home: Path
) -> None:
    unit = SystemdManager(FakeRunner(), user_home).render(spec)
    pairs = service_section(unit)
    values = dict(pairs)
    assert values["ExecStart"] == f"{sys.executable} -m openclaw gateway run"
    envs = [v for k, v in pairs if k == "Environment"]
    assert f'"OPENCLAW_HOME={spec.home}"'.replace("%", "%%") in envs
    assert '"OPENCLAW_PORT=18999"' in envs
    assert '"OPENCLAW_SERVICE_MANAGER=systemd"' in envs
    assert values["Restart"] == "on-failure"
    assert values["EnvironmentFile"].startswith("-")
    assert "WantedBy=default.target" in unit
    assert "{{" not in unit


def test_systemd_exec_start_quotes_and_escapes_arguments() -> None:
    line = exec_start(["/opt/Open Claw/bin/openclaw", "gateway", "run", "100%", "$HOME"])
    assert line == '"/opt/Open Claw/bin/openclaw" gateway run "100%%" "$$HOME"'


def test_systemd_unit_passes_systemd_analyze_verify(spec: ServiceSpec, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    path = unit_dir / "openclaw-gateway.service"
    path.write_text(SystemdManager(FakeRunner(), tmp_path).render(spec))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    proc = subprocess.run(
        [analyze, "verify", "--user", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)),
        timeout=60,
    )
    # verify exits 0 even for unknown keys; what it says about our file is the real verdict.
    said = [ln for ln in (proc.stdout + proc.stderr).splitlines() if path.name in ln]
    assert proc.returncode == 0, proc.stderr
    assert said == []


def test_launchd_plist_runs_gateway_with_home_and_restarts_on_failure(
    tmp_path: Path, user_home: Path
) -> None:
    spec = ServiceSpec(home=tmp_path / "a&b <home>", port=18999, program=["/opt/oc/bin/openclaw"])
    text = LaunchdManager(FakeRunner(), user_home).render(spec)
    plist = plistlib.loads(text.encode("utf-8"))
    assert plist["Label"] == "ai.openclaw.gateway"
    assert plist["ProgramArguments"] == ["/opt/oc/bin/openclaw", "gateway", "run"]
    assert plist["EnvironmentVariables"] == {
        "OPENCLAW_HOME": str(spec.home),
        "OPENCLAW_PORT": "18999",
        "OPENCLAW_SERVICE_MANAGER": "launchd",
    }
    assert plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["StandardErrorPath"] == str(spec.home / "logs" / "gateway.console.log")


def test_launchd_plist_passes_plutil_lint(spec: ServiceSpec, tmp_path: Path) -> None:
    plutil = shutil.which("plutil")
    if plutil is None:
        pytest.skip("plutil exists only on macOS")
    path = tmp_path / "ai.openclaw.gateway.plist"
    path.write_text(LaunchdManager(FakeRunner(), tmp_path).render(spec))
    proc = subprocess.run([plutil, "-lint", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_windows_task_runs_launcher_that_sets_home_and_restarts_on_failure(
    spec: ServiceSpec,
) -> None:
    mgr = WindowsTaskManager(FakeRunner())
    root = ET.fromstring(mgr.render(spec).encode("utf-16"))
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert root.findtext("t:Actions/t:Exec/t:Command", namespaces=ns) == str(
        mgr.launcher_path(spec)
    )
    assert root.findtext("t:Settings/t:RestartOnFailure/t:Interval", namespaces=ns) == "PT1M"
    assert root.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=ns) == "PT0S"
    launcher = mgr.render_launcher(spec)
    assert f'set "OPENCLAW_HOME={spec.home}"'.replace("%", "%%") in launcher
    assert 'set "OPENCLAW_SERVICE_MANAGER=schtasks"' in launcher
    assert f'"{sys.executable}" "-m" "openclaw" gateway run >> ' in launcher
    assert "\r\n" in launcher  # cmd.exe scripts keep CRLF line ends


def test_a_template_field_nobody_fills_is_an_error() -> None:
    with pytest.raises(KeyError, match="exec_start"):
        templates.render(templates.SYSTEMD_UNIT, {})
