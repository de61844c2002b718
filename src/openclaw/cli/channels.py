"""``openclaw channels``: the channels in channels.yaml and how they are doing in the daemon."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table

from openclaw.channels.webhook import origin
from openclaw.cli.client import base_url, gateway_port, get_json
from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir
from openclaw.providers.registry import load_checked_config


@click.group()
def cli() -> None:
    """List channels (terminal, Slack, webhooks) and show their state."""


cli.name = "channels"


def _daemon_status(port: int) -> dict[str, Any] | None:
    """The daemon's channel status, or None when no daemon answers."""
    try:
        data: dict[str, Any] = get_json(
            "/v1/openclaw/channels", home=home_dir(), port=port, timeout=5.0
        )
    except httpx.HTTPStatusError as exc:
        raise click.ClickException(
            f"the gateway answered {exc.response.status_code} to /v1/openclaw/channels "
            f"(is the token in {home_dir()} the daemon's?)"
        ) from None
    except httpx.HTTPError:
        return None
    return data


def _configured() -> list[dict[str, Any]]:
    rows = []
    for ch in load_checked_config(home_dir()).channels.channels:
        row: dict[str, Any] = {"name": ch.name, "type": ch.type}
        if ch.type == "slack":
            row["mode"] = ch.mode
            row["workspace"] = ch.workspace
            row["notify"] = ch.notify
        elif ch.type == "webhook":
            row["url"] = origin(ch.url)
            row["notify"] = True
        rows.append(row)
    return rows


def _ago(ts: float | None) -> str:
    if not ts:
        return "-"
    s = int(time.time() - ts)
    return f"{s}s ago" if s < 120 else f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago"


def _state(s: dict[str, Any] | None) -> str:
    if s is None:
        return "-"
    color = {"running": "green", "starting": "yellow", "error": "red"}.get(s["state"], "dim")
    return f"[{color}]{s['state']}[/]"


@cli.command("list")
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
@json_option
def list_(port: int | None, as_json: bool) -> None:
    """Channels from channels.yaml, with their state when the gateway runs."""
    rows = _configured()
    live = _daemon_status(gateway_port(port))
    by_name = {c["name"]: c for c in (live or {}).get("channels", [])}
    for r in rows:
        s = by_name.get(r["name"])
        r["state"] = s["state"] if s else ("not running" if live is None else "not loaded")
        r["last_error"] = s.get("last_error") if s else None
    if as_json:
        echo_json(rows)
        return
    table = Table()
    for col in ("name", "type", "details", "state", "last error"):
        table.add_column(col)
    for r in rows:
        details = ", ".join(
            f"{k}={v}"
            for k, v in r.items()
            if k not in ("name", "type", "state", "last_error") and v not in (None, "")
        )
        table.add_row(
            r["name"],
            r["type"],
            details,
            _state(by_name.get(r["name"])) if live else r["state"],
            r["last_error"] or "",
        )
    console = Console()
    console.print(table)
    if live is None:
        console.print(
            f"[dim]the gateway is not running at {base_url(port=gateway_port(port))}; state is shown when it is[/]"
        )


@cli.command()
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
@json_option
def status(port: int | None, as_json: bool) -> None:
    """Each running channel's state, last error and activity, and event delivery.

    Exit code 0: every channel runs; 1: the gateway is not running; 2: a channel has a problem.
    """
    live = _daemon_status(gateway_port(port))
    if live is None:
        click.echo(
            f"OpenClaw gateway is not running at {base_url(port=gateway_port(port))}; "
            "start it with 'openclaw gateway start'",
            err=True,
        )
        sys.exit(1)
    chans = live.get("channels", [])
    code = 2 if any(c["state"] == "error" for c in chans) else 0
    if as_json:
        echo_json(live)
        sys.exit(code)
    events = live.get("events", {})
    receivers = events.get("receivers", {})
    table = Table()
    for col in ("name", "type", "state", "handled", "last activity", "events out", "last error"):
        table.add_column(col)
    for c in chans:
        r = receivers.get(c["name"])
        out = f"{r['delivered']} ok, {r['failed']} failed, {r['queued']} queued" if r else "-"
        err = c.get("last_error") or ""
        if err:
            err = f"{err} ({_ago(c.get('last_error_at'))})"
        table.add_row(
            c["name"],
            c["type"],
            _state(c),
            str(c.get("handled", 0)),
            _ago(c.get("last_activity_at")),
            out,
            err,
        )
    console = Console()
    console.print(table)
    console.print(f"events emitted since start: {events.get('emitted', 0)}")
    sys.exit(code)
