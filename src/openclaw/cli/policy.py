"""``openclaw policy``: see the loaded policies and dry-run them on a text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir, load_config


@click.group()
def cli() -> None:
    """List policies and dry-run them against a text."""


cli.name = "policy"


@cli.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The loaded policies, in the order they run, with enforce or shadow mode."""
    cfg = load_config(home_dir())
    rows: list[dict[str, Any]] = [
        {
            "order": i + 1,
            "name": p.name,
            "rule": p.rule,
            "mode": "enforce" if p.enforce else "shadow",
            "when": p.when.model_dump(exclude_defaults=True) if p.when else {},
            "params": p.params,
        }
        for i, p in enumerate(cfg.policies.policies)
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no policies configured (policies.yaml is missing or empty)")
        return
    table = Table()
    for col in ("#", "name", "rule", "mode", "when", "params"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["order"]),
            r["name"],
            r["rule"],
            r["mode"],
            json.dumps(r["when"]) if r["when"] else "",
            json.dumps(r["params"]) if r["params"] else "",
        )
    Console().print(table)


async def _check(text: str, service: str, task: str | None, model: str | None) -> dict[str, Any]:
    from openclaw.errors import OpenClawError
    from openclaw.pipeline.gateway import Gateway
    from openclaw.policies.rules import pii_engine

    gw = Gateway(load_config(home_dir()))
    try:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
        if model:
            body["model"] = model
        ex = gw.exchange(body, service=service, task=task)
        ex.alias = gw.selector.select(ex.requested_model, ex.task)
        requested_alias = ex.alias
        refused = None
        for stage in gw.stages:
            if stage.name != "policies":
                continue  # a dry run must not spend rate limits or touch the cache
            try:
                await stage.before(ex)
            except OpenClawError as exc:
                refused = {"status": exc.status, "code": exc.code, "message": exc.message}
        engine = pii_engine(gw, None, None)
        findings = engine.analyze_text(text)
        return {
            "pii_mode": engine.mode,
            "entities": [
                {
                    "type": f.entity_type,
                    "start": f.start,
                    "end": f.end,
                    "score": round(f.score, 2),
                    "text": text[f.start : f.end],
                }
                for f in findings
            ],
            "policies": [d.to_dict() for d in ex.decisions],
            "requested_model": requested_alias,
            "model": ex.alias,
            "local_only": ex.local_only,
            "draft": ex.draft,
            "refused": refused,
        }
    finally:
        await gw.aclose()


@cli.command()
@click.argument("text")
@click.option("--service", default="default", show_default=True, help="Calling service to assume.")
@click.option("--task", default=None, help="Task to assume (matched against use_for).")
@click.option("--model", default=None, help="Model the caller asks for (alias or provider model).")
@json_option
def check(text: str, service: str, task: str | None, model: str | None, as_json: bool) -> None:
    """Dry-run the policies on TEXT: entities found, decisions, and the model that would serve.

    Nothing is sent to any model and nothing is written to the audit log. The entity
    values are shown because you typed them; they never reach a log.
    """
    result = asyncio.run(_check(text, service, task, model))
    if as_json:
        echo_json(result)
        return
    con = Console()
    con.print(f"PII engine: {result['pii_mode']}")
    if result["entities"]:
        t = Table(title="entities found")
        for col in ("type", "start", "end", "score", "text"):
            t.add_column(col)
        for e in result["entities"]:
            t.add_row(e["type"], str(e["start"]), str(e["end"]), f"{e['score']:.2f}", e["text"])
        con.print(t)
    else:
        con.print("entities found: none")
    t = Table(title="policies")
    for col in ("policy", "rule", "outcome", "detail"):
        t.add_column(col)
    for d in result["policies"]:
        detail = []
        if d.get("entities"):
            detail.append("entities: " + ", ".join(d["entities"]))
        if d.get("model_after"):
            detail.append(f"model {d['model_before']} -> {d['model_after']}")
        t.add_row(d["policy"], d["rule"], d["outcome"], "; ".join(detail))
    con.print(t)
    if result["refused"]:
        r = result["refused"]
        con.print(f"[bold red]refused[/] with {r['status']} {r['code']}: {r['message']}")
    else:
        where = " (local only)" if result["local_only"] else ""
        con.print(
            f"would be served by: [bold]{result['model']}[/]{where}; draft: {result['draft']}"
        )
