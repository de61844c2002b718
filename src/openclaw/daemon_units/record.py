"""``$OPENCLAW_HOME/service.json``: which service manager was set up to run the gateway.

Written by ``openclaw gateway install`` (and ``onboard --install-daemon``), and by
``openclaw gateway start`` when no service manager is installed, so that ``gateway status``,
``doctor`` and ``gateway uninstall`` know what to look at without probing every manager.
It holds no secrets: the manager's name, the unit's path, the program the unit runs, the port.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openclaw.config import DEFAULT_PORT, home_dir

RECORD_FILE = "service.json"
#: Managers that keep the gateway running on their own (not a bare background process).
SUPERVISORS = ("systemd", "launchd", "schtasks")


@dataclass(frozen=True)
class ServiceRecord:
    manager: str  # "systemd" | "launchd" | "schtasks" | "none"
    port: int
    program: list[str] = field(default_factory=list)
    unit: str | None = None

    @property
    def supervised(self) -> bool:
        return self.manager in SUPERVISORS


def record_path(home: Path) -> Path:
    return home / RECORD_FILE


def read_record(home: Path) -> ServiceRecord | None:
    try:
        data: dict[str, Any] = json.loads(record_path(home).read_text(encoding="utf-8"))
        return ServiceRecord(
            manager=str(data["manager"]),
            port=int(data["port"]),
            program=[str(a) for a in data.get("program") or []],
            unit=data.get("unit"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(home: Path, record: ServiceRecord) -> bool:
    """Write the record unless it already says the same. True if the file changed."""
    if read_record(home) == record:
        return False
    home.mkdir(parents=True, exist_ok=True)
    path = record_path(home)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return True


def remove_record(home: Path) -> bool:
    try:
        record_path(home).unlink()
    except FileNotFoundError:
        return False
    return True


def note_background_start(home: Path, port: int, program: list[str]) -> None:
    """``gateway start`` ran: no service manager manages this gateway.

    An installed unit's record is left alone: the unit is still there and will run the
    gateway again at the next login or reboot.
    """
    current = read_record(home)
    if current is not None and current.supervised:
        return
    write_record(home, ServiceRecord(manager="none", port=port, program=program))


def gateway_port(port: int | None = None, home: Path | None = None) -> int:
    """The port CLI commands use: ``--port``, else ``$OPENCLAW_PORT``, else the port the
    installed service runs on (this record, written by onboarding), else 18789. Without the
    record step, ``onboard --port 18999 --install-daemon`` left ``gateway status`` looking at
    18789."""
    if port:
        return port
    env = os.environ.get("OPENCLAW_PORT")
    if env and env.isdigit():
        return int(env)
    if home is None:
        home = home_dir()
    record = read_record(home)
    if record is not None and 0 < record.port < 65536:
        return record.port
    return DEFAULT_PORT
