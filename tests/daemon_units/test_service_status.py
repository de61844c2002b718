"""What ``gateway status`` says about the service manager and the last five minutes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openclaw.daemon_units.commands import service_info, service_lines
from openclaw.daemon_units.record import ServiceRecord, read_record, write_record
from openclaw.server.status import recent_activity

from .conftest import FakeRunner


def _ts(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def test_recent_activity_counts_requests_and_errors_of_the_last_five_minutes(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    rotated = tmp_path / "audit.log.1"
    older = [
        {"request_id": "r0", "ts": _ts(900), "status": 500},  # long ago: not counted
        {"request_id": "r1", "ts": _ts(295), "status": 200},
    ]
    rotated.write_text("".join(json.dumps(r) + "\n" for r in older))
    lines = [
        {"request_id": "r2", "ts": _ts(290), "status": 200},
        {"request_id": "r3", "ts": _ts(30), "status": 502, "error": {"code": "upstream_error"}},
        {"file_start": True, "ts": _ts(20)},  # not a request
        {"request_id": "r4", "ts": _ts(10), "status": 200, "error": None},
    ]
    log.write_text("\n".join(json.dumps(r) for r in lines) + "\nnot json\n")
    assert recent_activity(log) == {"window_seconds": 300.0, "requests": 4, "errors": 1}


def test_service_info_asks_the_recorded_manager(openclaw_home: Path, runner: FakeRunner) -> None:
    assert service_info(openclaw_home)["state"] == "no service installed"
    write_record(
        openclaw_home, ServiceRecord("systemd", 18999, ["/x/openclaw"], "/u/openclaw.daemon_units")
    )
    runner.reply(
        "systemctl", "--user", "show", stdout="ActiveState=active\nSubState=running\nMainPID=4242\n"
    )
    info = service_info(openclaw_home)
    assert (info["manager"], info["state"], info["pid"]) == ("systemd", "running", 4242)


def test_status_lines_name_the_manager_and_recent_traffic() -> None:
    data = {
        "running": True,
        "service_manager": "systemd",
        "service": {"manager": "systemd", "state": "running", "unit": "/u/unit.service"},
        "recent": {"window_seconds": 300, "requests": 12, "errors": 2},
    }
    assert service_lines(data) == [
        "managed by: systemd user unit (/u/unit.service)",
        "last 5 min: 12 requests, 2 errors",
    ]
    stopped = {"running": False, "service": {"manager": "launchd", "state": "not loaded"}}
    assert service_lines(stopped) == ["service: launchd LaunchAgent, not loaded"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_start_records_that_no_service_manager_manages_it(openclaw_home: Path) -> None:
    port = str(_free_port())
    oc = [sys.executable, "-m", "openclaw", "gateway"]
    subprocess.run([*oc, "start", "--port", port], check=True, capture_output=True, timeout=60)
    try:
        out = subprocess.run(
            [*oc, "status", "--json", "--port", port], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stdout + out.stderr
        status = json.loads(out.stdout)
        assert status["service_manager"] == "none"
        assert status["service"]["manager"] == "none"
        assert status["recent"]["requests"] == 0
        record = read_record(openclaw_home)
        assert record is not None and record.manager == "none" and record.port == int(port)
    finally:
        subprocess.run([*oc, "stop"], capture_output=True, timeout=60)
    deadline = time.monotonic() + 10
    while (openclaw_home / "gateway.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
