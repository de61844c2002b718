"""Deterministic step: group commit messages by conventional-commit type, print JSON.

Reads the ``commits`` input from ``$OPENCLAW_INPUTS``. Output (sorted keys, two-space
indent): ``groups`` in release-notes order, only the non-empty ones; ``breaking`` (one line
per breaking change); ``counts`` per type; ``total``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

SECTIONS = [
    ("feat", "Features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
    ("revert", "Reverts"),
    ("docs", "Documentation"),
    ("refactor", "Refactoring"),
    ("build", "Build and CI"),
    ("test", "Tests"),
    ("style", "Style"),
    ("chore", "Chores"),
    ("other", "Other"),
]
ALIASES = {"ci": "build", "feature": "feat", "bugfix": "fix", "tests": "test", "doc": "docs"}
HEADER = re.compile(
    r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()]*)\))?(?P<bang>!)?:\s+(?P<desc>\S.*)$"
)
BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE:\s*(?P<note>.+)$", re.MULTILINE)


Entry = dict[str, "str | bool | None"]


def parse(message: str) -> tuple[str, Entry, str | None]:
    """(section type, entry, breaking note or None) for one commit message."""
    subject, _, body = message.strip().partition("\n")
    m = HEADER.match(subject.strip())
    footer = BREAKING_FOOTER.search(body)
    if not m:
        entry: Entry = {"scope": None, "description": subject.strip(), "breaking": bool(footer)}
        return "other", entry, footer.group("note").strip() if footer else None
    kind = m.group("type").lower()
    kind = ALIASES.get(kind, kind)
    if kind not in dict(SECTIONS):
        kind = "other"
    scope = (m.group("scope") or "").strip() or None
    desc = m.group("desc").strip()
    breaking = bool(m.group("bang") or footer)
    note: str | None = None
    if breaking:
        note = footer.group("note").strip() if footer else desc
        if scope:
            note = f"{scope}: {note}"
    return kind, {"scope": scope, "description": desc, "breaking": breaking}, note


def group(commits: list[str]) -> dict[str, object]:
    buckets: dict[str, list[Entry]] = {kind: [] for kind, _ in SECTIONS}
    breaking = []
    for message in commits:
        if not message.strip():
            continue
        kind, entry, note = parse(message)
        buckets[kind].append(entry)
        if note:
            breaking.append(note)
    groups = [
        {"type": kind, "title": title, "entries": buckets[kind]}
        for kind, title in SECTIONS
        if buckets[kind]
    ]
    return {
        "groups": groups,
        "breaking": breaking,
        "counts": {kind: len(buckets[kind]) for kind, _ in SECTIONS if buckets[kind]},
        "total": sum(len(v) for v in buckets.values()),
    }


def main() -> None:
    inputs = json.loads(Path(os.environ["OPENCLAW_INPUTS"]).read_text(encoding="utf-8"))
    commits = [str(c) for c in inputs["commits"]]
    print(json.dumps(group(commits), indent=2, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
