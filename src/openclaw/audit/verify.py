"""Walking the hash chain: the first line that was edited, deleted, inserted or moved.

:func:`verify` reads every file oldest first and checks, for each record, that it is a whole
JSON line, that its ``hash`` matches its contents, that its ``prev`` is the ``hash`` of the
record before it (across a rotation too), and that ``file_start`` marks exactly the first
record of each file. The first record of the oldest file may chain to a file that rotation
has since removed; the report says whether the chain still begins at :data:`GENESIS`.
Blank lines carry no record and are passed over. Records that carry ``seq`` must count up
by one.

Given the :class:`~openclaw.audit.anchor.Anchor` the writer keeps, it also checks the newest
end: the record with the anchor's ``seq`` must be there with the anchor's hash. A log that
ends earlier lost its tail (``missing`` says how many records); a record there with another
hash means the log was replaced or rewritten.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from openclaw.audit.anchor import Anchor
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
    first_seq: int | None = None  # seq of the oldest record kept (None: records without seq)
    last_seq: int | None = None  # seq of the newest record
    anchor: Anchor | None = None  # the anchor checked against, if any
    missing: int = 0  # records the anchor says were written that the log no longer ends with

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(path: Path, *, stop_at_first: bool = True, anchor: Anchor | None = None) -> ChainReport:
    """Check the chain of ``path`` and its rotated files; see the module docstring.

    With ``stop_at_first=False`` it carries on after a problem, re-synchronising on the
    hash of the bad line, so one edit is reported once rather than on every later line.
    """
    report = ChainReport(anchor=anchor)
    expected: str | None = None  # the prev the next record must carry; None before the first
    last_file = ""
    anchored: tuple[str, Problem] | None = None  # (hash, where) of the record at anchor.seq
    where = Problem(path, 0, "")
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
                if check.seq is not None:
                    if (
                        check.reason is None
                        and report.last_seq is not None
                        and check.seq != report.last_seq + 1
                    ):
                        report.problems.append(
                            Problem(p, n, f"'seq' {check.seq} does not follow {report.last_seq}")
                        )
                        if stop_at_first:
                            return report
                    if report.first_seq is None:
                        report.first_seq = check.seq
                    if anchor is not None and check.seq == anchor.seq:
                        anchored = (check.hash, Problem(p, n, ""))
                report.last_seq = check.seq
                expected = report.head = check.hash
                report.records += 1
                first_in_file = False
                where = Problem(p, n + 1, "")
            if not first_in_file:
                last_file = p.name
    if anchor is not None:
        _check_anchor(report, anchor, anchored, where)
    return report


def _check_anchor(
    report: ChainReport, anchor: Anchor, anchored: tuple[str, Problem] | None, end: Problem
) -> None:
    said = f"the anchor (written {anchor.ts}) names record #{anchor.seq}"
    if anchored is not None:
        digest, at = anchored
        if digest != anchor.head:
            report.problems.append(
                Problem(
                    at.file,
                    at.line,
                    f"record #{anchor.seq} is not the one the anchor (written {anchor.ts}) "
                    "names: its hash differs (the log was replaced or rewritten)",
                )
            )
        return
    last = report.last_seq or 0
    if last < anchor.seq:
        report.missing = anchor.seq - last
        if last:
            ends = f"the log ends at record #{last}"
        elif report.files:
            ends = "the log holds no numbered record"
        else:
            ends = "no audit log remains"
        report.problems.append(
            Problem(
                end.file,
                end.line,
                f"{ends}, but {said}: {report.missing} record(s) missing from the end "
                "(the tail was cut, or the file was replaced by a shorter log)",
            )
        )
    elif report.first_seq is not None and report.first_seq > anchor.seq:
        report.problems.append(
            Problem(
                end.file,
                end.line,
                f"{said}, older than the oldest record kept (#{report.first_seq}): the anchor "
                "is stale (replaced by an old copy, or not updated by the writer)",
            )
        )


@dataclass(frozen=True, slots=True)
class _Check:
    reason: str | None = None  # what is wrong with the line, if anything
    hash: str | None = None  # the hash the next record must chain to, when the line has one
    prev: str | None = None
    seq: int | None = None


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
    s = rec.get("seq")
    seq = s if isinstance(s, int) and not isinstance(s, bool) else None
    ok = _Check(None, h, prev, seq)
    if record_hash(rec) != h:
        return _Check("contents do not match the record's hash (the line was edited)", h, prev, seq)
    if expected is not None and prev != expected:
        where = f"the last record of {last_file}" if first_in_file else "the record before it"
        reason = (
            f"'prev' does not match the hash of {where} (a record was deleted, inserted or moved)"
        )
        return _Check(reason, h, prev, seq)
    if first_in_file and rec.get("file_start") is not True:
        return _Check(
            "first line of the file but not the first record written to it "
            "(lines before it were deleted)",
            h,
            prev,
            seq,
        )
    if not first_in_file and "file_start" in rec:
        return _Check(
            "marked as the first record of a file but is not (lines were moved)", h, prev, seq
        )
    return ok
