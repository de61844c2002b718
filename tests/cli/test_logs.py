"""``openclaw logs``: the daemon's own log, across and through rotation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty, Queue

from click.testing import CliRunner

from openclaw.audit.reader import Follower
from openclaw.cli import main
from openclaw.cli.logs import follow, last_lines, parse


def line(n: int, level: str = "INFO") -> str:
    return f"2026-01-31 12:00:{n:02d},000 {level} openclaw.server: message {n}"


def write(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write("".join(x + "\n" for x in lines))


def test_last_lines_span_the_rotated_files_oldest_first(openclaw_home: Path) -> None:
    log = openclaw_home / "logs" / "gateway.log"
    write(log.with_name("gateway.log.2"), line(1), line(2))
    write(log.with_name("gateway.log.1"), line(3))
    write(log, line(4), line(5))
    assert last_lines(log, 4) == [line(2), line(3), line(4), line(5)]
    result = CliRunner().invoke(main, ["logs", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [line(4), line(5)]


def test_json_output_splits_the_log_format_and_keeps_traceback_lines(openclaw_home: Path) -> None:
    write(
        openclaw_home / "logs" / "gateway.log",
        line(1, "ERROR"),
        "Traceback (most recent call last):",
    )
    result = CliRunner().invoke(main, ["logs", "--json"])
    first, second = (json.loads(x) for x in result.output.splitlines())
    assert first == {
        "ts": "2026-01-31 12:00:01,000",
        "level": "ERROR",
        "logger": "openclaw.server",
        "message": "message 1",
    }
    assert second == parse("Traceback (most recent call last):")
    assert second["level"] is None


def test_no_log_yet_says_where_start_up_output_goes(openclaw_home: Path) -> None:
    result = CliRunner().invoke(main, ["logs"])
    assert result.exit_code == 1
    assert "no daemon log yet" in result.output
    assert "gateway.console.log" in result.output


def test_follow_carries_on_into_the_new_file_after_rotation(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    write(log, line(1))
    follower = Follower(log)  # starts at the end, as `logs -f` does after the last lines
    write(log, line(2))
    lines = follow(follower, interval=0.01)
    assert next(lines) == line(2)
    write(log, line(3))
    os.replace(log, tmp_path / "gateway.log.1")  # what RotatingFileHandler does
    write(log, line(4))
    assert next(lines) == line(3)
    assert next(lines) == line(4)


def test_logs_follow_command_prints_new_lines_through_a_rotation(openclaw_home: Path) -> None:
    log = openclaw_home / "logs" / "gateway.log"
    write(log, line(1), line(2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "logs", "-f", "-n", "1"],
        env=dict(os.environ, OPENCLAW_HOME=str(openclaw_home)),
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: Queue[str] = Queue()

    def read() -> None:
        assert proc.stdout is not None
        for out in proc.stdout:
            seen.put(out.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        assert seen.get(timeout=30) == line(2)
        write(log, line(3))
        assert seen.get(timeout=10) == line(3)
        os.replace(log, log.with_name("gateway.log.1"))
        write(log, line(4))
        assert seen.get(timeout=10) == line(4)
        try:
            extra = seen.get(timeout=0.3)
        except Empty:
            extra = None
        assert extra is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
