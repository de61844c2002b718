"""Finding skills, in order of precedence, and whether each can run on this machine.

Three places are searched, first match of a name wins:

1. ``$OPENCLAW_HOME/skills/`` (``home``): the user's own skills;
2. the directories listed under ``extra_dirs`` in ``$OPENCLAW_HOME/skills.yaml``
   (``extra``), in their order; relative paths are relative to ``$OPENCLAW_HOME``;
3. the skills shipped with the package (``builtin``).

A skill is a folder holding a SKILL.md; its name is the folder's name (lint insists the front
matter agrees). A folder that shadows a skill of the same name further down the list keeps
the lower one in :attr:`Skill.shadowed`, so ``skill show`` can say what it overrides.

The shipped skills are package data in ``openclaw/skills/builtin/`` found with
:mod:`importlib.resources`, so a non-editable ``pip install`` finds them with no build step.
The top-level ``skills/`` folder of the repository is their canonical copy, kept identical by
a test (``tests/skills/test_shipped.py`` names the command that re-syncs them).

Eligibility follows the real OpenClaw's gating: every ``requires.bins`` on ``PATH``, at least
one of ``requires.anyBins``, every ``requires.env`` set and non-empty, and the platform in
``os`` when that is given. An ineligible skill is listed with its reasons and refused (409).
Discovery reads files: call it off the event loop (the API does, with ``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openclaw.config.loader import load_model
from openclaw.skills.errors import SkillNotFound
from openclaw.skills.lint import Plan, check
from openclaw.skills.spec import SKILL_FILE, FrontMatter, OpenClawMeta, ParseError, read_document

log = logging.getLogger("openclaw.skills")

SKILLS_CONFIG = "skills.yaml"


class SkillsFile(BaseModel):
    """``$OPENCLAW_HOME/skills.yaml``."""

    model_config = ConfigDict(extra="forbid")
    extra_dirs: list[str] = Field(default_factory=list)


@dataclass
class Skill:
    name: str
    path: Path  # the skill's folder
    source: str  # home | extra | builtin
    front: FrontMatter | None = None
    plan: Plan = field(default_factory=Plan)
    body: str = ""
    problems: list[str] = field(default_factory=list)  # lint: the skill is invalid
    reasons: list[str] = field(default_factory=list)  # eligibility: it cannot run here
    shadowed: list[Path] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.front is not None and not self.problems

    @property
    def eligible(self) -> bool:
        return self.valid and not self.reasons

    @property
    def meta(self) -> OpenClawMeta:
        assert self.front is not None, "meta of an invalid skill"
        return self.front.openclaw

    @property
    def version(self) -> str | None:
        return self.front.version if self.front else None

    @property
    def status(self) -> str:
        if not self.valid:
            return "invalid"
        return "eligible" if not self.reasons else "ineligible"

    def describe(self, *, detail: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.front.description if self.front else None,
            "source": self.source,
            "path": str(self.path),
            "status": self.status,
            "eligible": self.eligible,
            "reasons": self.reasons,
            "problems": self.problems,
        }
        if self.front is not None:
            meta = self.meta
            d["inputs"] = [
                {
                    "name": i.name,
                    "type": i.type,
                    "required": i.required,
                    "description": i.description,
                }
                for i in meta.inputs
            ]
            d["outputs"] = [
                {
                    "name": o.name,
                    "type": o.type,
                    "from": self.plan.sources.get(o.name),
                    "description": o.description,
                }
                for o in meta.outputs
            ]
        if detail and self.front is not None:
            meta = self.meta
            d["steps"] = [{"name": s.name, "run": s.run, "timeout": s.timeout} for s in meta.steps]
            d["model_step"] = self.plan.prompt is not None
            d["model"] = meta.model
            d["task"] = meta.task
            d["json_mode"] = bool(self.plan.json_keys)
            d["requires"] = meta.requires.model_dump()
            d["os"] = meta.os
            d["shadowed"] = [str(p) for p in self.shadowed]
            d["body"] = self.body
        return d


def builtin_dir() -> Path | None:
    """The shipped skills inside the installed package, or None if it has none."""
    try:
        root = resources.files("openclaw.skills") / "builtin"
    except ModuleNotFoundError:  # pragma: no cover - the package is always importable here
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def skill_dirs(home: Path) -> list[tuple[str, Path]]:
    """(source, directory) pairs in order of precedence; directories may not exist."""
    dirs: list[tuple[str, Path]] = [("home", home / "skills")]
    cfg = load_model(home / SKILLS_CONFIG, SkillsFile)
    for raw in cfg.extra_dirs:
        p = Path(os.path.expanduser(raw))
        dirs.append(("extra", p if p.is_absolute() else home / p))
    builtin = builtin_dir()
    if builtin is not None:
        dirs.append(("builtin", builtin))
    return dirs


def _candidates(directory: Path) -> list[Path]:
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_dir() and (p / SKILL_FILE).is_file()]


def load_skill(folder: Path, source: str) -> Skill:
    skill = Skill(name=folder.name, path=folder, source=source)
    try:
        doc = read_document(folder / SKILL_FILE)
    except ParseError as exc:
        skill.problems = exc.problems
        return skill
    skill.front, skill.body = doc.front, doc.body
    skill.plan, skill.problems = check(doc, folder)
    skill.reasons = eligibility(doc.front.openclaw)
    return skill


def discover(home: Path) -> dict[str, Skill]:
    """Every skill by name (the highest-precedence folder of each name), sorted by name."""
    found: dict[str, Skill] = {}
    for source, directory in skill_dirs(home):
        for folder in _candidates(directory):
            if folder.name in found:
                found[folder.name].shadowed.append(folder)
                continue
            found[folder.name] = load_skill(folder, source)
    return dict(sorted(found.items()))


def find_skill(home: Path, name: str) -> Skill:
    for source, directory in skill_dirs(home):
        folder = directory / name
        if (folder / SKILL_FILE).is_file():
            return load_skill(folder, source)
    known = ", ".join(discover(home)) or "none"
    raise SkillNotFound(f"no skill named '{name}' (skills: {known})", param="name")


def platform_name() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform  # darwin, win32


def eligibility(meta: OpenClawMeta, environ: dict[str, str] | None = None) -> list[str]:
    """Why this skill cannot run on this machine (empty when it can)."""
    env = os.environ if environ is None else environ
    path = env.get("PATH")
    reasons = []
    if meta.os and platform_name() not in meta.os:
        reasons.append(f"runs on {', '.join(meta.os)}, not {platform_name()}")
    for b in meta.requires.bins:
        if shutil.which(b, path=path) is None:
            reasons.append(f"missing binary '{b}' (not on PATH)")
    if meta.requires.anyBins and not any(shutil.which(b, path=path) for b in meta.requires.anyBins):
        reasons.append(f"needs one of: {', '.join(meta.requires.anyBins)} (none on PATH)")
    for name in meta.requires.env:
        if not env.get(name):
            reasons.append(f"missing environment variable {name}")
    return reasons
