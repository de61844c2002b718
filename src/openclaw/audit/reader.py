"""Reading the audit log: records across rotated files, time windows, filters and following.

Everything here reads ``audit.log.N`` ... ``audit.log.1``, ``audit.log`` oldest first, as
:func:`openclaw.audit.record.log_files` lists them. Lines that are blank or not JSON objects
are skipped by :func:`iter_records` (``audit verify`` is the tool that reports them). Files
whose modification time is before ``since`` are not opened at all: a record is written after
its ``ts``, so such a file holds nothing newer.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from openclaw.audit.record import AuditRecord, log_files, record_time

__all__ = [
    "Follower",
    "LogLine",
    "RecordFilter",
    "iter_lines",
    "iter_records",
    "last_records",
    "parse_line",
    "parse_time",
    "read_records",
    "reverse_lines",
]

Record = dict[str, Any]

_RELATIVE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` (ago), ``now``, or an ISO date/time.

    ISO times without an offset are taken as UTC, like the ``ts`` of every record.
    """
    now = now or datetime.now(UTC)
    m = _RELATIVE.fullmatch(text)
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    if text.strip().lower() == "now":
        return now
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}; use e.g. 30m, 24h, 7d, 2025-01-31 or 2025-01-31T12:00Z"
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records a command looks at. ``model`` matches the alias or the provider's name."""

    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    model: str | None = None

    def __call__(self, rec: Record) -> bool:
        if self.service is not None and rec.get("service") != self.service:
            return False
        if self.model is not None and self.model not in (
            rec.get("model"),
            rec.get("provider_model"),
        ):
            return False
        if self.since is not None or self.until is not None:
            t = record_time(rec)
            if t is None:
                return False
            if self.since is not None and t < self.since:
                return False
            if self.until is not None and t >= self.until:
                return False
        return True


@dataclass(frozen=True, slots=True)
class LogLine:
    """One raw line, newline included when the file has one, and where it was found."""

    file: Path
    lineno: int
    raw: bytes


def parse_line(raw: bytes) -> Record | None:
    """The record on a line, or ``None`` for a blank line or one that is not a JSON object."""
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


def _files(path: Path, since: datetime | None) -> list[Path]:
    files = log_files(path)
    if since is None:
        return files
    cutoff = since.timestamp()
    keep: list[Path] = []
    for p in files:
        try:
            if p.stat().st_mtime >= cutoff:
                keep.append(p)
        except FileNotFoundError:  # rotated away meanwhile
            continue
    return keep


def iter_lines(path: Path, *, since: datetime | None = None) -> Iterator[LogLine]:
    """Every line of the log, oldest file first."""
    for p in _files(path, since):
        try:
            f = p.open("rb")
        except FileNotFoundError:
            continue
        with f:
            for n, raw in enumerate(f, start=1):
                yield LogLine(p, n, raw)


def iter_records(path: Path, flt: RecordFilter | None = None) -> Iterator[Record]:
    """Every record that parses and passes ``flt``, oldest first."""
    since = flt.since if flt else None
    for line in iter_lines(path, since=since):
        rec = parse_line(line.raw)
        if rec is not None and (flt is None or flt(rec)):
            yield rec


def read_records(path: Path, flt: RecordFilter | None = None) -> Iterator[AuditRecord]:
    """:func:`iter_records`, each read as the typed :class:`AuditRecord`."""
    for rec in iter_records(path, flt):
        yield AuditRecord.from_wire(rec)


def reverse_lines(f: IO[bytes], *, end: int | None = None, chunk: int = 1 << 16) -> Iterator[bytes]:
    """Lines of ``f`` (up to byte ``end``) from last to first, each with its newline if any.

    Only the first line yielded can lack its newline: the file was cut mid-line.
    """
    pos = f.seek(0, os.SEEK_END) if end is None else end
    buf = b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + buf
        cut = buf.rfind(b"\n", 0, len(buf) - 1)
        while cut >= 0:
            yield buf[cut + 1 :]
            buf = buf[: cut + 1]
            cut = buf.rfind(b"\n", 0, len(buf) - 1)
    if buf:
        yield buf


def last_records(
    path: Path, n: int, flt: RecordFilter | None = None, *, live_end: int | None = None
) -> list[Record]:
    """The newest ``n`` records passing ``flt``, oldest first, read backwards from the end.

    ``live_end`` stops reading the live file at that offset (where a follower started).
    """
    found: deque[Record] = deque()
    if n <= 0:
        return []
    for p in reversed(_files(path, flt.since if flt else None)):
        try:
            f = p.open("rb")
        except FileNotFoundError:
            continue
        with f:
            for raw in reverse_lines(f, end=live_end if p == path else None):
                rec = parse_line(raw)
                if rec is not None and (flt is None or flt(rec)):
                    found.appendleft(rec)
                    if len(found) >= n:
                        return list(found)
    return list(found)


class Follower:
    """Follow the live file the way ``tail -F`` does, across our own rotation.

    It starts at the current end of the file. :meth:`poll` returns the whole lines appended
    since the last call; when ``audit.log`` has been renamed away (another inode) it drains
    the old file, reads any file rotated in and out meanwhile, and carries on from the start
    of the new one. A file cut short in place is read again from its start.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: IO[bytes] | None = None
        self._ino: int | None = None
        self._partial = b""
        self.offset = 0
        self._reopen(at_end=True)

    def _reopen(self, *, at_end: bool) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            return
        self._f = f
        self._ino = os.fstat(f.fileno()).st_ino
        self.offset = f.seek(0, os.SEEK_END) if at_end else 0
        self._partial = b""

    def _drain(self) -> list[bytes]:
        if self._f is None:
            return []
        data = self._f.read()
        if not data:
            return []
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [line + b"\n" for line in lines]

    def poll(self) -> list[bytes]:
        if self._f is None:
            self._reopen(at_end=False)
            return self._drain()
        lines = self._drain()
        if lines:
            return lines
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        if st.st_ino != self._ino:
            lines = self._drain()  # what landed between the last read and the rename
            if self._partial:
                lines.append(self._partial)
            lines += self._skipped_files()
            self._reopen(at_end=False)
            return lines + self._drain()
        if st.st_size < self.offset:  # truncated in place
            self._reopen(at_end=False)
            return self._drain()
        return []

    def _skipped_files(self) -> list[bytes]:
        """Lines of files rotated in and out since our file was renamed (several rotations
        between two polls): those newer than ours, which is now ``audit.log.<n>``."""
        newer: list[Path] = []
        rotated = [p for p in log_files(self.path) if p != self.path]
        for p in reversed(rotated):  # .1, .2, ...
            try:
                if p.stat().st_ino == self._ino:
                    break
            except FileNotFoundError:
                continue
            newer.append(p)
        else:
            return []  # ours is gone already: nothing to tell where to resume
        lines: list[bytes] = []
        for p in reversed(newer):
            try:
                lines += p.read_bytes().splitlines(keepends=True)
            except FileNotFoundError:
                continue
        return lines

    def follow(self, interval: float = 0.2) -> Iterator[bytes]:
        """Yield lines forever, polling every ``interval`` seconds while idle."""
        while True:
            lines = self.poll()
            yield from lines
            if not lines:
                time.sleep(interval)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
