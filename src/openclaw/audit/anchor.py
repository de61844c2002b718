"""The anchor: the chain head kept outside the log, so a cut tail or a new log shows.

A hash chain shows an edit, an insertion or a deletion anywhere but at the newest end; it
cannot show that the newest records were cut off, or that the whole file was replaced by a
fresh, valid chain. So after each record the writer also updates ``audit.anchor`` (mode
0600) with the newest record's sequence number (``seq``), ``hash`` and ``ts``.
``openclaw audit verify`` compares the log with it:

- the log ends before the anchor's ``seq``: that many records are missing from the end;
- the record with the anchor's ``seq`` has another hash: the log was replaced or rewritten.

Someone who can rewrite the log can rewrite the anchor too, unless the anchor is keyed:
with ``audit.anchor_key: "${OPENCLAW_AUDIT_ANCHOR_KEY}"`` in ``policies.yaml`` the anchor
carries an HMAC-SHA256 of its fields under that key, which lives in the environment (or
``gateway.env``), not in the audit directory. ``verify`` then refuses an anchor whose HMAC
does not match, or that has none.

How it is written. The file is one JSON object padded with spaces to :data:`SLOT` bytes,
and every update rewrites the whole slot in place with one ``pwrite`` at offset 0
(:class:`AnchorFile`): the same length every time and well inside one page, so a reader sees
the old slot or the new one, and a crash leaves one of the two. The file is never replaced,
so every writer process keeps writing to the one inode. Replacing it by rename after every
record (the textbook atomic write) was measured at about 1.5 ms per record here, because
ext4 flushes a file's data before a rename over an existing one; the ``pwrite`` costs
microseconds. The writer fsyncs the anchor when it closes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from openclaw.audit.record import is_hash
from openclaw.private import open_private

__all__ = ["Anchor", "AnchorError", "AnchorFile", "anchor_path", "read_anchor"]

ANCHOR_VERSION = 1
#: Bytes of every anchor write: the JSON (about 200 bytes with an HMAC), spaces, a newline.
SLOT = 512


class AnchorError(ValueError):
    """The anchor file exists but cannot be trusted or read (the message says why)."""


def anchor_path(log: Path) -> Path:
    return log.with_suffix(".anchor")


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int  # sequence number of the newest record
    head: str  # its hash
    ts: str  # its time
    keyed: bool = False  # whether the stored anchor carried an HMAC

    def fields(self) -> dict[str, Any]:
        return {"v": ANCHOR_VERSION, "seq": self.seq, "head": self.head, "ts": self.ts}


def _write_at_start(fd: int, data: bytes) -> int:
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, data, 0)
    os.lseek(fd, 0, os.SEEK_SET)  # Windows has no pwrite; the caller holds the file lock
    return os.write(fd, data)


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _slot(anchor: Anchor, key: bytes | None) -> bytes:
    data = anchor.fields()
    if key:
        data["hmac"] = _mac(key, data)
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    if len(body) >= SLOT:
        raise ValueError(f"anchor of {len(body)} bytes does not fit its {SLOT}-byte slot")
    return body.ljust(SLOT - 1) + b"\n"


class AnchorFile:
    """The writer's handle on the anchor: :meth:`update` after each record, one ``pwrite``.

    The caller holds the audit log's file lock, so writers in several processes take turns
    on the same file.
    """

    def __init__(self, path: Path, key: bytes | None) -> None:
        self.path = path
        self.key = key
        self._fd: int | None = None

    def update(self, anchor: Anchor) -> None:
        data = _slot(anchor, self.key)
        if self._fd is None:
            self._fd = open_private(self.path, os.O_WRONLY)
        if _write_at_start(self._fd, data) != len(data):
            raise OSError(28, "short write to the audit anchor")

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None


def read_anchor(path: Path, key: bytes | None = None) -> Anchor | None:
    """The anchor at ``path``, ``None`` if there is none; :class:`AnchorError` if untrusted.

    With ``key``, an anchor without an HMAC, or with one that does not match, is refused.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnchorError(f"{path}: cannot read the anchor ({exc.strerror})") from None
    if not raw.strip():
        raise AnchorError(f"{path}: the anchor is empty (truncated?)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AnchorError(f"{path}: the anchor is not valid JSON") from None
    if not isinstance(data, dict):
        raise AnchorError(f"{path}: the anchor is not a JSON object")
    seq, head, ts, mac = data.get("seq"), data.get("head"), data.get("ts"), data.get("hmac")
    if not isinstance(seq, int) or seq < 1 or not is_hash(head) or not isinstance(ts, str):
        raise AnchorError(f"{path}: the anchor lacks a valid seq, head or ts")
    anchor = Anchor(seq, str(head), ts, keyed=mac is not None)
    if key:
        if not isinstance(mac, str):
            raise AnchorError(
                f"{path}: the anchor carries no HMAC although audit.anchor_key is set "
                "(it was written without the key, or replaced)"
            )
        if not hmac.compare_digest(mac, _mac(key, anchor.fields())):
            raise AnchorError(
                f"{path}: the anchor's HMAC does not match audit.anchor_key "
                "(the anchor was altered, or the key changed)"
            )
    return anchor
