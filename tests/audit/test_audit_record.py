"""The typed record: one model for the writer, the readers and the CSV export."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import orjson
from click.testing import CliRunner

from harness import serve_gateway
from openclaw.audit.record import COLUMNS, FIELDS, AuditRecord
from openclaw.audit.stats import compute
from openclaw.cli.audit import cli

MakeRecord = Callable[..., dict[str, Any]]
WriteLog = Callable[..., list[dict[str, Any]]]


def test_csv_columns_are_the_records_fields_in_order(
    write_log: WriteLog, make_record: MakeRecord
) -> None:
    write_log([make_record()])
    out = CliRunner().invoke(cli, ["export", "--format", "csv"]).output
    header = next(csv.reader(io.StringIO(out)))
    assert header == [f.name for f in dataclasses.fields(AuditRecord)]
    assert tuple(header) == COLUMNS


def test_the_schema_1_fields_are_declared() -> None:
    assert set(FIELDS) <= set(COLUMNS)


def test_export_files_undeclared_keys_under_extensions(
    write_log: WriteLog, make_record: MakeRecord
) -> None:
    # a plugin's key as records stored it before there was an extensions object
    write_log([make_record(requested_model="general", fallback="fast", my_plugin_score=3)])
    [row] = csv.DictReader(
        io.StringIO(CliRunner().invoke(cli, ["export", "--format", "csv"]).output)
    )
    assert row["requested_model"] == "general" and row["fallback"] == "fast"
    assert orjson.loads(row["extensions"]) == {"my_plugin_score": 3}


def test_from_wire_reads_odd_values_as_defaults_and_unknown_keys_as_extensions() -> None:
    rec = AuditRecord.from_wire(
        {
            "status": "200",  # text, not a number
            "latency_ms": 12,  # an int is a fine float
            "draft": 1,  # a number, not a boolean
            "prompt_tokens": True,  # a boolean is no count
            "extensions": {"a": 1},
            "legacy": "x",
        }
    )
    assert rec.status is None and rec.latency_ms == 12 and rec.draft is False
    assert rec.prompt_tokens is None
    assert rec.extensions == {"a": 1, "legacy": "x"}


def test_to_wire_leaves_unset_optional_fields_out() -> None:
    wire = AuditRecord(request_id="r", status=200).to_wire()
    assert "limit" not in wire and "extensions" not in wire and "hash" not in wire
    assert wire["channel"] is None


def test_stats_read_stored_objects_and_typed_records_alike(make_record: MakeRecord) -> None:
    stored = make_record(status=500, prompt_tokens=7)
    _, from_dicts = compute([stored])
    _, from_records = compute([AuditRecord.from_wire(stored)])
    assert from_dicts.to_dict() == from_records.to_dict()
    assert from_records.errors == 1 and from_records.prompt_tokens == 7


async def test_a_plugins_fact_is_stored_under_extensions(openclaw_home: Path) -> None:
    pol = (
        "plugins: [examples.custom_rule]\n"
        "policies:\n  - name: codenames\n    rule: no_codenames\n"
        "    enforce: false\n    params: {codenames: [bluebird]}\n"
    )
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        client = openai.AsyncOpenAI(base_url=served.url, api_key=served.token, max_retries=0)
        await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "status of Bluebird?"}]
        )
    finally:
        await served.close()
    [rec] = served.audit()
    assert rec["extensions"] == {"no_codenames": {"hits": 1}}
    assert rec["policies"][0]["outcome"] == "would_apply"
    [row] = csv.DictReader(
        io.StringIO(CliRunner().invoke(cli, ["export", "--format", "csv"]).output)
    )
    assert orjson.loads(row["extensions"]) == {"no_codenames": {"hits": 1}}
