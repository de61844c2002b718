"""Finding skills, in order of precedence, and whether each can run on this machine.

Three kinds of root are searched, first match of a name wins:

1. ``$OPENCLAW_HOME/skills/`` (``home``): the user's own skills (``skill install`` puts
   them there);
2. the directories listed under ``extra_dirs`` in ``$OPENCLAW_HOME/skills.yaml``
   (``extra``), in their order; relative paths are relative to ``$OPENCLAW_HOME``;
3. the skills shipped with the package (``builtin``).

A skill is a folder holding a SKILL.md, found up to :data:`MAX_DEPTH` folders below its root
(upstream repositories group skills in nested folders); a skill's own subfolders are not
searched, nor are hidden folders. Its name is the front matter's ``name`` (the folder's name
when the SKILL.md cannot be read). A folder whose resolved path leaves its root (a symlink
out) is skipped. A skill that shadows one of the same name further down keeps the lower one
in :attr:`Skill.shadowed`, so ``skill show`` can say what it overrides.

Names are looked up, never joined onto a path: :func:`find_skill` checks the name against
the grammar of :mod:`.names` first (400), then compares it with the names found. What the
HTTP API shows uses :meth:`Skill.describe` with ``public=True``: paths relative to the
skill's root (``home:team/pr-review-prep``), never absolute.

The shipped skills are the repository's top-level ``skills/`` folder, the only copy: a wheel
carries it as the package data ``openclaw/skills/builtin/`` (``setup.py`` maps it), and a
source checkout (an editable install) reads it where it is; :func:`builtin_dir` tries both.

Eligibility follows upstream's gating: every ``requires.bins`` on ``PATH``, at least one of
``requires.anyBins``, every ``requires.env`` set and non-empty, and the platform in ``os``
when that is given. An ineligible skill is listed with its reasons and refused (409).
Discovery reads files: call it off the event loop (the API does, with ``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openclaw.config.loader import load_model
from openclaw.skills.errors import SkillNotFound
from openclaw.skills.lint import INSTRUCTION_INPUTS, INSTRUCTION_OUTPUTS, Plan, check
from openclaw.skills.names import check_name, inside
from openclaw.skills.sandbox import Isolation, SandboxMode, isolation
from openclaw.skills.spec import (
    SKILL_FILE,
    FrontMatter,
    InputSpec,
    OpenClawMeta,
    OutputSpec,
    ParseError,
    read_document,
)

log = logging.getLogger("openclaw.skills")

SKILLS_CONFIG = "skills.yaml"
MAX_DEPTH = 4  # folders below a root where a SKILL.md is still looked for
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "test", "tests"})


class SkillsFile(BaseModel):
    """``$OPENCLAW_HOME/skills.yaml``."""

    model_config = ConfigDict(extra="forbid")
    extra_dirs: list[str] = Field(default_factory=list)
    sandbox: SandboxMode = "auto"  # bubblewrap for steps: auto | required | off

    @field_validator("sandbox", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML 1.1 reads a bare ``off`` as false


@dataclass
class Skill:
    name: str
    path: Path  # the skill's folder
    source: str  # home | extra | builtin
    root: Path | None = None  # the root it was found under
    front: FrontMatter | None = None
    plan: Plan = field(default_factory=Plan)
    body: str = ""
    problems: list[str] = field(default_factory=list)  # lint: the skill is invalid
    reasons: list[str] = field(default_factory=list)  # eligibility: it cannot run here
    shadowed: list[Path] = field(default_factory=list)
    sandbox: SandboxMode = "auto"  # skills.yaml's choice; :attr:`isolation` probes it
    _isolation: Isolation | None = field(default=None, repr=False)

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

    @property
    def isolation(self) -> Isolation:
        """How this skill's steps run here; probed once, when first asked (it runs bwrap)."""
        if self._isolation is None:
            self._isolation = isolation(self.sandbox)
        return self._isolation

    @isolation.setter
    def isolation(self, value: Isolation) -> None:
        self._isolation = value

    @property
    def instruction_only(self) -> bool:
        return self.plan.instructions is not None

    @property
    def inputs(self) -> list[InputSpec]:
        """The declared inputs, or an instruction-only skill's one text input."""
        return INSTRUCTION_INPUTS if self.instruction_only else self.meta.inputs

    @property
    def outputs(self) -> list[OutputSpec]:
        return INSTRUCTION_OUTPUTS if self.instruction_only else self.meta.outputs

    @property
    def shown_path(self) -> str:
        """Where the skill is, without the absolute path: ``home:team/pr-review-prep``."""
        if self.root is None:
            return f"{self.source}:{self.path.name}"
        try:
            rel = self.path.relative_to(self.root).as_posix()
        except ValueError:
            rel = self.path.name
        return f"{self.source}:{rel}"

    def public(self, text: str) -> str:
        """``text`` with this skill's absolute paths replaced by :attr:`shown_path`."""
        text = text.replace(str(self.path), self.shown_path)
        if self.root is not None:
            text = text.replace(str(self.root), f"{self.source}:")
        return text

    def describe(self, *, detail: bool = False, public: bool = False) -> dict[str, Any]:
        show = self.public if public else str
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.front.description if self.front else None,
            "source": self.source,
            "path": self.shown_path if public else str(self.path),
            "status": self.status,
            "eligible": self.eligible,
            "kind": "instructions" if self.instruction_only else "contract",
            "reasons": self.reasons,
            "problems": [show(p) for p in self.problems],
        }
        if self.front is not None:
            d["inputs"] = [
                {
                    "name": i.name,
                    "type": i.type,
                    "required": i.required,
                    "description": i.description,
                }
                for i in self.inputs
            ]
            d["outputs"] = [
                {
                    "name": o.name,
                    "type": o.type,
                    "from": self.plan.sources.get(o.name),
                    "description": o.description,
                }
                for o in self.outputs
            ]
        if detail and self.front is not None:
            meta = self.meta
            d["notes"] = [show(n) for n in self.plan.notes]
            d["user_invocable"] = self.front.user_invocable is not False
            d["primary_env"] = meta.primaryEnv
            d["network"] = meta.network
            d["install"] = [spec.describe() for spec in meta.install]
            d["isolation"] = self.isolation.describe(network=meta.network)
            d["steps"] = [{"name": s.name, "run": s.run, "timeout": s.timeout} for s in meta.steps]
            d["model_step"] = self.plan.prompt is not None
            d["model"] = meta.model
            d["task"] = meta.task
            d["json_mode"] = bool(self.plan.json_keys)
            d["requires"] = meta.requires.model_dump()
            d["os"] = meta.os
            # Public answers name the shadowed folders only, not where they are.
            d["shadowed"] = [p.name if public else str(p) for p in self.shadowed]
            d["body"] = self.body
        return d


