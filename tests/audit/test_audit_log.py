"""The writer: fields, the hash chain, recovery on reopen, rotation, odd records, threads."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from openclaw.audit import AuditLog, AuditWriteError
from openclaw.audit.record import FIELDS, GENESIS, SCHEMA_VERSION, record_hash
from openclaw.audit.verify import verify

MakeRecord = Callable[..., dict[str, Any]]


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


def test_record_carries_every_field_and_the_chain_fields(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    log.write(make_record(content={"messages": [{"role": "user", "content": "hi"}]}))
    [rec] = lines(log_path)
    assert set(FIELDS) <= set(rec)
    assert rec["v"] == SCHEMA_VERSION
    assert rec["prev"] == GENESIS
    assert rec["file_start"] is True
    assert rec["hash"] == record_hash(rec)
    assert log.last_hash == rec["hash"]


def test_each_record_chains_to_the_hash_of_the_one_before(
    log_path: Path, write_log: Callable[..., Any]
) -> None:
    write_log(n=4)
    recs = lines(log_path)
    assert [r["prev"] for r in recs[1:]] == [r["hash"] for r in recs[:-1]]
    assert all("file_start" not in r for r in recs[1:])


def test_line_is_flushed_to_the_file_when_write_returns(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    log.write(make_record(request_id="visible"))
    # Read through a separate descriptor while the writer is still open.
    assert lines(log_path)[0]["request_id"] == "visible"
    log.close()


def test_write_leaves_the_callers_record_alone(log_path: Path, make_record: MakeRecord) -> None:
    rec = make_record()
    before = dict(rec)
    AuditLog(log_path).write(rec)
    assert rec == before


def test_ts_is_added_when_the_record_has_none(log_path: Path, make_record: MakeRecord) -> None:
    rec = make_record()
    del rec["ts"]
    AuditLog(log_path).write(rec)
    assert lines(log_path)[0]["ts"].endswith("Z")


def test_log_file_is_private(log_path: Path, write_log: Callable[..., Any]) -> None:
    write_log(n=30, max_bytes=2000, keep=2)
    for p in (log_path, log_path.with_name("audit.log.1")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_chain_continues_after_the_log_is_reopened(
    log_path: Path, write_log: Callable[..., Any]
) -> None:
    write_log(n=2)
    write_log(n=2)  # a new AuditLog, as after a daemon restart
    recs = lines(log_path)
    assert recs[2]["prev"] == recs[1]["hash"]
    assert "file_start" not in recs[2]
    assert verify(log_path).ok


def test_recovery_reads_a_last_line_longer_than_one_read(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    log.write(make_record(content={"response": "x" * 200_000}))
    log.close()
    again = AuditLog(log_path)
    assert again.last_hash is None  # nothing read until first use
    again.ready()
    assert again.last_hash == lines(log_path)[0]["hash"]


def test_a_line_cut_short_is_stepped_over_and_reported(
    log_path: Path, write_log: Callable[..., Any], make_record: MakeRecord
) -> None:
    write_log(n=2)
    with log_path.open("ab") as f:
        f.write(b'{"ts":"2025-01-31T12:00:01.000Z","request_id":"cut')
    log = AuditLog(log_path)
    log.write(make_record(request_id="after"))
    raw = log_path.read_bytes().splitlines()
    assert len(raw) == 4
    after = orjson.loads(raw[3])
    assert after["request_id"] == "after"
    assert after["prev"] == orjson.loads(raw[1])["hash"]
    report = verify(log_path, stop_at_first=False)
    assert [(p.file.name, p.line) for p in report.problems] == [("audit.log", 3)]
    assert "not valid JSON" in report.problems[0].reason


def test_rotation_keeps_n_files_and_carries_the_chain(
    log_path: Path, write_log: Callable[..., Any]
) -> None:
    write_log(n=60, max_bytes=3000, keep=2)
    names = sorted(p.name for p in log_path.parent.iterdir() if p.name.startswith("audit.log"))
    assert names == ["audit.log", "audit.log.1", "audit.log.2"]
    older, newer = lines(log_path.with_name("audit.log.1")), lines(log_path)
    assert newer[0]["prev"] == older[-1]["hash"]
    assert newer[0]["file_start"] is True and older[0]["file_start"] is True
    assert all(p.stat().st_size <= 3000 for p in log_path.parent.glob("audit.log*"))
    report = verify(log_path)
    assert report.ok and not report.from_genesis
    assert report.head == newer[-1]["hash"]


def test_chain_continues_from_the_rotated_file_when_the_live_one_is_gone(
    log_path: Path, write_log: Callable[..., Any]
) -> None:
    write_log(n=3)
    last = lines(log_path)[-1]["hash"]
    log_path.rename(log_path.with_name("audit.log.1"))
    write_log(n=1)
    [first] = lines(log_path)
    assert first["prev"] == last and first["file_start"] is True
    assert verify(log_path).ok


def test_a_field_orjson_refuses_is_kept_as_repr(log_path: Path, make_record: MakeRecord) -> None:
    AuditLog(log_path).write(make_record(attempts=2**70, policies={1: "x"}, tags={"b", "a"}))
    [rec] = lines(log_path)
    assert rec["attempts"] == repr(2**70)
    assert "attempts" in rec["audit_error"]
    assert verify(log_path).ok


def test_sets_and_other_objects_are_written_as_json(
    log_path: Path, make_record: MakeRecord
) -> None:
    AuditLog(log_path).write(make_record(tags={"b", "a"}, where=Path("/x")))
    [rec] = lines(log_path)
    assert rec["tags"] == ["a", "b"] and rec["where"] == "/x"
    assert "audit_error" not in rec


def test_ready_and_write_fail_with_audit_write_error_when_unwritable(
    tmp_path: Path, make_record: MakeRecord
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    log = AuditLog(blocker / "audit.log")
    with pytest.raises(AuditWriteError):
        log.ready()
    assert log.last_error
    with pytest.raises(AuditWriteError) as info:
        log.write(make_record())
    assert info.value.status == 503 and info.value.code == "audit_unavailable"


def test_writes_from_many_threads_keep_one_unbroken_chain(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path, max_bytes=20_000, keep=100)

    def work(t: int) -> None:
        for i in range(100):
            log.write(make_record(request_id=f"{t}-{i}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    report = verify(log_path)
    assert report.ok, report.first
    assert report.records == 800 and report.from_genesis
