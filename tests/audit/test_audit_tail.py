"""Following the log: across our own rotation, and ``tail -f`` in a real process."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from openclaw.audit import AuditLog
from openclaw.audit.reader import Follower

MakeRecord = Callable[..., dict[str, Any]]


def ids(lines: list[bytes]) -> list[str]:
    return [orjson.loads(line)["request_id"] for line in lines]


def test_follower_starts_at_the_end_and_sees_new_lines(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    log.write(make_record(request_id="old"))
    follower = Follower(log_path)
    assert follower.poll() == []
    log.write(make_record(request_id="new"))
    assert ids(follower.poll()) == ["new"]


def test_follower_waits_for_a_log_that_does_not_exist_yet(
    log_path: Path, make_record: MakeRecord
) -> None:
    follower = Follower(log_path)
    assert follower.poll() == []
    AuditLog(log_path).write(make_record(request_id="first"))
    assert ids(follower.poll()) == ["first"]


def test_follower_carries_on_across_rotations_without_loss_or_repeats(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path, max_bytes=2000, keep=50)
    follower = Follower(log_path)
    seen: list[str] = []
    for i in range(30):
        log.write(make_record(request_id=f"r{i}"))
        if i % 4 == 0:  # several rotations between some polls
            seen += ids(follower.poll())
    seen += ids(follower.poll())
    assert log_path.with_name("audit.log.5").exists()
    assert seen == [f"r{i}" for i in range(30)]


def test_follower_keeps_a_partial_line_until_it_is_complete(log_path: Path) -> None:
    log_path.write_bytes(b"")
    follower = Follower(log_path)
    with log_path.open("ab") as f:
        f.write(b'{"request_id":')
        f.flush()
        assert follower.poll() == []
        f.write(b'"x"}\n')
    assert ids(follower.poll()) == ["x"]


def test_follower_starts_over_when_the_file_is_truncated_in_place(
    log_path: Path, make_record: MakeRecord
) -> None:
    log_path.write_bytes(b'{"request_id":"a"}\n{"request_id":"b"}\n')
    follower = Follower(log_path)
    log_path.write_bytes(b'{"request_id":"c"}\n')
    assert ids(follower.poll()) == ["c"]


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """One line of the child's stdout, or b"" if none came in time."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            break
        buf += chunk
    return buf


def test_tail_follow_prints_a_record_within_a_second_of_its_write(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    log.write(make_record(request_id="before"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "audit", "tail", "-f", "--json", "-n", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # The backlog line proves the follower is running (start-up may take a while).
        assert orjson.loads(read_line(proc, 30))["request_id"] == "before"
        log.write(make_record(request_id="after"))
        written = time.monotonic()
        line = read_line(proc, 1.0)
        assert time.monotonic() - written < 1.0
        assert orjson.loads(line)["request_id"] == "after"
    finally:
        proc.kill()
        proc.wait()
        log.close()
