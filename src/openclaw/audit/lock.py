"""One writer at a time across processes: an exclusive lock on ``audit.lock``.

The daemon and a stand-alone ``openclaw skill run`` may both append to the same log. Each
:meth:`AuditLog.write <openclaw.audit.log.AuditLog.write>` holds this lock from reading the
chain head to the end of its line, so two processes never chain to the same record. The
lock is a separate file because the log itself is renamed on rotation.

POSIX uses ``fcntl.flock`` (released by the kernel if the holder dies, so a crash cannot
wedge the log). Windows uses ``msvcrt.locking`` on the lock file's first byte, retried until
it is granted; it too is released when the process exits.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from openclaw.private import open_private

__all__ = ["FileLock", "lock_path"]


def lock_path(log: Path) -> Path:
    return log.with_suffix(".lock")


class FileLock:
    """An exclusive, blocking, inter-process lock held with ``with lock:``.

    Not re-entrant and not a thread lock: :class:`~openclaw.audit.log.AuditLog` takes its
    thread lock first, so only one thread of a process asks for this one at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = open_private(self.path, os.O_RDWR)
        return self._fd

    def __enter__(self) -> FileLock:
        _acquire(self._open())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            _release(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


if sys.platform == "win32":
    import msvcrt

    def _acquire(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.001)

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
