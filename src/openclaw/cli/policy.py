"""``openclaw policy``: see the loaded policies and dry-run them on a text."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from openclaw.assembly import assemble
from openclaw.audit.reader import RecordFilter, iter_records, parse_time
from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir
from openclaw.policies.pii.entities import EntityFilter
from openclaw.policies.rules import PiiUsesSensitiveModel
from openclaw.policies.sightings import VALUE_BOOK, ValueBook, tally
from openclaw.providers.registry import load_checked_config


@click.group()
def cli() -> None:
    """List policies, dry-run them against a text, and see what made them fire."""


cli.name = "policy"


@cli.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The loaded policies, in the order they run, with enforce or shadow mode."""
    cfg = load_checked_config(home_dir())
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
    parts = assemble(load_checked_config(home_dir()))
    gw = parts.gateway
    try:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
        if model:
            body["model"] = model
        ex = gw.exchange(body, service=service, task=task)
        requested_alias = gw.select(ex.requested_model, ex.task)
        err = await gw.dry_run(ex)  # the policies only: no rate limit spent, no cache touched
        refused = (
            None
            if err is None
            else {"status": err.status, "code": err.code, "message": err.message}
        )
        engine = parts.shared.pii.get(parts.config.policies.pii, None, None)
        findings = engine.analyze_text(text)
        # Whether each finding counts, as the (first) PII routing policy judges it.
        flt = next(
            (
                r.filter
                for stage in gw.stages
                for r in getattr(stage, "rules", [])
                if isinstance(r, PiiUsesSensitiveModel)
            ),
            EntityFilter.build(),
        )
        kept = flt.keep([text], [findings])[0]
        return {
            "pii_mode": engine.mode,
            "entities": [
                {
                    "type": f.entity_type,
                    "start": f.start,
                    "end": f.end,
                    "score": round(f.score, 2),
                    "text": text[f.start : f.end],
                    "counts": f in kept,
                    "why_not": None
                    if f in kept
                    else flt.dropped(text, f) or f"locations: {flt.locations}",
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
        for col in ("type", "start", "end", "score", "text", "counts"):
            t.add_column(col)
        for e in result["entities"]:
            counts = "yes" if e["counts"] else f"no ({e['why_not']})"
            t.add_row(
                e["type"], str(e["start"]), str(e["end"]), f"{e['score']:.2f}", e["text"], counts
            )
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


def _is_terminal() -> bool:
    return sys.stdout.isatty()


@cli.command()
@click.option(
    "--since",
    metavar="TIME",
    default=None,
    help="Only records from this time on: 30m, 24h, 7d or ISO (UTC).",
)
@click.option(
    "--top",
    "top_n",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Values listed per policy.",
)
@click.option(
    "--show-values",
    is_flag=True,
    help="Show the values themselves instead of masks (needs params.record_values on the "
    "policy, and a terminal: values never go to a pipe or file).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output (values stay masked)."
)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Audit log to read (default: $OPENCLAW_HOME/audit.log); rotated files next to it are read too.",
)
def stats(
    since: str | None, top_n: int, show_values: bool, as_json: bool, file: Path | None
) -> None:
    """How often each policy passed, applied or would have applied (shadow mode), and the
    entity values that made the PII policy fire most often.

    Values are masked ("J*** D***") with a keyed digest, as the audit log holds them. With
    --show-values, and only on a terminal, they are looked up in pii-values.jsonl, which a
    policy writes only with params.record_values: true. Add the names you see there that
    are not personal (a city, a famous person) to the policy's params.allow_names.
    """
    home = home_dir()
    path = file if file is not None else home / "audit.log"
    if show_values and (as_json or not _is_terminal()):
        raise click.UsageError(
            "--show-values prints personal data, so only to a terminal: run it without "
            "--json and without redirecting the output"
        )
    try:
        start = parse_time(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    tallies = tally(iter_records(path, RecordFilter(since=start)))
    book = ValueBook(home / VALUE_BOOK).read() if show_values else {}
    if as_json:
        out = [
            {
                "policy": t.policy,
                "rule": t.rule,
                "outcomes": t.outcomes,
                "top_values": [
                    {"type": ty, "masked": m, "digest": d, "requests": c}
                    for ty, d, m, c in t.top(top_n)
                ],
            }
            for t in tallies.values()
        ]
        click.echo(json.dumps({"file": str(path), "policies": out}, indent=2))
        return
    con = Console(highlight=False)
    if not tallies:
        con.print(f"no policy decisions in {path}")
        return
    table = Table(title="policy decisions", title_justify="left")
    for col in ("policy", "rule", "applied", "would_apply", "pass", "error"):
        table.add_column(col, justify="left" if col in ("policy", "rule") else "right")
    for t in tallies.values():
        table.add_row(
            t.policy,
            t.rule,
            *(str(t.outcomes.get(k, 0)) for k in ("applied", "would_apply", "pass", "error")),
        )
    con.print(table)
    missing = 0
    for t in tallies.values():
        rows = t.top(top_n)
        if not rows:
            continue
        vt = Table(title=f"{t.policy}: values that made it fire", title_justify="left")
        for col in ("type", "value" if show_values else "masked", "digest", "requests"):
            vt.add_column(col, justify="right" if col == "requests" else "left")
        for ty, d, m, c in rows:
            shown = book.get(d) if show_values else None
            missing += show_values and shown is None
            vt.add_row(ty, shown if shown is not None else m, d, str(c))
        con.print(vt)
    if missing:
        con.print(
            f"{missing} value(s) are not in {home / VALUE_BOOK} (shown masked): the policy "
            "records values only with params.record_values: true"
        )
