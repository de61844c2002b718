"""``openclaw gateway install`` and ``openclaw gateway uninstall``.

They live beside the code they drive and are attached to the ``gateway`` group by
``openclaw.cli.gateway`` (two lines there), so the gateway module stays about running the
daemon and this package about keeping it running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openclaw.config import home_dir
from openclaw.daemon_units.install import (
    MANAGER_CHOICES,
    install_daemon,
    restart_daemon,
    service_status,
    uninstall_daemon,
)
from openclaw.daemon_units.record import SUPERVISORS, gateway_port


@click.command("install")
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
@click.option(
    "--manager",
    type=click.Choice(MANAGER_CHOICES),
    default="auto",
    show_default=True,
    help="Service manager; auto picks systemd, launchd or Task Scheduler if usable.",
)
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for health.")
def install(port: int | None, manager: str, wait: float) -> None:
    """Install the gateway as a service and start it.

    Linux: a systemd user unit (~/.config/systemd/user/openclaw-gateway.service).
    macOS: a LaunchAgent (~/Library/LaunchAgents/ai.openclaw.gateway.plist).
    Windows: the "OpenClaw Gateway" Scheduled Task. Where none is usable, says so and
    starts a background process (openclaw gateway start) instead. Safe to re-run.
    """
    home = home_dir()
    report = install_daemon(home, gateway_port(port, home), prefer=manager, wait=wait)
    for line in report.lines:
        click.echo(line)


@click.command("uninstall")
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
def uninstall(port: int | None) -> None:
    """Stop the gateway and remove its service unit.

    The configuration, the gateway token and the audit log in the OpenClaw home are kept.
    """
    home = home_dir()
    for line in uninstall_daemon(home, gateway_port(port, home)):
        click.echo(line)
    click.echo(f"kept your configuration and audit log in {home}")


@click.command("restart")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for health.")
def restart(wait: float) -> None:
    """Restart the gateway through what runs it, e.g. after an upgrade.

    systemd: systemctl --user restart; launchd: launchctl kickstart -k; Windows: the
    Scheduled Task is ended and run; a background gateway is stopped and started again.
    In-flight requests finish first (SIGTERM drains), except on Windows.
    """
    home = home_dir()
    for line in restart_daemon(home, wait=wait):
        click.echo(line)
    click.echo(f"OpenClaw gateway is running on port {gateway_port(None, home)}")


_MANAGED_BY = {
    "systemd": "systemd user unit",
    "launchd": "launchd LaunchAgent",
    "schtasks": "Windows Scheduled Task",
    "none": "no service manager: background process from 'openclaw gateway start' "
    "(no restart after a crash or reboot; 'openclaw gateway install' adds one)",
    "foreground": "no service manager: running in a terminal ('openclaw gateway run')",
}


def service_info(home: Path) -> dict[str, Any]:
    """The installed service as ``gateway status --json`` shows it (never raises)."""
    try:
        state = service_status(home)
    except Exception as exc:  # a status command must not fail on a broken service record
        return {"manager": None, "installed": False, "state": f"unknown ({type(exc).__name__})"}
    if state is None:
        return {"manager": None, "installed": False, "state": "no service installed"}
    return state.to_dict()


def service_lines(data: dict[str, Any]) -> list[str]:
    """Plain lines about who manages the gateway and what it served lately."""
    lines = []
    svc = data.get("service") or {}
    daemon_side = data.get("service_manager")
    if data.get("running") and daemon_side:
        where = f" ({svc['unit']})" if svc.get("manager") == daemon_side and svc.get("unit") else ""
        lines.append(f"managed by: {_MANAGED_BY.get(daemon_side, daemon_side)}{where}")
        if svc.get("manager") in SUPERVISORS and svc["manager"] != daemon_side:
            lines.append(
                f"note: a {_MANAGED_BY[svc['manager']]} is installed ({svc['state']}) but "
                "did not start this gateway"
            )
    elif svc.get("manager") in SUPERVISORS:
        lines.append(
            f"service: {_MANAGED_BY[svc['manager']]}, {svc['state']}"
            + (f" ({svc['unit']})" if svc.get("unit") else "")
        )
    elif svc.get("manager") == "none" and not data.get("running"):
        lines.append("service: none (last started with 'openclaw gateway start')")
    recent = data.get("recent")
    if isinstance(recent, dict) and "requests" in recent:
        minutes = int(recent.get("window_seconds", 300)) // 60
        lines.append(
            f"last {minutes} min: {recent['requests']} requests, {recent.get('errors', 0)} errors"
        )
    return lines
