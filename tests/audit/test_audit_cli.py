"""``openclaw audit tail|stats|verify|export`` through click's CliRunner."""

from __future__ import annotations

import csv
import io
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from openclaw.audit.reader import parse_time
from openclaw.cli import main
from openclaw.cli.audit import cli

MakeRecord = Callable[..., dict[str, Any]]
WriteLog = Callable[..., list[dict[str, Any]]]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def stored_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_audit_is_a_command_of_openclaw() -> None:
    result = CliRunner().invoke(main, ["audit", "--help"])
    assert result.exit_code == 0
    for sub in ("tail", "stats", "verify", "export"):
        assert sub in result.output


@pytest.mark.parametrize("sub", ["tail", "stats", "verify", "export"])
def test_every_subcommand_has_help(sub: str) -> None:
    result = run(sub, "--help")
    assert result.exit_code == 0 and "--file" in result.output


# -------------------------------------------------------------------------- tail
def test_tail_json_prints_the_newest_lines_as_stored(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=5)
    result = run("tail", "-n", "2", "--json")
    assert result.exit_code == 0
    assert result.output.encode().splitlines() == stored_lines(log_path)[-2:]


def test_tail_filters_by_service_and_model(
    log_path: Path, write_log: WriteLog, make_record: MakeRecord
) -> None:
    write_log(
        [
            make_record(request_id="a", service="billing", model="fast"),
            make_record(request_id="b", service="support", model="fast"),
            make_record(request_id="c", service="support", model="local", provider_model="llama3"),
        ]
    )

    def ids(*args: str) -> list[str]:
        out = run("tail", "--json", *args).output.splitlines()
        return [orjson.loads(line)["request_id"] for line in out]

    assert ids("--service", "support") == ["b", "c"]
    assert ids("--model", "fast") == ["a", "b"]
    assert ids("--model", "llama3") == ["c"]  # the provider's own model name matches too


def test_tail_reaches_back_into_rotated_files(log_path: Path, write_log: WriteLog) -> None:
    recs = write_log(n=20, max_bytes=2500, keep=20)
    assert log_path.with_name("audit.log.1").exists()
    out = run("tail", "-n", "15", "--json").output.splitlines()
    assert [orjson.loads(line)["request_id"] for line in out] == [
        r["request_id"] for r in recs[-15:]
    ]


def test_tail_renders_a_readable_line(
    write_log: WriteLog, make_record: MakeRecord, pii_decision: Callable[..., Any]
) -> None:
    write_log(
        [
            make_record(
                request_id="req-pii", service="support", policies=[pii_decision()], draft=True
            ),
            make_record(
                request_id="req-err",
                status=502,
                error={"code": "upstream_error", "type": "upstream_error", "message": "boom"},
            ),
        ]
    )
    first, second = run("tail").output.splitlines()
    for part in ("support", "fast", "openai/gpt-4o-mini", "PII-reroute", "draft", "req-pii"):
        assert part in first
    assert "502" in second and "boom" in second


def test_tail_of_a_missing_log_prints_nothing() -> None:
    result = run("tail")
    assert result.exit_code == 0 and result.output == ""


# -------------------------------------------------------------------------- stats
def test_stats_json_gives_the_figures(
    write_log: WriteLog, make_record: MakeRecord, pii_decision: Callable[..., Any]
) -> None:
    write_log(
        [
            make_record(service="a", latency_ms=10, status=200, cost_usd=0.5),
            make_record(service="a", latency_ms=30, status=503, cost_usd=0.25),
            make_record(service="b", latency_ms=20, policies=[pii_decision()], draft=True),
        ]
    )
    out = orjson.loads(run("stats", "--by", "service", "--json").output)
    assert out["by"] == "service"
    assert [g["key"] for g in out["groups"]] == ["a", "b"]
    a = out["groups"][0]
    assert (a["requests"], a["errors"], a["cost_usd"]) == (2, 1, 0.75)
    assert (a["p50_latency_ms"], a["p95_latency_ms"]) == (10, 30)
    total = out["total"]
    assert (total["requests"], total["pii_reroutes"], total["drafts"]) == (3, 1, 1)


