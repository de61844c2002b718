"""Fixtures for the skills tests: a home with mock models, and a factory for skill folders.

``make_skill(name, meta, scripts=..., files=...)`` writes ``<root>/<name>/SKILL.md`` (root
defaults to ``$OPENCLAW_HOME/skills``) with ``meta`` as ``metadata.openclaw``, plus scripts
under ``scripts/`` and any other files; ``text=`` writes SKILL.md verbatim instead. With no
``meta`` it writes the echo skill of :mod:`skillkit`; with no ``scripts``, the echo script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from skillkit import ECHO_META, MODELS, POLICIES, UPPER_SH, MakeSkill, skill_md


@pytest.fixture
def home(openclaw_home: Path) -> Path:
    (openclaw_home / "models.yaml").write_text(MODELS)
    (openclaw_home / "policies.yaml").write_text(POLICIES)
    return openclaw_home


@pytest.fixture
def make_skill(openclaw_home: Path) -> MakeSkill:
    def make(
        name: str,
        meta: dict[str, Any] | None = None,
        *,
        root: Path | None = None,
        scripts: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        version: str = "1.0.0",
        text: str | None = None,
    ) -> Path:
        folder = (root or openclaw_home / "skills") / name
        folder.mkdir(parents=True, exist_ok=True)
        if text is None:
            text = skill_md(name, meta if meta is not None else ECHO_META, version=version)
            if scripts is None:  # the echo skill's script, for metas derived from ECHO_META
                scripts = {"upper.sh": UPPER_SH}
        (folder / "SKILL.md").write_text(text)
        for fname, content in (scripts or {}).items():
            p = folder / "scripts" / fname
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
            p.chmod(0o755)
        for rel, content in (files or {}).items():
            p = folder / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        return folder

    return make
