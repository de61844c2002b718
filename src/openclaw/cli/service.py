"""``openclaw service``: the tokens that identify services to the gateway.

``add`` prints a new token once (on stdout alone, so ``TOKEN=$(openclaw service add billing)``
works) and stores only its SHA-256 in ``$OPENCLAW_HOME/services.json``; ``rotate`` issues a
new one and keeps the old one working for a grace window; ``remove`` revokes them all. A
running daemon picks the change up on the next request. Limits, budgets and model lists
for a service live in its ``services:`` entry in policies.yaml (docs/limits.md).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir
from openclaw.config.loader import load_model
from openclaw.config.schema import PoliciesFile, ServiceConfig
from openclaw.limits.plan import service_summary
from openclaw.limits.services import StoredToken, TokenStore

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def parse_duration(text: str) -> float:
    """``90``, ``30s``, ``15m``, ``1h``, ``2d`` -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise click.BadParameter(f"'{text}' is not a duration such as 30s, 15m, 1h or 2d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise click.BadParameter(
            "1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
            param_hint="NAME",
        )
    return name


def _configured() -> dict[str, ServiceConfig]:
    pol = load_model(home_dir() / "policies.yaml", PoliciesFile)
    return {s.name: s for s in pol.services}


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rows() -> list[dict[str, Any]]:
    configured = _configured()
    stored = TokenStore(home_dir()).load()
    now = time.time()
    rows = []
    for name in sorted(set(configured) | set(stored)):
        svc = configured.get(name)
        tokens: list[StoredToken] = [t for t in stored.get(name, []) if t.live(now)]
        rows.append(
            {
                "name": name,
                "in_policies_yaml": svc is not None,
                "token_ref": svc.token.describe() if svc is not None and svc.token else None,
                "stored_tokens": [
                    {"created": _when(t.created), "expires": _when(t.expires)} for t in tokens
                ],
                "limits": service_summary(svc) if svc is not None else {},
            }
        )
    return rows


@click.group()
def cli() -> None:
    """Service tokens: list, add, rotate, remove (limits live in policies.yaml)."""


cli.name = "service"


@cli.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Services from policies.yaml and services.json, their tokens and limits.

    Token values are never shown: a reference appears as ${VAR} (set|unset), a stored token
    by its creation time and, while rotated away, the end of its grace window.
    """
    rows = _rows()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no services (add a 'services:' section to policies.yaml, or 'service add')")
        return
    table = Table()
    for col in ("service", "token", "limits"):
        table.add_column(col)
    for r in rows:
        toks = []
        if r["token_ref"]:
            toks.append(r["token_ref"])
        for t in r["stored_tokens"]:
            toks.append(
                f"stored {t['created']}" + (f", until {t['expires']}" if t["expires"] else "")
            )
        name = r["name"] + ("" if r["in_policies_yaml"] else " (not in policies.yaml)")
        limits = json.dumps(r["limits"]) if r["limits"] else ""
        table.add_row(name, "\n".join(toks) or "none (admin header only)", limits)
    Console().print(table)


@cli.command()
@click.argument("name", callback=lambda _c, _p, v: _check_name(v))
def add(name: str) -> None:
    """Create a token for NAME and print it once (only its hash is kept).

    The token identifies the service: requests with it are that service, and an
    X-OpenClaw-Service header naming another service is refused.
    """
    token = TokenStore(home_dir()).add(name)
    click.echo(token)
    click.echo(
        f"service '{name}': token created. It is shown only this once; store it now.", err=True
    )
    if name not in _configured():
        click.echo(
            f"note: '{name}' has no entry under 'services:' in policies.yaml, so no limits "
            "apply to it yet",
            err=True,
        )


@cli.command()
@click.argument("name", callback=lambda _c, _p, v: _check_name(v))
@click.option(
    "--grace",
    default="1h",
    show_default=True,
    help="How long the old token keeps working (e.g. 0, 30m, 1h, 2d).",
)
def rotate(name: str, grace: str) -> None:
    """Issue a new token for NAME; the old one works until the grace window ends."""
    seconds = parse_duration(grace)
    token = TokenStore(home_dir()).rotate(name, seconds)
    click.echo(token)
    until = _when(time.time() + seconds)
    click.echo(
        f"service '{name}': new token created (shown only once); the old one works until {until}",
        err=True,
    )


@cli.command()
@click.argument("name")
def remove(name: str) -> None:
    """Revoke every stored token of NAME at once (its policies.yaml entry stays)."""
    if not TokenStore(home_dir()).remove(name):
        raise click.ClickException(f"service '{name}' has no stored tokens")
    click.echo(f"service '{name}': stored tokens revoked")
