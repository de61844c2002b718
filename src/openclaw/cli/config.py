"""``openclaw config``: check the YAML files without starting anything."""

from __future__ import annotations

import click

from openclaw.assembly import build_gateway
from openclaw.config import CONFIG_FILES, home_dir
from openclaw.errors import OpenClawError
from openclaw.providers.registry import load_checked_config


@click.group()
def cli() -> None:
    """Check and locate the configuration files."""


cli.name = "config"


@cli.command()
def validate() -> None:
    """Validate models.yaml, policies.yaml and channels.yaml, as the daemon would.

    Builds the whole pipeline (providers, policies) so that errors a start would hit,
    such as a remote sensitive model, show here too.
    """
    home = home_dir()
    try:
        cfg = load_checked_config(home)
        build_gateway(cfg)
    except OpenClawError as exc:
        raise click.ClickException(f"invalid configuration:\n{exc.message}") from None
    for name in CONFIG_FILES:
        p = home / name
        click.echo(f"{p}: {'ok' if p.exists() else 'absent (none configured)'}")
    click.echo(
        f"{len(cfg.models.models)} model(s), {len(cfg.policies.policies)} policy(ies), "
        f"{len(cfg.channels.channels)} channel(s)"
    )


@cli.command()
def path() -> None:
    """Print the OpenClaw home directory ($OPENCLAW_HOME or ~/.openclaw)."""
    click.echo(str(home_dir()))
