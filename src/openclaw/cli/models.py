"""``openclaw models``: the configured model aliases, and the installed provider types."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir
from openclaw.providers.registry import ProviderRegistry, load_checked_config
from openclaw.routing.pricing import SOURCE_PACKAGE, PriceBook, Rate


@click.group()
def cli() -> None:
    """Inspect model aliases from models.yaml and the provider types they can use."""


cli.name = "models"


@cli.command("list")
@json_option
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
        echo_json(rows)
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
@json_option
def types(as_json: bool) -> None:
    """List installed provider types (built-in and plugins) and what each declares."""
    registry = ProviderRegistry.from_entry_points()
    rows = [registry.describe(name) for name in registry.names()]
    if as_json:
        echo_json(rows)
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


def _rate(r: Rate | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "usd_per_million": r.base,
        "tiers": [{"above": a, "usd_per_million": p} for a, p in r.tiers],
    }


@cli.command("prices")
@json_option
def prices(as_json: bool) -> None:
    """Effective price per alias and deployment, and where it comes from.

    Source is 'config' (cost_per_million_* in models.yaml), 'local' (a model on this
    machine costs nothing), the bundled genai-prices snapshot with its version, or
    'unknown': such a model's requests record cost_usd null and dollar budgets cannot see
    them. Prices are USD per million tokens; a tier applies to all tokens of a call whose
    prompt is above its size.
    """
    cfg = load_checked_config(home_dir())
    book = PriceBook(cfg.models)
    found = [
        (alias, dep, book.price(dep))
        for alias, spec in cfg.models.models.items()
        for dep in spec.deployments
    ]
    if as_json:
        rows = [
            {
                "alias": alias,
                "provider": dep.provider,
                "model": dep.model,
                "input": _rate(price.input),
                "output": _rate(price.output),
                "source": price.source,
            }
            for alias, dep, price in found
        ]
        echo_json({"package": SOURCE_PACKAGE, "prices": rows})
        return
    table = Table(caption="USD per million tokens", caption_justify="left")
    for col in ("alias", "deployment", "input", "output", "source"):
        table.add_column(col)
    for alias, dep, price in found:
        table.add_row(
            alias,
            f"{dep.provider}/{dep.model}",
            "-" if price.input is None else price.input.describe(),
            "-" if price.output is None else price.output.describe(),
            price.source,
        )
    Console().print(table)
    missing = sum(not price.known for _, _, price in found)
    if missing:
        click.echo(
            f"{missing} deployment(s) without a known price record cost_usd null; set "
            "cost_per_million_input_tokens and cost_per_million_output_tokens in models.yaml",
            err=True,
        )
