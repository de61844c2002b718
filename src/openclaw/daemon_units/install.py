"""Installing the gateway as a daemon: pick a service manager, install, check it answers.

``openclaw gateway install``, ``openclaw onboard --install-daemon`` and the install scripts
all come here. The choice is made once, by platform: systemd on Linux, launchd on macOS,
Task Scheduler on Windows, each only if it is usable right now; otherwise one clear line
says so and the gateway runs as a background process (``openclaw gateway start``), so the
user still ends with a running gateway. Re-running changes nothing that is already right.

Beside an upstream OpenClaw install (same home and unit names), install refuses to overwrite
what is not ours and uninstall leaves it alone (:mod:`openclaw.daemon_units.coexist`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from openclaw.daemon_units.coexist import foreign_unit, install_problem
from openclaw.daemon_units.fallback import BackgroundProcess, background_pid
from openclaw.daemon_units.launchd import LaunchdManager
from openclaw.daemon_units.manager import (
    Runner,
    ServiceError,
    ServiceManager,
    ServiceSpec,
    ServiceState,
    gateway_healthy,
    get_runner,
)
from openclaw.daemon_units.record import (
    ServiceRecord,
    read_record,
    remove_record,
    write_record,
)
from openclaw.daemon_units.systemd import SystemdManager
from openclaw.daemon_units.windows import WindowsTaskManager

MANAGERS: dict[str, type[ServiceManager]] = {
    "systemd": SystemdManager,
    "launchd": LaunchdManager,
    "schtasks": WindowsTaskManager,
    "none": BackgroundProcess,
}
MANAGER_CHOICES = ("auto", *MANAGERS)


def platform_manager(platform: str) -> str | None:
    if platform.startswith("linux"):
        return "systemd"
    if platform == "darwin":
        return "launchd"
    if platform in ("win32", "cygwin"):
        return "schtasks"
    return None


def manager_named(
    name: str, runner: Runner | None = None, user_home: Path | None = None
) -> ServiceManager:
    try:
        cls = MANAGERS[name]
    except KeyError:
        raise ServiceError(
            f"unknown service manager '{name}' (one of {', '.join(MANAGERS)})"
        ) from None
    return cls(runner or get_runner(), user_home)


def choose_manager(
    prefer: str = "auto",
    *,
    runner: Runner | None = None,
    platform: str | None = None,
    user_home: Path | None = None,
) -> tuple[ServiceManager, str | None]:
    """(manager, note). The note is the one line saying why there is no service manager."""
    runner = runner or get_runner()
    if prefer != "auto":
        mgr = manager_named(prefer, runner, user_home)
        ok, why = mgr.usable()
        if not ok:
            raise ServiceError(f"{mgr.description} is not usable here: {why}")
        return mgr, None
    name = platform_manager(platform or sys.platform)
    fallback = BackgroundProcess(runner, user_home)
    if name is None:
        why = f"none supported on {platform or sys.platform}"
    else:
        mgr = manager_named(name, runner, user_home)
        ok, why = mgr.usable()
        if ok:
            return mgr, None
    note = (
        f"No service manager found ({why}); starting the gateway as a background process "
        "with 'openclaw gateway start' instead: it will not restart after a crash or reboot."
    )
    return fallback, note


@dataclass
class InstallReport:
    manager: ServiceManager
    lines: list[str] = field(default_factory=list)
    healthy: bool | None = None  # None: not checked


def install_daemon(
    home: Path,
    port: int,
    *,
    prefer: str = "auto",
    runner: Runner | None = None,
    platform: str | None = None,
    user_home: Path | None = None,
    wait: float = 30.0,
    spec: ServiceSpec | None = None,
) -> InstallReport:
    """Install (or confirm) the daemon and, unless ``wait`` is 0, check that it answers."""
    runner = runner or get_runner()
    spec = spec or ServiceSpec(home=home, port=port)
    mgr, note = choose_manager(prefer, runner=runner, platform=platform, user_home=user_home)
    problem = install_problem(home, mgr, spec)  # the upstream OpenClaw's home or unit
    if problem is not None:
        raise ServiceError(problem)
    report = InstallReport(mgr, [note] if note else [])
    previous = read_record(home)
    if previous is not None and previous.manager != mgr.name:
        # Switching managers (e.g. --manager none after a systemd install): remove the old
        # one so two supervisors never fight over the port.
        old = manager_named(previous.manager, runner, user_home)
        report.lines += uninstall_ours(old, _spec_from(previous, home))
    if mgr.name != "none":
        pid = background_pid(home)
        if pid is not None and mgr.state(spec).pid != pid:
            report.lines += BackgroundProcess(runner, user_home).uninstall(spec)
    report.lines += mgr.install(spec)
    unit = mgr.unit_path(spec)
    write_record(
        home,
        ServiceRecord(
            manager=mgr.name, port=port, program=spec.program, unit=str(unit) if unit else None
        ),
    )
    if wait > 0:
        report.healthy = wait_healthy(spec, wait)
        if not report.healthy:
            raise ServiceError(
                f"the gateway was installed ({mgr.description}) but does not answer on "
                f"{spec.address} after {wait:g}s; see 'openclaw logs' and 'openclaw doctor'"
            )
        report.lines.append(f"OpenClaw gateway is running on {spec.address} ({mgr.description})")
    return report


def wait_healthy(spec: ServiceSpec, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        if gateway_healthy(spec.port, spec.host, timeout=0.5):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _spec_from(record: ServiceRecord, home: Path) -> ServiceSpec:
    if record.program:
        return ServiceSpec(home=home, port=record.port, program=list(record.program))
    return ServiceSpec(home=home, port=record.port)


def uninstall_daemon(
    home: Path,
    port: int,
    *,
    runner: Runner | None = None,
    platform: str | None = None,
    user_home: Path | None = None,
) -> list[str]:
    """Stop the gateway and remove its unit; config, token and audit log stay."""
    runner = runner or get_runner()
    record = read_record(home)
    lines: list[str] = []
    if record is not None:
        spec = _spec_from(record, home)
        lines += uninstall_ours(manager_named(record.manager, runner, user_home), spec)
    else:
        spec = ServiceSpec(home=home, port=port)
        name = platform_manager(platform or sys.platform)
        if name is not None:
            mgr = manager_named(name, runner, user_home)
            unit = mgr.unit_path(spec)
            if unit is not None and unit.exists():
                lines += uninstall_ours(mgr, spec)
    if background_pid(home) is not None:
        lines += BackgroundProcess(runner, user_home).uninstall(spec)
    if remove_record(home):
        lines.append(f"removed {home / 'service.json'}")
    return lines or ["no service or background gateway to remove"]


def uninstall_ours(mgr: ServiceManager, spec: ServiceSpec) -> list[str]:
    """``mgr.uninstall(spec)``, unless the unit there was not written by this gateway."""
    unit = foreign_unit(mgr, spec)
    if unit is not None:
        return [f"left {unit} alone: it was not written by this gateway (upstream OpenClaw's?)"]
    return mgr.uninstall(spec)


def restart_daemon(
    home: Path,
    *,
    runner: Runner | None = None,
    user_home: Path | None = None,
    wait: float = 30.0,
) -> list[str]:
    """Restart the gateway through whatever runs it (the install record says which), so
    new code or a new environment takes effect; a bare background gateway is stopped and
    started again. Raises :class:`ServiceError` if nothing was installed or started."""
    runner = runner or get_runner()
    record = read_record(home)
    if record is None:
        raise ServiceError(
            "no gateway was installed or started from this home; start one with "
            "'openclaw gateway start' or 'openclaw gateway install'"
        )
    spec = _spec_from(record, home)
    lines = manager_named(record.manager, runner, user_home).restart(spec)
    if wait > 0 and not wait_healthy(spec, wait):
        raise ServiceError(
            f"the gateway did not answer on {spec.address} within {wait:g}s after the "
            "restart; 'openclaw logs' and 'openclaw doctor' tell why"
        )
    return lines


def service_status(
    home: Path, *, runner: Runner | None = None, user_home: Path | None = None
) -> ServiceState | None:
    """What the recorded manager says now; None when nothing was ever installed or started."""
    record = read_record(home)
    if record is None:
        return None
    mgr = manager_named(record.manager, runner, user_home)
    return mgr.state(_spec_from(record, home))
