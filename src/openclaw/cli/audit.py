"""``openclaw audit``: read, summarise, check and export the audit log.

Every subcommand reads ``$OPENCLAW_HOME/audit.log`` and its rotated files (``--file`` points
elsewhere). The record format and the hash chain are described in
:mod:`openclaw.audit.record`; the figures ``stats`` prints in :mod:`openclaw.audit.stats`.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click
import orjson
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from openclaw.audit.anchor import AnchorError, anchor_path, read_anchor
from openclaw.audit.reader import (
    Follower,
    RecordFilter,
    iter_lines,
    last_records,
    parse_line,
    parse_time,
    read_records,
)
from openclaw.audit.record import COLUMNS, AuditRecord
from openclaw.audit.stats import GROUP_FIELDS, Stats, compute, is_pii_reroute
from openclaw.audit.verify import verify
from openclaw.cli.output import echo_json, json_option
from openclaw.config import PoliciesFile, home_dir
from openclaw.config.loader import load_model
from openclaw.errors import ConfigError

Record = dict[str, Any]


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _log_path(file: Path | None) -> Path:
    return file if file is not None else home_dir() / "audit.log"


file_option = click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Audit log to read (default: $OPENCLAW_HOME/audit.log); rotated files next to it are read too.",
)
service_option = click.option("--service", metavar="S", help="Only records of this service.")
model_option = click.option(
    "--model", metavar="M", help="Only records of this model alias or provider model name."
)
since_option = click.option(
    "--since",
    callback=_time,
    metavar="TIME",
    help="Only records from this time on: 30m, 24h, 7d or ISO (UTC).",
)
until_option = click.option(
    "--until",
    callback=_time,
    metavar="TIME",
    help="Only records before this time: 30m, 24h, 7d or ISO (UTC).",
)


@click.group(name="audit")
def cli() -> None:
    """Read, summarise, check and export the audit log (~/.openclaw/audit.log)."""


# --------------------------------------------------------------------------- tail
@cli.command()
@click.option("-f", "--follow", is_flag=True, help="Keep printing records as they are written.")
@click.option(
    "-n",
    "--lines",
    "count",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the newest records to print first.",
)
@service_option
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print each record as its raw JSON line.")
@click.option("--interval", type=float, default=0.2, hidden=True, help="Poll interval for -f.")
@file_option
def tail(
    follow: bool,
    count: int,
    service: str | None,
    model: str | None,
    as_json: bool,
    interval: float,
    file: Path | None,
) -> None:
    """Print the newest audit records; with -f, follow the log across rotations."""
    path = _log_path(file)
    flt = RecordFilter(service=service, model=model)
    console = Console(highlight=False, soft_wrap=True)

    def show(rec: Record) -> None:
        if as_json:
            click.echo(orjson.dumps(rec).decode())
        else:
            console.print(render(AuditRecord.from_wire(rec)))
            console.file.flush()

    follower = Follower(path) if follow else None
    for rec in last_records(path, count, flt, live_end=follower.offset if follower else None):
        show(rec)
    if follower is None:
        return
    try:
        for raw in follower.follow(interval):
            new = parse_line(raw)
            if new is not None and flt(new):
                show(new)
    except KeyboardInterrupt:
        pass
    finally:
        follower.close()


def _status_style(status: int | None) -> str:
    if status is None:
        return "dim"
    return "green" if status < 400 else "yellow" if status < 500 else "bold red"


def render(rec: AuditRecord) -> Text:
    """One readable line for a record."""
    t = Text()
    ts = (rec.ts or "?").replace("T", " ").removesuffix("Z")
    t.append(ts, "dim")
    t.append(f" {'-' if rec.status is None else rec.status!s:>3}", _status_style(rec.status))
    t.append(f" {rec.service or '-'}", "bold cyan")
    where = "/".join(v for v in (rec.channel, rec.task) if v)
    if where:
        t.append(f" {where}", "cyan")
    t.append(f" {rec.model or '-'}", "bold")
    upstream = "/".join(v for v in (rec.provider, rec.provider_model) if v)
    if upstream:
        t.append(f" → {upstream}", "dim")
    if rec.latency_ms is not None:
        t.append(f" {rec.latency_ms:.0f}ms")
    if rec.ttft_ms is not None:
        t.append(f" (ttft {rec.ttft_ms:.0f}ms)", "dim")
    if rec.prompt_tokens is not None or rec.completion_tokens is not None:
        t.append(f" {rec.prompt_tokens or 0}+{rec.completion_tokens or 0} tok")
    if rec.cost_usd:
        t.append(f" ${rec.cost_usd:.4f}", "green")
    elif rec.cost_usd is None and rec.provider is not None:
        t.append(" $?", "yellow")  # no known price for the model
    if is_pii_reroute(rec):
        t.append(" PII-reroute", "bold magenta")
    if rec.draft:
        t.append(" draft", "yellow")
    if len(rec.attempts) > 1:
        t.append(f" {len(rec.attempts)} attempts", "yellow")
    if rec.error:
        t.append(f" {rec.error.get('message') or rec.error.get('code')}", "red")
    if rec.request_id:
        t.append(f" {rec.request_id}", "dim")
    return t


# --------------------------------------------------------------------------- stats
@cli.command()
@since_option
@until_option
@click.option("--by", type=click.Choice(GROUP_FIELDS), help="Group the figures by this field.")
@service_option
@model_option
@json_option
@file_option
def stats(
    since: datetime | None,
    until: datetime | None,
    by: str | None,
    service: str | None,
    model: str | None,
    as_json: bool,
    file: Path | None,
) -> None:
    """Requests, errors, tokens, cost, p50/p95 latency, PII reroutes and drafts.

    Without --since every record in the log and its rotated files counts. An error is a
    status of 400 or more; latency percentiles are nearest-rank over latency_ms.
    """
    path = _log_path(file)
    flt = RecordFilter(since=since, until=until, service=service, model=model)
    groups, total = compute(read_records(path, flt), by)
    if as_json:
        out = {
            "file": str(path),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "by": by,
            "groups": [g.to_dict() for g in groups],
            "total": total.to_dict(),
        }
        echo_json(out)
        return
    window = f"since {since:%Y-%m-%d %H:%M} UTC" if since else "all records"
    table = Table(
        title=f"Audit stats: {window}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        caption="latency: nearest-rank percentiles of latency_ms"
        + (
            "\ncost: +N? = N requests to models with no known price (openclaw models prices)"
            if total.unpriced
            else ""
        ),
        caption_justify="left",
    )
    table.add_column(by or "", style="bold", min_width=8, overflow="fold")
    for name in ("requests", "errors", "prompt\ntokens", "compl.\ntokens", "cost\nUSD"):
        table.add_column(name, justify="right")
    for name in ("p50\nms", "p95\nms", "PII\nreroutes", "drafts"):
        table.add_column(name, justify="right")
    for i, g in enumerate(groups):
        table.add_row(*_row(g), end_section=i == len(groups) - 1)
    table.add_row(*_row(total), style="bold")
    Console(highlight=False).print(table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _row(s: Stats) -> list[str]:
    return [
        s.key,
        str(s.requests),
        str(s.errors),
        str(s.prompt_tokens),
        str(s.completion_tokens),
        f"{s.cost_usd:.4f}" + (f" +{s.unpriced}?" if s.unpriced else ""),
        _ms(s.latency(50)),
        _ms(s.latency(95)),
        str(s.pii_reroutes),
        str(s.drafts),
    ]


# --------------------------------------------------------------------------- verify
@cli.command(name="verify")
@click.option("--all", "show_all", is_flag=True, help="List every problem, not just the first.")
@click.option(
    "--anchor",
    "anchor_file",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[FILE]",
    help="Require the anchor (default: audit.anchor next to the log, or FILE, e.g. a copy "
    "kept elsewhere) and report how many records are missing from the end.",
)
@json_option
@file_option
def verify_cmd(show_all: bool, anchor_file: str | None, as_json: bool, file: Path | None) -> None:
    """Walk the hash chain across rotated files; exit 1 naming the first bad line.

    Catches a line edited, deleted, inserted or moved anywhere. The anchor file the writer
    keeps (checked whenever it exists; required with --anchor) also catches a cut tail and
    a replaced log. When policies.yaml sets audit.anchor_key, the anchor's HMAC is checked.
    """
    path = _log_path(file)
    where = Path(anchor_file) if anchor_file else anchor_path(path)
    try:
        anchor = read_anchor(where, _anchor_key())
    except AnchorError as exc:
        if as_json:
            echo_json({"ok": False, "file": str(path), "anchor_error": str(exc)})
        else:
            click.echo(f"FAIL {exc}", err=True)
        raise SystemExit(1) from None
    if anchor is None and anchor_file is not None:
        message = f"{where}: no anchor file (the daemon writes it after each record)"
        if as_json:
            echo_json({"ok": False, "file": str(path), "anchor_error": message})
        else:
            click.echo(f"FAIL {message}", err=True)
        raise SystemExit(1)
    report = verify(path, stop_at_first=not show_all, anchor=anchor)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "file": str(path),
                "files": [str(f) for f in report.files],
                "records": report.records,
                "head": report.head,
                "from_genesis": report.from_genesis,
                "missing": report.missing,
                "anchor": None
                if anchor is None
                else {"seq": anchor.seq, "ts": anchor.ts, "keyed": anchor.keyed},
                "problems": [
                    {"file": str(p.file), "line": p.line, "reason": p.reason}
                    for p in report.problems
                ],
            }
        )
        if report.problems:
            raise SystemExit(1)
        return
    if report.problems:
        for problem in report.problems:
            click.echo(f"FAIL {problem}", err=True)
        if report.missing:
            click.echo(f"missing: {report.missing} record(s)", err=True)
        raise SystemExit(1)
    if not report.files:
        click.echo(f"no audit log at {path}")
        return
    start = "from genesis" if report.from_genesis else "continuing from rotated-away records"
    click.echo(
        f"OK {report.records} records in {len(report.files)} file(s), chain {start}; "
        f"head {report.head or '-'}"
    )
    if anchor is not None:
        if not anchor.keyed:
            keyed = "no HMAC"
        else:
            keyed = "HMAC checked" if _anchor_key() else "HMAC not checked (key not set here)"
        after = (report.last_seq or 0) - anchor.seq
        click.echo(
            f"anchor: record #{anchor.seq} ({anchor.ts}) matches, {keyed}; missing: 0"
            + (f"; {after} record(s) written after it" if after > 0 else "")
        )


def _anchor_key() -> bytes | None:
    """``audit.anchor_key`` from policies.yaml, resolved from the environment, if set."""
    home = home_dir()
    try:
        settings = load_model(home / "policies.yaml", PoliciesFile).audit
    except ConfigError:
        return None
    value = settings.anchor_key.resolve() if settings.anchor_key is not None else None
    return value.encode() if value else None


# --------------------------------------------------------------------------- export
@cli.command()
@since_option
@until_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the stored lines, unchanged; csv: one column per field, nested values as JSON.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout (a new file is created with mode 0600).",
)
@service_option
@model_option
@file_option
def export(
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    output: Path | None,
    service: str | None,
    model: str | None,
    file: Path | None,
) -> None:
    """Write the records in a time window as JSON lines or CSV.

    CSV has one column per field of the audit record, in the record's order, ending with
    extensions (plugins' facts, and any key an older record has that the record does not
    declare, as one JSON object) and the chain fields v, file_start, seq, prev and hash.
    """
    path = _log_path(file)
    flt = RecordFilter(since=since, until=until, service=service, model=model)
    matching = (
        (line.raw, rec)
        for line in iter_lines(path, since=since)
        if (rec := parse_line(line.raw)) is not None and flt(rec)
    )
    with _open_output(output) as out:
        if fmt == "jsonl":
            for raw, _ in matching:
                out.write(raw.decode().rstrip("\n") + "\n")
            return
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for _, rec in matching:
            writer.writerow(csv_row(rec))


_DECLARED = frozenset(COLUMNS)


def csv_row(stored: Record) -> list[str]:
    """One CSV row in :data:`COLUMNS` order, of the values as stored (an export changes none).

    Keys the record does not declare go into ``extensions``, as :meth:`AuditRecord.from_wire`
    reads them.
    """
    ext = stored.get("extensions")
    extensions = dict(ext) if isinstance(ext, dict) else {} if ext is None else {"extensions": ext}
    extensions.update((k, v) for k, v in stored.items() if k not in _DECLARED)
    row = dict(stored, extensions=extensions or None)
    return [_cell(row.get(k)) for k in COLUMNS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


@contextmanager
def _open_output(output: Path | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as f:
        yield f
