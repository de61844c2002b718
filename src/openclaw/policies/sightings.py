"""How the values that decided a PII reroute are recorded without putting PII in the audit log.

``openclaw policy stats`` lists the entity texts that caused reroutes most often, so that a
user can see "Paris: 312 reroutes" and decide to allow it. The audit log must not become a
list of the personal data it was written to protect, so each such value is recorded in the
audit record (key ``pii_entities``) as:

- ``masked``: the first letter of each word and ``***`` ("Jane Doe" -> "J*** D***"): enough
  to tell "P***" in LOCATION from "J*** D***" in PERSON at a glance, nothing to look up;
- ``digest``: HMAC-SHA256 of the normalised value under a per-installation key
  (``pii.key`` in the OpenClaw home, 0600, made on first use), cut to 16 hex digits. Equal
  values get equal digests, so they can be counted. A plain hash of a name would be
  reversible by trying a list of names; without the key it is not. A copied or exported
  log carries only masks and digests.

The values themselves are kept only when a policy says ``record_values: true`` (for a
shadow-mode trial, say): then the :class:`ValueBook` (``pii-values.jsonl`` beside the log,
0600, one line per distinct digest) maps digests back to values, and ``openclaw policy
stats --show-values`` shows them on the caller's own terminal.

This module lives outside :mod:`openclaw.policies.pii` so that the CLI can read the figures
without importing presidio and spaCy (seconds of start-up).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_POSSESSIVE = re.compile(r"['’]s?$")


def clean_span(span: str) -> str:
    """The span without a trailing possessive or surrounding space: "Turing's" -> "Turing"."""
    return _POSSESSIVE.sub("", span.strip()).strip()


def normalise_name(name: str) -> str:
    """How names are compared (``allow_names``, digests): no possessive, case-folded."""
    return " ".join(clean_span(name).casefold().split())


KEY_FILE = "pii.key"
VALUE_BOOK = "pii-values.jsonl"
AUDIT_KEY = "pii_entities"


def mask(value: str) -> str:
    """First letter of each word, then ``***``: ``"Jane Doe"`` -> ``"J*** D***"``."""
    words = clean_span(value).split()
    return " ".join(f"{w[0]}***" for w in words) if words else "***"


def load_key(home: Path) -> bytes:
    """This installation's digest key, made (0600) on first use."""
    path = home / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another gateway (or CLI) made it first: use theirs
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key


def digest(key: bytes, value: str) -> str:
    return hmac.new(
        key, normalise_name(value).encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Sighting:
    """One value that decided a policy, as the audit record holds it."""

    policy: str
    entity_type: str
    masked: str
    digest: str

    def to_dict(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "type": self.entity_type,
            "masked": self.masked,
            "digest": self.digest,
        }


class ValueBook:
    """digest -> value for the policies that record values; a 0600 JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: set[str] | None = None

    def read(self) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue  # a torn last line from a crash: skip it
                    if isinstance(row, dict) and isinstance(row.get("digest"), str):
                        out[row["digest"]] = str(row.get("value", ""))
        except FileNotFoundError:
            pass
        return out

    def add(self, entries: Iterable[tuple[str, str]]) -> None:
        """Append (digest, value) pairs not yet in the book. Blocking: call off the loop."""
        if self._known is None:
            self._known = set(self.read())
        new = [(d, clean_span(v)) for d, v in entries if d not in self._known]
        if not new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            for d, v in new:
                f.write(json.dumps({"digest": d, "value": v}, ensure_ascii=False) + "\n")
                self._known.add(d)


def sightings_of(
    records: Iterable[dict[str, object]],
) -> Iterator[tuple[dict[str, object], Sighting]]:
    """Every recorded sighting in these audit records, with the record it is in."""
    for rec in records:
        rows = rec.get(AUDIT_KEY)
        if not isinstance(rows, list):
            continue
        for row in rows:
            if isinstance(row, dict):
                yield (
                    rec,
                    Sighting(
                        str(row.get("policy", "")),
                        str(row.get("type", "")),
                        str(row.get("masked", "")),
                        str(row.get("digest", "")),
                    ),
                )


@dataclass
class PolicyTally:
    """One policy's decisions over a set of audit records, and its most frequent values."""

    policy: str
    rule: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    values: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, digest) -> count
    masks: dict[tuple[str, str], str] = field(default_factory=dict)

    def top(self, n: int) -> list[tuple[str, str, str, int]]:
        """(type, digest, masked, count), most frequent first."""
        ranked = sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [(t, d, self.masks[(t, d)], c) for (t, d), c in ranked]


def tally(records: Iterable[dict[str, object]]) -> dict[str, PolicyTally]:
    """Per policy: how often it passed, applied or would have applied, and on which values.

    A value counts once per record and policy, however often the request repeats it.
    """
    out: dict[str, PolicyTally] = {}
    for rec in records:
        decisions = rec.get("policies")
        for d in decisions if isinstance(decisions, list) else []:
            if isinstance(d, dict) and isinstance(d.get("policy"), str):
                t = out.setdefault(d["policy"], PolicyTally(d["policy"]))
                t.rule = str(d.get("rule", ""))
                outcome = str(d.get("outcome", ""))
                t.outcomes[outcome] = t.outcomes.get(outcome, 0) + 1
        seen: set[tuple[str, str, str]] = set()
        for _rec, s in sightings_of([rec]):
            key = (s.policy, s.entity_type, s.digest)
            if key in seen:
                continue
            seen.add(key)
            t = out.setdefault(s.policy, PolicyTally(s.policy))
            t.values[(s.entity_type, s.digest)] = t.values.get((s.entity_type, s.digest), 0) + 1
            t.masks.setdefault((s.entity_type, s.digest), s.masked)  # the first one seen
    return out
