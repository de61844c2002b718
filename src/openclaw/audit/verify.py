"""Walking the hash chain: the first line that was edited, deleted, inserted or moved.

:func:`verify` reads every file oldest first and checks, for each record, that it is a whole
JSON line, that its ``hash`` matches its contents, that its ``prev`` is the ``hash`` of the
record before it (across a rotation too), and that ``file_start`` marks exactly the first
record of each file. The first record of the oldest file may chain to a file that rotation
has since removed; the report says whether the chain still begins at :data:`GENESIS`.
Blank lines carry no record and are passed over.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from openclaw.audit.record import GENESIS, is_hash, log_files, record_hash

__all__ = ["ChainReport", "Problem", "verify"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(slots=True)
class ChainReport:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    head: str | None = None  # hash of the newest record: keep it elsewhere as an anchor
    from_genesis: bool = False  # False: the oldest records were rotated away
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(path: Path, *, stop_at_first: bool = True) -> ChainReport:
    """Check the chain of ``path`` and its rotated files; see the module docstring.

    With ``stop_at_first=False`` it carries on after a problem, re-synchronising on the
    hash of the bad line, so one edit is reported once rather than on every later line.
    """
    report = ChainReport()
    expected: str | None = None  # the prev the next record must carry; None before the first
    last_file = ""
    with ExitStack() as stack:
        # Open every file up front so a rotation during the walk cannot shift names under us.
        handles: list[IO[bytes]] = []
        for p in log_files(path):
            try:
                handles.append(stack.enter_context(p.open("rb")))
            except FileNotFoundError:  # the oldest, rotated away since it was listed
                continue
            report.files.append(p)
        for p, f in zip(report.files, handles, strict=True):
            first_in_file = True
            for n, raw in enumerate(f, start=1):
                if not raw.strip() and raw.endswith(b"\n"):
                    continue
                check = _check(raw, expected, first_in_file, last_file)
                if check.reason is not None:
                    report.problems.append(Problem(p, n, check.reason))
                    if stop_at_first:
                        return report
                if check.hash is None:
                    continue
                if expected is None:
                    report.from_genesis = check.prev == GENESIS
                expected = report.head = check.hash
                report.records += 1
                first_in_file = False
            if not first_in_file:
                last_file = p.name
    return report


@dataclass(frozen=True, slots=True)
class _Check:
    reason: str | None = None  # what is wrong with the line, if anything
    hash: str | None = None  # the hash the next record must chain to, when the line has one
    prev: str | None = None


def _check(raw: bytes, expected: str | None, first_in_file: bool, last_file: str) -> _Check:
    if not raw.endswith(b"\n"):
        return _Check("record cut short (no newline at the end of the file)")
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _Check(f"not valid JSON ({exc})")
    if not isinstance(rec, dict):
        return _Check("not a JSON object")
    h, prev = rec.get("hash"), rec.get("prev")
    if not isinstance(h, str) or not is_hash(h) or not isinstance(prev, str) or not is_hash(prev):
        return _Check("no valid 'hash' and 'prev' fields (not written by the audit writer)")
    ok = _Check(None, h, prev)
    if record_hash(rec) != h:
        return _Check("contents do not match the record's hash (the line was edited)", h, prev)
    if expected is not None and prev != expected:
        where = f"the last record of {last_file}" if first_in_file else "the record before it"
        reason = (
            f"'prev' does not match the hash of {where} (a record was deleted, inserted or moved)"
        )
        return _Check(reason, h, prev)
    if first_in_file and rec.get("file_start") is not True:
        return _Check(
            "first line of the file but not the first record written to it "
            "(lines before it were deleted)",
            h,
            prev,
        )
    if not first_in_file and "file_start" in rec:
        return _Check("marked as the first record of a file but is not (lines were moved)", h, prev)
    return ok
