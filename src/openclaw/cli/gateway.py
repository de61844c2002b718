"""``openclaw gateway``: run, start, stop and inspect the daemon."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from openclaw.cli.client import base_url, gateway_port, get_json
from openclaw.cli.output import echo_json, json_option
from openclaw.config import DEFAULT_HOST, home_dir, log_path, pid_path
from openclaw.daemon_units import MANAGER_ENV, note_background_start
from openclaw.daemon_units.commands import install as install_command
from openclaw.daemon_units.commands import restart as restart_command
from openclaw.daemon_units.commands import service_info, service_lines
from openclaw.daemon_units.commands import uninstall as uninstall_command
from openclaw.daemon_units.fallback import background_pid, pid_alive
from openclaw.onboarding.seed import write_default_config
from openclaw.server.limits_status import status_lines

console = Console()


def read_pid(home: Path) -> int | None:
    return background_pid(home)


def healthy(port: int, timeout: float = 1.0) -> bool:
    try:
        r = httpx.get(f"{base_url(port=port)}/healthz", timeout=timeout, trust_env=False)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


@click.group()
def cli() -> None:
    """Run, start, stop and inspect the gateway daemon."""


gateway = cli
cli.name = "gateway"
cli.add_command(install_command)
cli.add_command(uninstall_command)
cli.add_command(restart_command)


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
@click.option("--log-level", default="INFO", show_default=True, help="Daemon log level.")
def run(host: str, port: int | None, log_level: str) -> None:
    """Run the gateway in the foreground (what service units call)."""
    from openclaw.daemon import run as run_daemon  # the whole server: only `run` needs it

    home = home_dir()
    for line in write_default_config(home):
        click.echo(f"wrote default {home / line}", err=True)
    run_daemon(home, host, gateway_port(port), log_level=log_level)


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
@click.option("--wait", default=20.0, show_default=True, help="Seconds to wait for health.")
def start(host: str, port: int | None, wait: float) -> None:
    """Start the gateway in the background and return once it is healthy."""
    home = home_dir()
    port = gateway_port(port)
    pid = read_pid(home)
    if pid is not None or healthy(port):
        click.echo(
            f"OpenClaw gateway is already running (pid {pid or '?'}) on {base_url(port=port)}"
        )
        return
    for line in write_default_config(home):
        click.echo(f"wrote default {home / line}")
    logfile = log_path(home)
    logfile.parent.mkdir(parents=True, exist_ok=True)
    # The daemon logs to logfile itself; its raw stdout/stderr (a crash before logging is
    # set up) go beside it so lines are not written twice.
    console_file = logfile.with_name("gateway.console.log")
    cmd = [sys.executable, "-m", "openclaw", "gateway", "run", "--host", host, "--port", str(port)]
    fd = os.open(console_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, OPENCLAW_HOME=str(home), **{MANAGER_ENV: "none"}),
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(
                f"the gateway exited during start-up (code {proc.returncode}); "
                f"see {console_file} and {logfile}, or run 'openclaw gateway run' to see why"
            )
        if healthy(port, timeout=0.5):
            click.echo(f"OpenClaw gateway started (pid {proc.pid}) on {base_url(port=port)}")
            note_background_start(home, port, cmd[:3])
            return
        time.sleep(0.1)
    raise click.ClickException(
        f"the gateway did not become healthy within {wait:g}s; see {logfile}"
    )


@cli.command()
@click.option("--timeout", default=15.0, show_default=True, help="Seconds to wait for exit.")
def stop(timeout: float) -> None:
    """Stop the running gateway (SIGTERM: in-flight requests finish first).

    A gateway run by systemd or launchd stays stopped until the next login or
    'openclaw gateway install'. On Windows the process is ended without draining.
    """
    home = home_dir()
    pid = read_pid(home)
    if pid is None:
        click.echo("OpenClaw gateway is not running")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            click.echo(f"OpenClaw gateway stopped (pid {pid})")
            with contextlib.suppress(OSError):
                pid_path(home).unlink()
            return
        time.sleep(0.1)
    raise click.ClickException(f"pid {pid} did not exit within {timeout:g}s")


def gather_status(port: int) -> tuple[int, dict[str, Any]]:
    """(exit code, status dict): 0 healthy, 1 not running, 2 unhealthy."""
    home = home_dir()
    pid = read_pid(home)
    if not healthy(port):
        info: dict[str, Any] = {
            "running": False,
            "pid": pid,
            "address": base_url(port=port),
            "home": str(home),
        }
        if pid is not None:
            info["problem"] = "process exists but does not answer /healthz"
            return 2, info
        return 1, info
    try:
        data = get_json("/v1/openclaw/status", home=home, port=port)
    except httpx.HTTPStatusError as exc:
        return 2, {
            "running": True,
            "pid": pid,
            "problem": f"status endpoint answered {exc.response.status_code} (is the token in {home} the daemon's?)",
        }
    except httpx.HTTPError as exc:
        return 2, {
            "running": True,
            "pid": pid,
            "problem": f"status request failed: {type(exc).__name__}",
        }
    data["running"] = True
    problems = []
    for name, prov in data.get("providers", {}).items():
        if not prov.get("reachable"):
            problems.append(f"provider '{name}' is not reachable ({prov.get('detail')})")
    if data.get("last_reload") and not data["last_reload"].get("ok"):
        problems.append("last config reload was rejected")
    data["problems"] = problems
    return (2 if problems else 0), data


def render_status(data: dict[str, Any]) -> None:
    if not data.get("running"):
        console.print(f"[bold red]OpenClaw gateway is not running[/] ({data.get('address', '')})")
        if data.get("problem"):
            console.print(f"  {data['problem']}")
        for line in service_lines(data):
            console.print(f"  {line}")
        console.print("  start it with: [bold]openclaw gateway start[/]")
        return
    if "models" not in data:
        console.print(
            f"[bold yellow]OpenClaw gateway is running but unhealthy[/]: {data.get('problem')}"
        )
        return
    up = data.get("uptime_seconds", 0)
    console.print(
        f"[bold green]OpenClaw gateway is running[/]  pid {data['pid']}  up {_dur(up)}  "
        f"{data['address']}  auth: {data['auth']}  version {data['version']}"
    )
    for line in service_lines(data):
        console.print(f"  {line}")
    files = ", ".join(f"{n}{'' if ok else ' (missing)'}" for n, ok in data["config_files"].items())
    console.print(f"  config: {escape(str(data['home']))}  {escape('[' + files + ']')}")
    lr = data.get("last_reload")
    if lr:
        console.print(
            f"  last reload: {'ok' if lr['ok'] else '[red]rejected[/]: ' + escape(str(lr['error']))}"
        )
    if data.get("mock_only"):
        console.print(
            "  [bold yellow]every model uses the mock provider[/]: answers are canned. "
            "Run 'openclaw onboard' with an API key or Ollama to use a real model."
        )
    table = Table(title="models", show_lines=False)
    for col in ("alias", "deployment", "breaker", "upstream", "use_for"):
        table.add_column(col)
    for alias, m in data["models"].items():
        name = alias + (" (default)" if m.get("default") else "")
        for i, d in enumerate(m["deployments"]):
            reach = d.get("reachable")
            table.add_row(
                name if i == 0 else "",
                f"{d['provider']}/{d['model']}",
                d.get("breaker", "closed"),
                "[green]answers[/]" if reach else "[red]no answer[/]",
                ", ".join(m.get("use_for", [])) if i == 0 else "",
            )
    console.print(table)
    if data.get("pii"):
        console.print(f"  PII engine: {data['pii']}")
        if data.get("pii_note") and "pattern-only" in str(data.get("pii")):
            console.print(f"  [yellow]{data['pii_note']}[/]")
    pol = ", ".join(
        f"{p['name']} ({'enforce' if p['enforce'] else 'shadow'})" for p in data.get("policies", [])
    )
    console.print(f"  policies: {pol or 'none'}")
    for line in status_lines(data.get("limits")):
        console.print(f"  {line}")
    a = data.get("audit", {})
    console.print(f"  audit log: {a.get('path')} ({a.get('bytes', 0)} bytes)")
    for p in data.get("problems", []):
        console.print(f"  [red]problem:[/] {p}")


def _dur(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


@cli.command()
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
@json_option
def status(port: int | None, as_json: bool) -> None:
    """Show whether the gateway runs and how it is doing.

    Exit code 0: healthy; 1: not running; 2: running but unhealthy.
    """
    code, data = gather_status(gateway_port(port))
    data["service"] = service_info(home_dir())
    if as_json:
        echo_json(data)
    else:
        render_status(data)
    sys.exit(code)
