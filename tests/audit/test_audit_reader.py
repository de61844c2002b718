"""The reader: backwards line reading, record iteration across files, filters."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openclaw.audit.reader import (
    RecordFilter,
    iter_records,
    last_records,
    parse_time,
    reverse_lines,
)
from openclaw.audit.record import log_files

DATA = b'{"a":1}\n\nsecond line\n' + b"x" * 50 + b"\nno newline at the end"


@pytest.mark.parametrize("chunk", [1, 2, 7, 16, 64, 1 << 16])
def test_reverse_lines_yields_every_line_last_first(chunk: int) -> None:
    got = list(reverse_lines(io.BytesIO(DATA), chunk=chunk))
    assert got == list(reversed(DATA.splitlines(keepends=True)))


def test_reverse_lines_stops_at_the_given_end() -> None:
    end = DATA.index(b"second") + len(b"second line\n")
    assert list(reverse_lines(io.BytesIO(DATA), end=end, chunk=3)) == [
        b"second line\n",
        b"\n",
        b'{"a":1}\n',
    ]


def test_log_files_lists_rotated_files_oldest_first(log_path: Path) -> None:
    for name in ("audit.log", "audit.log.1", "audit.log.10", "audit.log.2", "audit.log.bak"):
        (log_path.parent / name).write_text("")
    assert [p.name for p in log_files(log_path)] == [
        "audit.log.10",
        "audit.log.2",
        "audit.log.1",
        "audit.log",
    ]


def test_iter_records_skips_lines_that_are_not_records(
    log_path: Path, write_log: Callable[..., Any]
) -> None:
    write_log(n=2)
    with log_path.open("ab") as f:
        f.write(b"\n[1, 2]\nnot json\n")
    write_log(n=1)
    assert len(list(iter_records(log_path))) == 3


def test_files_older_than_since_are_not_read(
    log_path: Path, write_log: Callable[..., Any], make_record: Callable[..., Any]
) -> None:
    write_log([make_record(ts="2030-01-01T00:00:00Z")])  # a ts the file's mtime contradicts
    old = parse_time("2020-01-01").timestamp()
    os.utime(log_path, (old, old))
    assert list(iter_records(log_path, RecordFilter(since=parse_time("2029-01-01")))) == []


def test_last_records_applies_the_filter_before_counting(
    log_path: Path, write_log: Callable[..., Any], make_record: Callable[..., Any]
) -> None:
    write_log([make_record(request_id=f"r{i}", service="a" if i % 2 else "b") for i in range(9)])
    recs = last_records(log_path, 3, RecordFilter(service="a"))
    assert [r["request_id"] for r in recs] == ["r3", "r5", "r7"]


def test_records_without_a_readable_ts_drop_out_of_a_time_window() -> None:
    flt = RecordFilter(since=parse_time("2025-01-01"))
    assert flt({"ts": "2025-02-01T00:00:00Z"})
    assert flt({"ts": 1738368000})  # epoch seconds, 2025-02-01
    assert not flt({"ts": "yesterday"})
    assert not flt({})
