"""docs/security.md names the test behind each defence: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `tests/x.py::test_a`, or `::test_b` after one in the same line (same file).
_REF = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def named_tests(text: str) -> set[tuple[str, str | None]]:
    out: set[tuple[str, str | None]] = set()
    for line in text.splitlines():
        current: str | None = None
        for m in _REF.finditer(line):
            path, func = m.group(1), m.group(2)
            if path is None and func is None:
                continue
            current = path or current
            assert current is not None, f"'::{func}' without a file before it: {line}"
            out.add((current, func))
    return out


def test_every_test_named_in_the_security_doc_exists() -> None:
    refs = named_tests((ROOT / "docs" / "security.md").read_text(encoding="utf-8"))
    assert len(refs) > 40
    missing = []
    for path, func in sorted(refs, key=str):
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
            continue
        if func is None:
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        names = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if func not in names:
            missing.append(f"{path}::{func}")
    assert missing == []
