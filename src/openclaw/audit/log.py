"""Append-only JSONL audit writer (file mode 0600, flushed per record)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

from openclaw.errors import ServiceUnavailable

SCHEMA_VERSION = 1
_MIN_FREE_BYTES = 1024 * 1024


class AuditWriteError(ServiceUnavailable):
    code = "audit_unavailable"


class AuditLog:
    def __init__(self, path: Path, *, max_bytes: int = 50 * 1024 * 1024, keep: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            self._fd = fd
        return self._fd

    def ready(self) -> None:
        """Raise :class:`AuditWriteError` if a record could not be written now."""
        try:
            self._open()
            st = os.statvfs(self.path.parent)
            if st.f_bavail * st.f_frsize < _MIN_FREE_BYTES:
                raise OSError(28, "No space left on device")
        except OSError as exc:
            self.last_error = f"{exc.strerror or exc}"
            raise AuditWriteError(
                f"audit log {self.path} cannot be written ({self.last_error}); "
                "request refused because an enforced audit policy requires a record"
            ) from None

    def write(self, record: dict[str, Any]) -> None:
        record.setdefault("v", SCHEMA_VERSION)
        line = orjson.dumps(record) + b"\n"
        with self._lock:
            try:
                fd = self._open()
                os.write(fd, line)
                self.last_error = None
            except OSError as exc:
                self.last_error = f"{exc.strerror or exc}"
                self._close_fd()
                raise AuditWriteError(f"audit log {self.path} write failed ({self.last_error})") from None

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def close(self) -> None:
        with self._lock:
            self._close_fd()
