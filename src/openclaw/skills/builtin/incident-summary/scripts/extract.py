"""Deterministic step: error lines, time span and counts from a log excerpt, as JSON.

Reads the ``log`` input from the inputs file the runner passes in ``$OPENCLAW_INPUTS`` and
prints one JSON object (sorted keys, two-space indent), so the same log always gives the
same bytes.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

MAX_ERROR_LINES = 20
TOP_ERRORS = 5

ERROR = re.compile(
    r"\b(ERROR|FATAL|CRITICAL|CRIT|PANIC|EMERG|ALERT)\b"
    r"|level=(error|fatal|critical|panic)\b"
    r"|\"level\"\s*:\s*\"(error|fatal|critical|panic)\"",
    re.IGNORECASE,
)
LEVEL_WORDS = re.compile(r"\b(ERROR|FATAL|CRITICAL|CRIT|PANIC|EMERG|ALERT)\b")
WARNING = re.compile(
    r"\b(WARN|WARNING)\b|level=warn(ing)?\b|\"level\"\s*:\s*\"warn(ing)?\"", re.IGNORECASE
)
TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?"
)
IDS = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b",
    re.IGNORECASE,
)
NUMBERS = re.compile(r"\d+")
TRACEBACK = re.compile(r"^Traceback \(most recent call last\)")
KV_MSG = re.compile(r'\bmsg="((?:[^"\\]|\\.)*)"')


def parse_time(line: str) -> datetime | None:
    m = TIMESTAMP.search(line)
    if not m:
        return None
    day, clock, frac, zone = m.groups()
    text = f"{day}T{clock}"
    if frac:
        text += "." + frac[:6].ljust(6, "0")
    if zone and zone != "Z":
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def message_of(line: str) -> str:
    """An error line's message (a JSON ``msg``, a ``msg="..."``, or the text after timestamp
    and level), with ids and numbers masked so repeats of one error group together."""
    text = None
    if line.lstrip().startswith("{"):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            text = next((str(record[k]) for k in ("msg", "message", "error") if k in record), None)
    if text is None:
        m = KV_MSG.search(line)
        text = m.group(1) if m else None
    if text is None:
        m = TIMESTAMP.search(line)
        text = line[m.end() :] if m else line
        lvl = LEVEL_WORDS.search(text)
        if lvl:
            text = text[lvl.end() :]
    text = IDS.sub("<id>", text.strip(" \t:-]|"))
    return NUMBERS.sub("<n>", text)[:160]


def error_lines(lines: list[str]) -> list[str]:
    """Lines that report an error; a Python traceback counts once, as its exception line."""
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if TRACEBACK.match(line):
            j = i + 1
            while j < len(lines) and lines[j][:1].isspace():
                j += 1
            out.append(lines[j] if j < len(lines) else line)
            i = j + 1
            continue
        if ERROR.search(line):
            out.append(line)
        i += 1
    return out


def human(seconds: int) -> str:
    hours, rem = divmod(seconds, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def iso(stamp: datetime) -> str:
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def extract(log: str) -> dict[str, object]:
    lines = [ln.rstrip("\r") for ln in log.splitlines() if ln.strip()]
    errors = error_lines(lines)
    warnings = [ln for ln in lines if not ERROR.search(ln) and WARNING.search(ln)]
    stamps = [t for t in (parse_time(ln) for ln in lines) if t is not None]
    span: dict[str, object] = {"start": None, "end": None, "seconds": None, "human": "unknown"}
    if stamps:
        start, end = min(stamps), max(stamps)
        seconds = int((end - start).total_seconds())
        span = {"start": iso(start), "end": iso(end), "seconds": seconds, "human": human(seconds)}
    counts = Counter(message_of(ln) for ln in errors)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ERRORS]
    return {
        "lines": len(lines),
        "error_count": len(errors),
        "warning_count": len(warnings),
        "time_span": span,
        "error_lines": errors[:MAX_ERROR_LINES],
        "top_errors": [f"{n}x {msg}" for msg, n in top],
    }


def main() -> None:
    inputs = json.loads(Path(os.environ["OPENCLAW_INPUTS"]).read_text(encoding="utf-8"))
    print(json.dumps(extract(inputs["log"]), indent=2, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
