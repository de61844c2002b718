"""The audit writer: append-only, hash-chained JSONL, mode 0600, size-rotated.

Each :meth:`AuditLog.write` serializes the record once (sorted keys, so the line *is* the
canonical form up to the ``hash`` field spliced onto its end), hashes it, and hands the line to
the kernel with one ``os.write`` on an ``O_APPEND`` descriptor. When it returns, the record is
in the page cache: ``tail -f`` sees it at once and a ``kill -9`` of the daemon cannot lose it.
There is no buffering thread and no fsync, so the cost on the request path is a few
microseconds; a lock keeps the chain in order when executor threads write too.

One chain, however many writers. Each write holds an exclusive lock on ``audit.lock``
(:mod:`.lock`) across "read the head, append, move the head", and first checks whether the
file changed since this process last wrote (another process appended, or rotated it): if so
it re-reads the tail and continues the chain from the file's last record. The daemon and a
stand-alone ``openclaw skill run`` can therefore share a log without forking the chain.

Every record gets a sequence number ``seq`` (one more than the record before it), and after
each write the anchor file (:mod:`.anchor`) is updated with the new head, so
``audit verify`` can tell a cut tail or a replaced file from a whole log.

Before a record is written, ``service``, ``task`` and ``channel`` (which come from request
headers) are capped at :data:`MAX_LABEL` characters with control characters replaced, and
``error.message`` (which may quote an upstream's error body) goes through ``scrub`` when one
is given (the daemon passes pattern-based PII redaction).

On open the writer reads only the end of the last line to recover the hash to chain from
(falling back to ``audit.log.1`` when the live file is empty), so the chain continues across
restarts and rotations. A last line cut short by a crash is left for ``audit verify`` to
report; the next record starts on a fresh line and chains to the last whole record.

Rotation is ours (do not point logrotate at the file): before a write would take the live file
past ``max_bytes``, the rotated files shift up one (``.1`` becomes ``.2`` ...), ``audit.log``
becomes ``audit.log.1`` and the next record, in a fresh file, chains to the last one of the
old file. Retention is by count (``keep`` rotated files besides the live one) or, with
``keep_days``, by age: a rotated file is deleted only once it is older than that, however
many files a flood of refused requests creates in the meantime.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from openclaw.audit.anchor import Anchor, AnchorFile, anchor_path
from openclaw.audit.lock import FileLock, lock_path
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
from openclaw.private import open_private

if TYPE_CHECKING:
    from openclaw.config.schema import AuditSettings

__all__ = ["MAX_LABEL", "SCHEMA_VERSION", "AuditLog", "AuditWriteError"]

log = logging.getLogger(__name__)

_MIN_FREE_BYTES = 1024 * 1024
_HASH_AT_END = re.compile(rb',"hash":"([0-9a-f]{64})"\}\s*$')
#: Longest ``service``/``task``/``channel`` value recorded; longer header values are cut.
MAX_LABEL = 128
_LABELS = ("service", "task", "channel")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AuditWriteError(ServiceUnavailable):
    code = "audit_unavailable"


class AuditLog:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 50 * 1024 * 1024,
        keep: int = 5,
        keep_days: float | None = None,
        anchor_key: bytes | None = None,
        scrub: Callable[[str], str] | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.keep_days = keep_days
        self.scrub = scrub
        self.anchor_path = anchor_path(path)
        self.last_error: str | None = None
        self._anchor = AnchorFile(self.anchor_path, anchor_key)
        self._lock = threading.Lock()
        self._file_lock = FileLock(lock_path(path))
        self._fd: int | None = None
        self._ino = 0  # inode of the live file when opened: another writer may rotate it
        self._size = 0  # bytes in the live file after our last write
        self._prev: str | None = None  # hash of the last record written or found on disk
        self._seq = 0  # sequence number of that record (0: none, or one written before seq)
        self._broken_tail = False  # the live file ends mid-line: start the next on a new one

    @classmethod
    def from_settings(
        cls, path: Path, settings: AuditSettings, *, scrub: Callable[[str], str] | None = None
    ) -> AuditLog:
        """A writer for ``policies.yaml``'s ``audit:`` section (its anchor key resolved now)."""
        ref = settings.anchor_key
        key = ref.resolve() if ref is not None else None
        if ref is not None and not key:
            log.warning(
                "audit.anchor_key is %s: the audit anchor is written without an HMAC",
                ref.describe(),
            )
        return cls(
            path,
            max_bytes=settings.max_bytes,
            keep=settings.keep,
            keep_days=settings.keep_days,
            anchor_key=key.encode() if key else None,
            scrub=scrub,
        )

    @property
    def last_hash(self) -> str | None:
        """Hash of the newest record (the chain head), once the file has been opened."""
        return self._prev

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest record (0 before the first)."""
        return self._seq

    # -- opening and recovery -------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                st = os.fstat(fd)
                self._ino, self._size = st.st_ino, st.st_size
                self._recover()
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def _sync(self) -> int:
        """Under the file lock: reopen if another process wrote or rotated since our write."""
        if self._fd is not None:
            try:
                st = os.stat(self.path)
                changed = st.st_ino != self._ino or st.st_size != self._size
            except FileNotFoundError:
                changed = True
            if changed:
                self._close_fd()
        return self._open()

    def _recover(self) -> None:
        """Find the record to chain from: the live file's last whole record, else ``.1``'s."""
        tail, self._broken_tail = _tail(self.path)
        if tail is None:
            tail, _ = _tail(rotated_path(self.path, 1))
        if tail is not None:
            self._prev, self._seq = tail
        elif self._prev is None:
            self._prev = GENESIS

    def ready(self) -> None:
        """Raise :class:`AuditWriteError` if a record could not be written now."""
        with self._lock:
            try:
                with self._file_lock:
                    self._sync()
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
        """Append ``record`` (not modified) with ``v``, ``seq``, ``prev`` and ``hash`` added."""
        body = self._clean(record.to_wire() if isinstance(record, AuditRecord) else record)
        with self._lock:
            try:
                with self._file_lock:
                    fd = self._sync()
                    line, digest = self._line(body)
                    if self._size and self._size + len(line) > self.max_bytes:
                        self._rotate()
                        fd = self._open()
                        line, digest = self._line(body)
                    if self._broken_tail:
                        line = b"\n" + line
                    _write_all(fd, line)
                    self._size += len(line)
                    self._broken_tail = False
                    self._prev = digest
                    self._seq += 1
                    self.last_error = None
                    self._update_anchor(body["ts"])
            except OSError as exc:
                self.last_error = f"{exc.strerror or exc}"
                # Reopening re-reads the tail, so a partly written line is stepped over.
                self._close_fd()
                raise AuditWriteError(
                    f"audit log {self.path} write failed ({self.last_error})"
                ) from None

    def _clean(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``record`` with header-born labels capped and the error text scrubbed."""
        body = {"v": SCHEMA_VERSION, **record}
        for key in ("hash", "file_start", "seq", "prev"):
            body.pop(key, None)
        if "ts" not in body:
            body["ts"] = now_ts()
        for key in _LABELS:
            value = body.get(key)
            if isinstance(value, str):
                body[key] = clean_label(value)
        err = body.get("error")
        if self.scrub is not None and isinstance(err, dict):
            msg = err.get("message")
            if isinstance(msg, str) and msg:
                try:
                    body["error"] = {**err, "message": self.scrub(msg)}
                except Exception:  # never lose the record; never keep what was not scrubbed
                    log.exception("scrubbing an audit record's error message failed")
                    body["error"] = {**err, "message": "(withheld: PII redaction failed)"}
        return body

    def _line(self, clean: dict[str, Any]) -> tuple[bytes, str]:
        body = dict(clean)
        if self._size == 0:
            body["file_start"] = True
        body["seq"] = self._seq + 1
        body["prev"] = self._prev
        canon = _dumps(body)
        digest = hashlib.sha256(canon).hexdigest()
        return b'%s,"hash":"%s"}\n' % (canon[:-1], digest.encode()), digest

    def _update_anchor(self, ts: Any) -> None:
        if self._prev is None or self._seq < 1:
            return
        when = ts if isinstance(ts, str) and len(ts) <= 40 else now_ts()
        try:
            self._anchor.update(Anchor(self._seq, self._prev, when))
        except (OSError, ValueError) as exc:  # the record stands; verify reports a stale anchor
            log.warning("audit anchor %s not updated (%s)", self.anchor_path, exc)

    def _rotate(self) -> None:
        self._close_fd()
        try:
            for old in self._expired():
                old.unlink()
            numbered = sorted(_numbered(self.path), reverse=True)
            for n, src in numbered:
                src.replace(rotated_path(self.path, n + 1))
            self.path.replace(rotated_path(self.path, 1))
        except OSError as exc:
            # Never drop a record over a failed rotation: keep appending to the live file.
            log.warning("audit log rotation failed (%s); writing on to %s", exc, self.path)

    def _expired(self) -> list[Path]:
        """Rotated files the retention rule lets go at this rotation."""
        numbered = _numbered(self.path)
        if self.keep_days is not None:
            cutoff = time.time() - self.keep_days * 86400
            return [p for _, p in numbered if _mtime(p) < cutoff]
        # By count: after the shift ``.keep`` is the oldest kept; ``.keep`` and beyond go.
        return [p for n, p in numbered if n >= self.keep]

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
            try:
                self._anchor.close()
            except OSError as exc:
                log.warning("audit anchor %s not synced (%s)", self.anchor_path, exc)
            self._close_fd()
            self._file_lock.close()


