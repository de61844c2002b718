"""The audit record: its fields, its canonical form and its place in the hash chain.

A record is one JSON object on one line. The gateway fills the request fields
(:data:`FIELDS`); the writer adds the chain fields:

``v``
    schema version (:data:`SCHEMA_VERSION`).
``file_start``
    ``true`` on the first record of each file and absent elsewhere, so deleting the first
    line of the oldest file is as detectable as deleting any other line.
``seq``
    sequence number: one more than the record before it (1 for the first of a chain), so
    the anchor (:mod:`.anchor`) can say how many records a cut tail took.
``prev``
    ``hash`` of the record before it (across rotated files); :data:`GENESIS` for the first
    record of a new chain.
``hash``
    ``sha256`` (hex) of :func:`canonical` of the record without ``hash``, i.e. of the JSON
    with sorted keys and no whitespace as ``orjson`` writes it (``OPT_SORT_KEYS``).

Deleting, editing, inserting or reordering a line breaks either that line's ``hash`` or the
next line's ``prev``. What a hash chain cannot show on its own is a cut at either end (the
newest records, or whole rotated-away files); the writer keeps the head in an anchor file
for that (:mod:`.anchor`), and ``openclaw audit verify`` compares the two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SCHEMA_VERSION = 1
GENESIS = "0" * 64
# The rule whose ``applied`` outcome means a request was rerouted because it carried PII
# (a name from the policies.yaml vocabulary; a test pins it to the rule's own).
PII_RULE = "if_context_contains_pii_use_sensitive_model"

# Request fields the gateway writes, in the order exports list them.
FIELDS: tuple[str, ...] = (
    "ts",  # RFC 3339 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z
    "request_id",
    "service",
    "channel",
    "task",
    "model",  # the model alias that served the request
    "provider",
    "provider_model",  # the provider's own model name
    "status",  # HTTP status sent to the client
    "error",  # null, or {"code", "type", "message"}
    "latency_ms",
    "ttft_ms",  # time to first token, streams only
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "request_sha256",
    "response_sha256",
    "policies",  # list of {"policy", "rule", "outcome", "enforce", ...}
    "draft",
    "attempts",
    "content",  # only when a policy asks for content
)
CHAIN_FIELDS: tuple[str, ...] = ("v", "file_start", "seq", "prev", "hash")

_HEX64 = re.compile(r"[0-9a-f]{64}")


def canonical(record: Mapping[str, Any], default: Callable[[Any], Any] | None = None) -> bytes:
    """The bytes a record's ``hash`` is taken over (pass the record without ``hash``).

    ``default`` lets the writer turn values JSON has no type for into ones it has; what it
    returns is what gets stored, so a reader needs none.
    """
    return orjson.dumps(record, default=default, option=orjson.OPT_SORT_KEYS)


def record_hash(record: Mapping[str, Any]) -> str:
    """The ``hash`` a stored record should carry: sha256 of it without ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def is_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def now_ts() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_time(record: Mapping[str, Any]) -> datetime | None:
    """``ts`` as an aware UTC datetime (RFC 3339 text or epoch seconds), else ``None``."""
    ts = record.get("ts")
    try:
        if isinstance(ts, str):
            t = datetime.fromisoformat(ts)
            return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        if isinstance(ts, int | float) and not isinstance(ts, bool):
            return datetime.fromtimestamp(ts / 1000 if ts > 1e11 else ts, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def rotated_path(path: Path, n: int) -> Path:
    """``audit.log.<n>``: the n-th newest rotated file."""
    return path.with_name(f"{path.name}.{n}")


def log_files(path: Path) -> list[Path]:
    """The live file and its rotated files that exist, oldest first (``.N`` ... ``.1``, live)."""
    numbered: list[tuple[int, Path]] = []
    prefix = path.name + "."
    try:
        for p in path.parent.iterdir():
            suffix = p.name[len(prefix) :]
            if p.name.startswith(prefix) and suffix.isdigit() and p.is_file():
                numbered.append((int(suffix), p))
    except FileNotFoundError:
        return []
    files = [p for _, p in sorted(numbered, reverse=True)]
    if path.is_file():
        files.append(path)
    return files
