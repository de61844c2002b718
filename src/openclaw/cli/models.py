"""``openclaw models``: the configured model aliases, and the installed provider types."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openclaw.config import home_dir
from openclaw.providers.registry import ProviderRegistry, load_checked_config


@click.group()
def cli() -> None:
    """Inspect model aliases from models.yaml and the provider types they can use."""


cli.name = "models"


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List model aliases with their deployments and tasks."""
    cfg = load_checked_config(home_dir())
    rows: list[dict[str, Any]] = []
    for alias, spec in cfg.models.models.items():
        rows.append(
            {
                "alias": alias,
                "default": alias == cfg.default_alias,
                "strategy": spec.strategy,
                "deployments": [f"{d.provider}/{d.model}" for d in spec.deployments],
                "use_for": spec.use_for,
                "fallbacks": spec.fallbacks,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for col in ("alias", "deployments", "strategy", "use_for", "fallbacks"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["alias"] + (" (default)" if r["default"] else ""),
            "\n".join(r["deployments"]),
            r["strategy"],
            ", ".join(r["use_for"]),
            ", ".join(r["fallbacks"]),
        )
    Console().print(table)


@cli.command("types")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def types(as_json: bool) -> None:
    """List installed provider types (built-in and plugins) and what each declares."""
    registry = ProviderRegistry.from_entry_points()
    rows = [registry.describe(name) for name in registry.names()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for col in ("type", "package", "default base_url", "key variable", "own keys", "can"):
        table.add_column(col)
    for r in rows:
        can = [c for c in ("stream", "embed", "vision", "multiple_choices") if r[_CAN[c]]]
        table.add_row(
            r["type"],
            r["package"],
            r["default_base_url"] or "",
            r["key_env_var"] or "",
            ", ".join(r["options"]),
            ", ".join(can),
        )
    Console().print(table)


_CAN = {
    "stream": "can_stream",
    "embed": "can_embed",
    "vision": "vision",
    "multiple_choices": "multiple_choices",
}
