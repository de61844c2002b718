"""The audit writer: append-only, hash-chained JSONL, mode 0600, size-rotated.

Each :meth:`AuditLog.write` serializes the record once (sorted keys, so the line *is* the
canonical form up to the ``hash`` field spliced onto its end), hashes it, and hands the line to
the kernel with one ``os.write`` on an ``O_APPEND`` descriptor. When it returns, the record is
in the page cache: ``tail -f`` sees it at once and a ``kill -9`` of the daemon cannot lose it.
There is no buffering thread and no fsync, so the cost on the request path is a few
microseconds; a lock keeps the chain in order when executor threads write too.

On open the writer reads only the end of the last line to recover the hash to chain from
(falling back to ``audit.log.1`` when the live file is empty), so the chain continues across
restarts and rotations. A last line cut short by a crash is left for ``audit verify`` to
report; the next record starts on a fresh line and chains to the last whole record.

Rotation is ours (do not point logrotate at the file): before a write would take the live file
past ``max_bytes``, ``audit.log.<keep-1>`` ... ``.1`` shift up one, ``audit.log`` becomes
``audit.log.1`` and the next record, in a fresh file, chains to the last one of the old file.
``keep`` counts the rotated files kept besides the live one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from openclaw.audit.reader import reverse_lines
from openclaw.audit.record import (
    GENESIS,
    SCHEMA_VERSION,
    AuditRecord,
    canonical,
    now_ts,
    rotated_path,
)
from openclaw.errors import ServiceUnavailable

__all__ = ["SCHEMA_VERSION", "AuditLog", "AuditWriteError"]

log = logging.getLogger(__name__)

_MIN_FREE_BYTES = 1024 * 1024
_HASH_AT_END = re.compile(rb',"hash":"([0-9a-f]{64})"\}\s*$')


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
        self._size = 0  # bytes in the live file, tracked so rotation needs no stat per write
        self._prev: str | None = None  # hash of the last record written or found on disk
        self._broken_tail = False  # the live file ends mid-line: start the next on a new one

    @property
    def last_hash(self) -> str | None:
        """Hash of the newest record (the chain head), once the file has been opened."""
        return self._prev

    # -- opening and recovery -------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                self._size = os.fstat(fd).st_size
                self._recover()
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def _recover(self) -> None:
        """Find the hash to chain from: the live file's last whole record, else ``.1``'s."""
        found, self._broken_tail = _tail_hash(self.path)
        if found is None:
            found, _ = _tail_hash(rotated_path(self.path, 1))
        if found is not None:
            self._prev = found
        elif self._prev is None:
            self._prev = GENESIS

    def ready(self) -> None:
        """Raise :class:`AuditWriteError` if a record could not be written now."""
        with self._lock:
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

    # -- the hot path ------------------------------------------------------------------
    def write(self, record: AuditRecord | Mapping[str, Any]) -> None:
        """Append ``record`` (not modified) with ``v``, ``prev`` and ``hash`` added."""
        if isinstance(record, AuditRecord):
            record = record.to_wire()
        with self._lock:
            try:
                fd = self._open()
                line, digest = self._line(record)
                if self._size and self._size + len(line) > self.max_bytes:
                    self._rotate()
                    fd = self._open()
                    line, digest = self._line(record)
                if self._broken_tail:
                    line = b"\n" + line
                _write_all(fd, line)
                self._size += len(line)
                self._broken_tail = False
                self._prev = digest
                self.last_error = None
            except OSError as exc:
                self.last_error = f"{exc.strerror or exc}"
                # Reopening re-reads the tail, so a partly written line is stepped over.
                self._close_fd()
                raise AuditWriteError(
                    f"audit log {self.path} write failed ({self.last_error})"
                ) from None

    def _line(self, record: Mapping[str, Any]) -> tuple[bytes, str]:
        body = {"v": SCHEMA_VERSION, **record}
        body.pop("hash", None)
        body.pop("file_start", None)
        if self._size == 0:
            body["file_start"] = True
        if "ts" not in body:
            body["ts"] = now_ts()
        body["prev"] = self._prev
        canon = _dumps(body)
        digest = hashlib.sha256(canon).hexdigest()
        return b'%s,"hash":"%s"}\n' % (canon[:-1], digest.encode()), digest

    def _rotate(self) -> None:
        self._close_fd()
        try:
            if self.keep < 1:
                self.path.unlink()
            else:
                for n in range(self.keep - 1, 0, -1):
                    src = rotated_path(self.path, n)
                    if src.exists():
                        src.replace(rotated_path(self.path, n + 1))
                self.path.replace(rotated_path(self.path, 1))
        except OSError as exc:
            # Never drop a record over a failed rotation: keep appending to the live file.
            log.warning("audit log rotation failed (%s); writing on to %s", exc, self.path)

    # -- closing -----------------------------------------------------------------------
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


def _write_all(fd: int, data: bytes) -> None:
    n = os.write(fd, data)
    while n < len(data):  # only on a full disk or a signal; the next write then raises
        data = data[n:]
        n = os.write(fd, data)


def _default(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    if isinstance(obj, Decimal):
        return float(obj)
    return str(obj)


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return canonical(body, _default)
    except orjson.JSONEncodeError:
        pass
    # A field orjson refuses (an int past 64 bits, a dict with non-string keys): keep the
    # record and every other field, store that field's repr and say so.
    safe: dict[str, Any] = {}
    bad: list[str] = []
    for key, value in body.items():
        name = key if isinstance(key, str) else str(key)
        try:
            orjson.dumps(value, default=_default)
            safe[name] = value
        except orjson.JSONEncodeError:
            safe[name] = repr(value)
            bad.append(name)
    safe["audit_error"] = "stored as repr, not JSON-serializable: " + ", ".join(bad)
    return canonical(safe, _default)


def _tail_hash(path: Path) -> tuple[str | None, bool]:
    """(hash to chain from, whether ``path`` ends mid-line).

    The hash is that of the last whole record, :data:`GENESIS` when that record has none
    (a new chain starts), or ``None`` when the file holds no whole record.
    """
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return None, False
    with f:
        broken = False
        for i, raw in enumerate(reverse_lines(f)):
            if i == 0 and not raw.endswith(b"\n"):
                broken = True
                continue
            if not raw.strip():
                continue
            m = _HASH_AT_END.search(raw[-80:])
            if m:
                return m.group(1).decode(), broken
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                rec = None
            h = rec.get("hash") if isinstance(rec, dict) else None
            if isinstance(h, str):
                return h, broken
            log.warning("last line of %s carries no hash; a new chain starts after it", path)
            return GENESIS, broken
    return None, broken
