"""Files only this user may read: everything the daemon creates or rotates is mode 0600.

The daemon's files hold tokens, keys or what was sent to models (the token, the audit log
and its anchor, the daemon log, which may quote an upstream's error). Creating them with
``os.open(..., 0o600)`` and then ``fchmod`` makes the mode independent of the umask, and
:class:`PrivateRotatingFileHandler` does the same for each fresh ``gateway.log`` a rotation
opens (the standard handler would create it with the umask's mode).
"""

from __future__ import annotations

import contextlib
import io
import logging.handlers
import os
from pathlib import Path

MODE = 0o600


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with ``O_CREAT`` and mode 0600 whatever the umask; returns the descriptor."""
    fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename), mode 0600.

    A reader sees the old contents or the new, never half of either, and a crash leaves
    at most a stray ``.<name>.<pid>.tmp`` next to it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated log whose live file is created 0600, after every rotation too."""

    def _open(self) -> io.TextIOWrapper:
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)
