"""Skill names: one grammar, and the check that a skill folder stays inside its root.

A skill name is ``[a-z0-9][a-z0-9-]{0,63}``: lowercase letters, digits and hyphens, at most 64
characters, starting with a letter or digit. Nothing that is a path (``/``, ``\\``, ``..``,
``~``, a drive letter) fits, so a name from a URL, a command line or a Slack command can never
name a folder: skills are *looked up* by name among the folders discovery found, never joined
onto a directory. :func:`inside` is the second fence: a folder whose resolved path (symlinks
followed) leaves its configured root is not a skill.

Error messages here never contain an absolute path: a bad name is not echoed back (it may be
one, or carry control characters for a terminal or a log line), only its length when that
is what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

from openclaw.errors import InvalidRequest

SKILL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
GRAMMAR = "lowercase letters, digits and hyphens, at most 64 characters"


class InvalidSkillName(InvalidRequest):
    code = "invalid_skill_name"


def valid_name(name: str) -> bool:
    return bool(SKILL_NAME_RE.match(name))


def check_name(name: str) -> str:
    """``name`` if it fits the grammar; else :class:`InvalidSkillName` (400)."""
    if not valid_name(name):
        why = f" ({len(name)} characters)" if len(name) > 64 else ""
        raise InvalidSkillName(f"that is not a valid skill name{why}: use {GRAMMAR}", param="name")
    return name


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks resolved, is ``root`` or below it."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False
