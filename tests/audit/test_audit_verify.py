"""``verify``: passes on an untouched log; names the line after an edit, deletion or reorder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from openclaw.audit.verify import verify

WriteLog = Callable[..., list[dict[str, Any]]]


def edit_lines(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))


def bump_latency(raw: bytes) -> bytes:
    rec = orjson.loads(raw)
    rec["latency_ms"] += 1
    return orjson.dumps(rec) + b"\n"


def where(path: Path) -> tuple[str, int, str]:
    problem = verify(path).first
    assert problem is not None, "verify passed a tampered log"
    return problem.file.name, problem.line, problem.reason


def test_untouched_log_verifies_from_genesis(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=5)
    report = verify(log_path)
    assert report.ok and report.records == 5 and report.from_genesis
    assert report.head == orjson.loads(log_path.read_bytes().splitlines()[-1])["hash"]


def test_missing_log_has_nothing_to_verify(log_path: Path) -> None:
    report = verify(log_path)
    assert report.ok and report.records == 0 and report.files == []


def test_edited_line_is_named(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=5)
    edit_lines(log_path, lambda ls: [*ls[:2], bump_latency(ls[2]), *ls[3:]])
    name, line, reason = where(log_path)
    assert (name, line) == ("audit.log", 3) and "edited" in reason


def test_edit_that_keeps_the_stored_hash_in_place_is_caught(
    log_path: Path, write_log: WriteLog
) -> None:
    write_log(n=3)
    edit_lines(log_path, lambda ls: [ls[0], ls[1].replace(b'"status":200', b'"status":201'), ls[2]])
    assert where(log_path)[:2] == ("audit.log", 2)


def test_deleted_line_is_named_by_the_line_that_follows_it(
    log_path: Path, write_log: WriteLog
) -> None:
    write_log(n=5)
    edit_lines(log_path, lambda ls: [*ls[:2], *ls[3:]])
    name, line, reason = where(log_path)
    assert (name, line) == ("audit.log", 3) and "deleted" in reason


def test_deleted_first_line_is_caught(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=3)
    edit_lines(log_path, lambda ls: ls[1:])
    name, line, reason = where(log_path)
    assert (name, line) == ("audit.log", 1) and "deleted" in reason


def test_reordered_lines_are_named(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=5)
    edit_lines(log_path, lambda ls: [ls[0], ls[2], ls[1], *ls[3:]])
    assert where(log_path)[:2] == ("audit.log", 2)


def test_duplicated_line_is_named(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=4)
    edit_lines(log_path, lambda ls: [*ls[:3], ls[1], *ls[3:]])
    assert where(log_path)[:2] == ("audit.log", 4)


def test_line_cut_short_at_the_end_is_named(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=3)
    edit_lines(log_path, lambda ls: [*ls[:2], ls[2][:40]])
    name, line, reason = where(log_path)
    assert (name, line) == ("audit.log", 3) and "cut short" in reason


def test_line_without_chain_fields_is_named(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=2)
    with log_path.open("ab") as f:
        f.write(b'{"service":"forged"}\n')
    assert where(log_path)[:2] == ("audit.log", 3)


def rotated(log_path: Path, write_log: WriteLog) -> list[Path]:
    """Twelve records, three to a file: audit.log.3, .2, .1 and the live audit.log."""
    line = _line_size(log_path, write_log)
    write_log(n=12, max_bytes=3 * line + 50, keep=5)
    files = [log_path.with_name(f"audit.log.{n}") for n in (3, 2, 1)] + [log_path]
    assert [len(p.read_bytes().splitlines()) for p in files] == [3, 3, 3, 3]
    assert verify(log_path).ok
    return files


def _line_size(log_path: Path, write_log: WriteLog) -> int:
    write_log(n=1)
    size = log_path.stat().st_size
    log_path.unlink()
    return size + 10  # room for longer request ids and prev/file_start differences


def test_edit_in_a_rotated_file_names_that_file(log_path: Path, write_log: WriteLog) -> None:
    _, _, one, _ = rotated(log_path, write_log)
    edit_lines(one, lambda ls: [ls[0], bump_latency(ls[1]), *ls[2:]])
    assert where(log_path)[:2] == ("audit.log.1", 2)


def test_deleted_last_line_of_a_rotated_file_is_caught_across_the_rotation(
    log_path: Path, write_log: WriteLog
) -> None:
    _, _, one, _ = rotated(log_path, write_log)
    edit_lines(one, lambda ls: ls[:-1])
    name, line, reason = where(log_path)
    assert (name, line) == ("audit.log", 1) and "audit.log.1" in reason


def test_deleted_first_line_after_a_rotation_is_caught(log_path: Path, write_log: WriteLog) -> None:
    rotated(log_path, write_log)
    edit_lines(log_path, lambda ls: ls[1:])
    assert where(log_path)[:2] == ("audit.log", 1)


def test_line_moved_across_a_rotation_is_caught(log_path: Path, write_log: WriteLog) -> None:
    _, _, one, live = rotated(log_path, write_log)
    head = live.read_bytes().splitlines(keepends=True)[0]
    edit_lines(live, lambda ls: ls[1:])
    edit_lines(one, lambda ls: [*ls, head])
    assert where(log_path)[0] == "audit.log.1"


def test_swapped_rotated_files_are_caught(log_path: Path, write_log: WriteLog) -> None:
    _, two, one, _ = rotated(log_path, write_log)
    a, b = two.read_bytes(), one.read_bytes()
    two.write_bytes(b)
    one.write_bytes(a)
    assert where(log_path)[:2] == ("audit.log.2", 1)


def test_all_problems_lists_each_tampered_line_once(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=8)
    edit_lines(
        log_path,
        lambda ls: [ls[0], bump_latency(ls[1]), *ls[2:5], *ls[6:]],  # edit 2, delete 6
    )
    report = verify(log_path, stop_at_first=False)
    assert [p.line for p in report.problems] == [2, 6]
