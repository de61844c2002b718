"""``openclaw config``: check the YAML files without starting anything."""

from __future__ import annotations

import sys

import click

from openclaw.assembly import build_gateway
from openclaw.cli.output import echo_json, json_option
from openclaw.config import CONFIG_FILES, home_dir
from openclaw.errors import OpenClawError
from openclaw.providers.registry import load_checked_config


@click.group()
def cli() -> None:
    """Check and locate the configuration files."""


cli.name = "config"


@cli.command()
@json_option
def validate(as_json: bool) -> None:
    """Validate models.yaml, policies.yaml and channels.yaml, as the daemon would.

    Builds the whole pipeline (providers, policies) so that errors a start would hit,
    such as a remote sensitive model, show here too. Exit status 1 when it does not load.
    """
    home = home_dir()
    files = {name: str(home / name) if (home / name).exists() else None for name in CONFIG_FILES}
    try:
        cfg = load_checked_config(home)
        build_gateway(cfg)
    except OpenClawError as exc:
        if as_json:
            echo_json({"ok": False, "home": str(home), "files": files, "error": exc.message})
            sys.exit(1)
        raise click.ClickException(f"invalid configuration:\n{exc.message}") from None
    counts = {
        "models": len(cfg.models.models),
        "policies": len(cfg.policies.policies),
        "channels": len(cfg.channels.channels),
    }
    if as_json:
        echo_json({"ok": True, "home": str(home), "files": files, **counts})
        return
    for name, where in files.items():
        click.echo(f"{home / name}: {'ok' if where else 'absent (none configured)'}")
    click.echo(
        f"{counts['models']} model(s), {counts['policies']} policy(ies), "
        f"{counts['channels']} channel(s)"
    )


@cli.command()
@json_option
def path(as_json: bool) -> None:
    """Print the OpenClaw home directory ($OPENCLAW_HOME or ~/.openclaw)."""
    home = home_dir()
    if as_json:
        echo_json({"home": str(home), "files": {n: str(home / n) for n in CONFIG_FILES}})
        return
    click.echo(str(home))
