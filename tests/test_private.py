"""Files the daemon creates or rotates are mode 0600 whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.private import PrivateRotatingFileHandler, write_private

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_daemon_log_and_every_rotated_copy_are_private(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "gateway.log"
    handler = PrivateRotatingFileHandler(path, maxBytes=200, backupCount=3)
    logger = logging.getLogger("openclaw.test.private")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for i in range(40):
            logger.warning("line %d: provider answered 401 for a key", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(tmp_path.glob("gateway.log*"))
    assert len(files) == 4  # the live file and three rotated ones
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_write_private_replaces_atomically_with_mode_0600(
    tmp_path: Path, loose_umask: None
) -> None:
    target = tmp_path / "gateway.pid"
    target.write_text("old\n")
    target.chmod(0o644)
    write_private(target, b"123\n")
    assert target.read_text() == "123\n" and mode(target) == 0o600
    assert not list(tmp_path.glob(".gateway.pid.*"))  # no temporary file left behind


def test_the_daemon_logging_setup_uses_the_private_handler(
    tmp_path: Path, loose_umask: None
) -> None:
    from openclaw.daemon import setup_logging

    setup_logging(tmp_path)
    root = logging.getLogger("openclaw")
    try:
        assert any(isinstance(h, PrivateRotatingFileHandler) for h in root.handlers)
        root.warning("hello")
        assert mode(tmp_path / "logs" / "gateway.log") == 0o600
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()


def test_doctor_fix_makes_the_daemon_files_private(openclaw_home: Path, loose_umask: None) -> None:
    from click.testing import CliRunner

    from openclaw.cli import main

    logs = openclaw_home / "logs"
    logs.mkdir()
    exposed = [logs / "gateway.log", logs / "gateway.log.1", openclaw_home / "audit.anchor"]
    for p in exposed:
        p.write_text("x\n")
        p.chmod(0o644)
    before = CliRunner().invoke(main, ["doctor"])
    assert all(f"{p} has mode 0644" in before.output for p in exposed)
    CliRunner().invoke(main, ["doctor", "--fix"])
    assert [mode(p) for p in exposed] == [0o600, 0o600, 0o600]