def test_stats_since_counts_only_recent_records(
    write_log: WriteLog, make_record: MakeRecord
) -> None:
    now = datetime.now(UTC)
    stamp = lambda delta: (now - delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: E731
    write_log(
        [
            make_record(ts=stamp(timedelta(days=3))),
            make_record(ts=stamp(timedelta(hours=2))),
            make_record(ts=stamp(timedelta(minutes=1))),
        ]
    )
    assert orjson.loads(run("stats", "--since", "24h", "--json").output)["total"]["requests"] == 2
    assert orjson.loads(run("stats", "--since", "7d", "--json").output)["total"]["requests"] == 3
    assert orjson.loads(run("stats", "--since", "30m", "--json").output)["total"]["requests"] == 1


def test_stats_table_shows_groups_and_total(write_log: WriteLog, make_record: MakeRecord) -> None:
    write_log([make_record(provider="openai"), make_record(provider="ollama", status=500)])
    result = run("stats", "--by", "provider")
    assert result.exit_code == 0
    assert "openai" in result.output and "ollama" in result.output and "total" in result.output
    assert "PII" in result.output and "p95" in result.output


def test_stats_rejects_an_unreadable_time() -> None:
    result = CliRunner().invoke(cli, ["stats", "--since", "yesterday-ish"])
    assert result.exit_code == 2 and "--since" in result.output


# -------------------------------------------------------------------------- verify
def test_verify_passes_and_prints_the_head_hash(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=3)
    result = run("verify")
    head = orjson.loads(stored_lines(log_path)[-1])["hash"]
    assert result.exit_code == 0
    assert "OK 3 records" in result.output and "genesis" in result.output and head in result.output


def test_verify_fails_naming_the_edited_line(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=4)
    lines = stored_lines(log_path)
    lines[2] = lines[2].replace(b'"service":"billing"', b'"service":"elsewhere"')
    log_path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 1
    assert f"{log_path}:3:" in result.output


def test_verify_fails_naming_a_line_deleted_across_a_rotation(
    log_path: Path, write_log: WriteLog
) -> None:
    write_log(n=12, max_bytes=2500, keep=10)
    one = log_path.with_name("audit.log.1")
    one.write_bytes(b"".join(one.read_bytes().splitlines(keepends=True)[:-1]))
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 1 and f"{log_path}:1:" in result.output


def test_verify_all_lists_every_problem(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=6)
    lines = stored_lines(log_path)
    del lines[1], lines[3]  # original lines 2 and 5
    log_path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(cli, ["verify", "--all"])
    assert result.exit_code == 1
    assert [ln.split(":")[1] for ln in result.output.splitlines()] == ["2", "4"]


def test_verify_reads_the_file_given(tmp_path: Path, write_log: WriteLog, log_path: Path) -> None:
    write_log(n=2)
    moved = tmp_path / "elsewhere.log"
    log_path.rename(moved)
    assert "no audit log" in run("verify").output
    assert "OK 2 records" in run("verify", "--file", str(moved)).output


# -------------------------------------------------------------------------- export
def window_log(write_log: WriteLog, make_record: MakeRecord) -> list[dict[str, Any]]:
    return write_log(
        [
            make_record(request_id=f"r{h}", ts=f"2025-01-31T{h:02d}:00:00.000Z", draft=h == 11)
            for h in (9, 10, 11, 12)
        ]
    )


def test_export_jsonl_writes_the_stored_lines_in_the_window(
    log_path: Path, write_log: WriteLog, make_record: MakeRecord
) -> None:
    window_log(write_log, make_record)
    result = run(
        "export",
        "--since",
        "2025-01-31T10:00Z",
        "--until",
        "2025-01-31T12:00Z",
        "--format",
        "jsonl",
    )
    assert result.output.encode().splitlines() == stored_lines(log_path)[1:3]


def test_export_csv_has_one_column_per_field(
    write_log: WriteLog, make_record: MakeRecord, pii_decision: Callable[..., Any]
) -> None:
    write_log([make_record(policies=[pii_decision()], stream=True, cost_usd=0.25)])
    rows = list(csv.DictReader(io.StringIO(run("export", "--format", "csv").output)))
    [row] = rows
    assert row["service"] == "billing" and row["status"] == "200" and row["cost_usd"] == "0.25"
    assert row["channel"] == "" and row["draft"] == "false"
    assert orjson.loads(row["policies"])[0]["outcome"] == "applied"
    # stream is a field of the record (issue 13 moved it out of the old catch-all column)
    assert row["stream"] == "true" and row["extensions"] == ""
    assert len(row["hash"]) == 64


def test_export_to_a_private_file(
    tmp_path: Path, write_log: WriteLog, make_record: MakeRecord
) -> None:
    window_log(write_log, make_record)
    out = tmp_path / "out.csv"
    result = run("export", "--format", "csv", "--since", "2025-01-31T11:00Z", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [r["request_id"] for r in csv.DictReader(out.open())] == ["r11", "r12"]


# -------------------------------------------------------------------------- times
@pytest.mark.parametrize(
    ("text", "delta"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("now", timedelta(0))],
)  # fmt: skip
def test_relative_times_count_back_from_now(text: str, delta: timedelta) -> None:
    now = datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert parse_time(text, now=now) == now - delta


def test_iso_times_without_offset_are_utc() -> None:
    assert parse_time("2025-01-31") == datetime(2025, 1, 31, tzinfo=UTC)
    assert parse_time("2025-01-31T12:00") == datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert parse_time("2025-01-31T12:00+01:00") == datetime(2025, 1, 31, 11, tzinfo=UTC)


def test_verify_json_reports_the_chain(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=3)
    result = run("verify", "--json")
    assert result.exit_code == 0
    doc = orjson.loads(result.stdout)
    assert doc["ok"] is True and doc["records"] == 3 and doc["from_genesis"] is True
    assert doc["head"] == orjson.loads(stored_lines(log_path)[-1])["hash"]
    assert doc["problems"] == [] and doc["files"] == [str(log_path)]


def test_verify_json_names_the_edited_line_and_exits_1(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=4)
    lines = stored_lines(log_path)
    lines[2] = lines[2].replace(b'"service":"billing"', b'"service":"elsewhere"')
    log_path.write_bytes(b"\n".join(lines) + b"\n")
    result = run("verify", "--json")
    assert result.exit_code == 1
    doc = orjson.loads(result.stdout)
    assert doc["ok"] is False
    assert [(p["file"], p["line"]) for p in doc["problems"]] == [(str(log_path), 3)]


def test_stats_keeps_unpriced_requests_out_of_the_cost_and_counts_them(
    write_log: WriteLog, make_record: MakeRecord
) -> None:
    write_log(
        [
            make_record(cost_usd=0.5),
            make_record(cost_usd=None, provider="corp", provider_model="corp-llm"),
            make_record(cost_usd=None, provider=None, status=429),  # refused: nothing served
        ]
    )
    total = orjson.loads(run("stats", "--json").output)["total"]
    assert (total["cost_usd"], total["unpriced_requests"]) == (0.5, 1)
    table = CliRunner().invoke(main, ["audit", "stats"], env={"COLUMNS": "200"}).output
    assert "0.5000 +1?" in table and "no known price" in table


def test_stats_by_api_counts_records_without_the_field_as_chat(
    write_log: WriteLog, make_record: MakeRecord
) -> None:
    old = make_record(service="a")
    old.pop("api", None)
    write_log([make_record(api="messages"), make_record(api="embeddings"), old])
    out = orjson.loads(run("stats", "--by", "api", "--json").output)
    assert out["by"] == "api"
    assert sorted((g["key"], g["requests"]) for g in out["groups"]) == [
        ("chat", 1),
        ("embeddings", 1),
        ("messages", 1),
    ]
