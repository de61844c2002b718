"""One chain however many processes write: the file lock and continuing from the last record."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner

from openclaw.audit import AuditLog
from openclaw.cli.audit import cli

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from openclaw.audit import AuditLog

    path, who, n, max_bytes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sys.stdin.readline()  # start together
    log = AuditLog(path, max_bytes=max_bytes, keep=50)
    for i in range(n):
        log.write({"request_id": f"{who}-{i}", "service": who, "status": 200})
    log.close()
    """
)


def _records(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.parent.glob("audit.log.*"), key=lambda p: -int(p.name.rsplit(".", 1)[1]))
    out = []
    for f in [*files, path]:
        out += [orjson.loads(line) for line in f.read_bytes().splitlines() if line.strip()]
    return out


def _run_writers(path: Path, n: int, max_bytes: int) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), who, str(n), str(max_bytes)],
            stdin=subprocess.PIPE,
        )
        for who in ("daemon", "cli")
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=60) == 0


def test_two_processes_writing_at_once_leave_one_chain_that_verifies(log_path: Path) -> None:
    _run_writers(log_path, 300, 50 * 1024 * 1024)
    result = CliRunner().invoke(cli, ["verify", "--anchor"])
    assert result.exit_code == 0, result.output
    assert "OK 600 records" in result.output and "missing: 0" in result.output
    recs = _records(log_path)
    assert [r["seq"] for r in recs] == list(range(1, 601))
    assert {r["service"] for r in recs} == {"daemon", "cli"}


def test_two_processes_rotating_the_same_log_keep_the_chain_across_files(log_path: Path) -> None:
    _run_writers(log_path, 150, 4000)
    assert len(list(log_path.parent.glob("audit.log.*"))) > 2
    result = CliRunner().invoke(cli, ["verify", "--anchor"])
    assert result.exit_code == 0, result.output
    assert "OK 300 records" in result.output
    recs = _records(log_path)
    assert [r["seq"] for r in recs] == list(range(1, 301))


def test_a_second_writer_continues_from_the_last_record_another_wrote(
    log_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    first, second = AuditLog(log_path), AuditLog(log_path)
    first.write(make_record(request_id="a"))
    second.write(make_record(request_id="b"))  # opened before "a" existed
    first.write(make_record(request_id="c"))
    first.close()
    second.close()
    a, b, c = _records(log_path)
    assert (b["prev"], c["prev"]) == (a["hash"], b["hash"])
    assert [a["seq"], b["seq"], c["seq"]] == [1, 2, 3]
    assert CliRunner().invoke(cli, ["verify", "--anchor"]).exit_code == 0


def test_the_lock_and_anchor_files_are_private(
    log_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    old = os.umask(0o022)
    try:
        log = AuditLog(log_path)
        log.write(make_record())
        log.close()
    finally:
        os.umask(old)
    for name in ("audit.log", "audit.lock", "audit.anchor"):
        assert stat.S_IMODE((log_path.parent / name).stat().st_mode) == 0o600, name