def builtin_dir() -> Path | None:
    """The shipped skills: the package data of a wheel, or a source checkout's ``skills/``."""
    packaged = Path(str(resources.files("openclaw.skills"))) / "builtin"
    if packaged.is_dir():
        return packaged
    # src/openclaw/skills/ -> the checkout, when this is one (an editable install).
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "skills").is_dir():
        return checkout / "skills"
    return None


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


def candidates(root: Path, depth: int = MAX_DEPTH) -> list[Path]:
    """Skill folders under ``root``, nested up to ``depth`` levels, inside ``root`` only."""
    found: list[Path] = []

    def walk(directory: Path, level: int) -> None:
        try:
            entries = sorted(p for p in directory.iterdir() if p.is_dir())
        except OSError:
            return
        for p in entries:
            if p.name.startswith(".") or p.name in _SKIP_DIRS or not inside(p, root):
                continue
            if (p / SKILL_FILE).is_file():
                found.append(p)  # a skill's own folders are its business
            elif level < depth:
                walk(p, level + 1)

    walk(root, 1)
    return found


def load_skill(folder: Path, source: str, root: Path | None = None) -> Skill:
    skill = Skill(name=folder.name, path=folder, source=source, root=root)
    try:
        doc = read_document(folder / SKILL_FILE)
    except ParseError as exc:
        skill.problems = exc.problems
        return skill
    skill.name = doc.front.name
    skill.front, skill.body = doc.front, doc.body
    skill.plan, skill.problems = check(doc, folder)
    skill.reasons = eligibility(doc.front.openclaw)
    return skill


def discover(home: Path) -> dict[str, Skill]:
    """Every skill by name (the highest-precedence folder of each name), sorted by name."""
    found: dict[str, Skill] = {}
    sandbox = load_model(home / SKILLS_CONFIG, SkillsFile).sandbox
    for source, directory in skill_dirs(home):
        for folder in candidates(directory):
            skill = load_skill(folder, source, directory)
            skill.sandbox = sandbox
            if skill.name in found:
                found[skill.name].shadowed.append(folder)
                continue
            found[skill.name] = skill
    return dict(sorted(found.items()))


_NAME_LINE = re.compile(r"""^name:[ \t]*["']?([a-z0-9][a-z0-9-]*)["']?[ \t]*(?:#.*)?$""", re.M)


def sniff_name(folder: Path) -> str | None:
    """The ``name:`` line of a SKILL.md's front matter, read without parsing the YAML.

    Lookup by name reads only this from every folder and parses one SKILL.md in full; None
    (no such plain line) makes the caller load the skill to learn its name.
    """
    try:
        with (folder / SKILL_FILE).open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(16 * 1024)
    except OSError:
        return None
    parts = head.split("\n---", 1)
    if not head.startswith("---") or len(parts) < 2:
        return None
    m = _NAME_LINE.search(parts[0])
    return m.group(1) if m else None


def find_skill(home: Path, name: str) -> Skill:
    """The skill called ``name``: 400 if it is not a name, 404 if there is none.

    Same precedence as :func:`discover`, without linting every other skill on the way.
    """
    check_name(name)
    sandbox = load_model(home / SKILLS_CONFIG, SkillsFile).sandbox
    for source, directory in skill_dirs(home):
        for folder in candidates(directory):
            sniffed = sniff_name(folder)
            if sniffed is not None and sniffed != name:
                continue
            skill = load_skill(folder, source, directory)
            if skill.name == name:
                skill.sandbox = sandbox
                return skill
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