def clean_label(value: str) -> str:
    """A header-born label as recorded: control characters replaced, at most MAX_LABEL long."""
    return _CONTROL.sub("\ufffd", value[:MAX_LABEL])


def _numbered(path: Path) -> list[tuple[int, Path]]:
    prefix = path.name + "."
    out = []
    try:
        for p in path.parent.iterdir():
            suffix = p.name[len(prefix) :]
            if p.name.startswith(prefix) and suffix.isdigit():
                out.append((int(suffix), p))
    except FileNotFoundError:
        return []
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


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


def _tail(path: Path) -> tuple[tuple[str, int] | None, bool]:
    """((hash, seq) to chain from, whether ``path`` ends mid-line).

    The hash is that of the last whole record, :data:`GENESIS` when that record has none
    (a new chain starts); ``seq`` is its sequence number (0 for a record written before
    records had one). ``None`` when the file holds no whole record.
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
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                rec = None
            h = rec.get("hash") if isinstance(rec, dict) else None
            if isinstance(rec, dict) and isinstance(h, str):
                seq = rec.get("seq")
                return (h, seq if isinstance(seq, int) else 0), broken
            m = _HASH_AT_END.search(raw[-80:])
            if m:  # not JSON, yet ends like a record: chain on; verify reports the line
                return (m.group(1).decode(), 0), broken
            log.warning("last line of %s carries no hash; a new chain starts after it", path)
            return (GENESIS, 0), broken
    return None, broken
