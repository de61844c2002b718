"""SKILL.md: the front matter's schema, and reading it with line numbers.

A SKILL.md is YAML front matter between two ``---`` lines, then Markdown documentation. The
front matter is a superset of the real OpenClaw's (and the AgentSkills standard's): ``name``,
``description``, ``metadata.openclaw.requires.{bins,anyBins,env,config}``, ``os`` mean the
same here, and the other keys those formats define (``emoji``, ``install``, ``homepage``,
``license``...) are accepted and ignored, so one folder serves both. What this gateway adds
also lives under ``metadata.openclaw``, where the real OpenClaw ignores unknown keys:

- ``inputs`` / ``outputs``: lists. An entry is either the seed's one-key mapping
  (``- pr_number: integer``) or a mapping with ``name``, ``type`` and optionally
  ``description``; inputs add ``required`` / ``default``, outputs add ``from`` (where the
  value comes from: ``answer``, ``answer.KEY``, ``steps.STEP.stdout|lines|json[.KEY]``,
  ``inputs.NAME``). ``from`` *is* the "outputs mapping": each output is declared once, with
  its source beside its type. Without ``from``, an output comes from the model: the whole
  answer if it is the only one and is text, else the key of that name in a JSON answer.
- ``steps``: scripts run in order (``name``, ``run``, ``args``, ``stdin``, ``timeout``,
  ``max_output_bytes``); ``args`` and ``stdin`` are templates (:mod:`.template`).
- ``prompt`` (inline template) or a ``prompt.md`` beside SKILL.md, optional ``system``;
  ``model`` (an alias) or ``task`` (routed by ``use_for``); ``max_tokens``, ``temperature``.
- ``requires.optionalBins`` / ``requires.optionalEnv``: used when present, never required.
  The seed's pr-review-prep needs ``gh`` only when its inputs do not already carry the
  changed files, so gh is optional there rather than a reason to refuse the skill.

YAML is composed into nodes with the front matter at its real line numbers, so every error,
from the YAML parser, from pydantic or from lint, names the SKILL.md line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from openclaw.config.loader import format_validation_error
from openclaw.skills.values import IO_TYPES

SKILL_FILE = "SKILL.md"
PROMPT_FILE = "prompt.md"
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # AgentSkills: lowercase words and hyphens
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # inputs and outputs: also env var suffixes
STEP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
VERSION_RE = re.compile(r"^\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.-]+)?$")
_LONG_KEYS = frozenset({"name", "type", "description", "required", "default", "from"})

OsName = Literal["darwin", "linux", "win32"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _type_name(v: Any) -> Any:
    if isinstance(v, str) and v not in IO_TYPES:
        close = difflib.get_close_matches(v, IO_TYPES, n=1, cutoff=0.4)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ValueError(f"unknown type '{v}'; {hint}types: {', '.join(IO_TYPES)}")
    return v


class FieldSpec(Strict):
    name: str
    type: Literal["string", "integer", "boolean", "array", "markdown", "json"]
    description: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, v: Any) -> Any:
        return _type_name(v)

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not IDENT_RE.match(v):
            raise ValueError(f"'{v}' is not a valid name (letters, digits, underscore)")
        return v


class InputSpec(FieldSpec):
    required: bool = True
    default: Any = None


class OutputSpec(FieldSpec):
    source: str | None = Field(default=None, alias="from")


class StepSpec(Strict):
    name: str
    run: str
    args: list[str] = Field(default_factory=list)
    stdin: str | None = None
    timeout: float = Field(default=60.0, gt=0, le=3600)
    max_output_bytes: int = Field(default=1024 * 1024, ge=1, le=64 * 1024 * 1024)

    @field_validator("name")
    @classmethod
    def _step_name(cls, v: str) -> str:
        if not STEP_RE.match(v):
            raise ValueError(f"'{v}' is not a valid step name (lowercase, digits, '-', '_')")
        return v

    @field_validator("args", mode="before")
    @classmethod
    def _scalars(cls, v: Any) -> Any:
        # YAML reads ``- 3`` and ``- true`` as numbers and booleans; an argv is text.
        if not isinstance(v, list):
            return v
        return [
            (str(a).lower() if isinstance(a, bool) else str(a)) if isinstance(a, int | float) else a
            for a in v
        ]


class Requires(Strict):
    bins: list[str] = Field(default_factory=list)
    anyBins: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    config: list[str] = Field(default_factory=list)  # real OpenClaw: openclaw.json paths; unused
    optionalBins: list[str] = Field(default_factory=list)
    optionalEnv: list[str] = Field(default_factory=list)


def _short_forms(v: Any) -> Any:
    """The seed's ``- pr_number: integer`` to ``{name: pr_number, type: integer}``."""
    if not isinstance(v, list):
        return v
    out = []
    for item in v:
        if isinstance(item, dict) and len(item) == 1:
            ((key, value),) = item.items()
            if key not in _LONG_KEYS and isinstance(value, str):
                item = {"name": key, "type": value}
        out.append(item)
    return out


class OpenClawMeta(Strict):
    requires: Requires = Field(default_factory=Requires)
    os: list[OsName] = Field(default_factory=list)
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    steps: list[StepSpec] = Field(default_factory=list)
    prompt: str | None = None
    system: str | None = None
    model: str | None = None
    task: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    # Keys of the real OpenClaw's metadata: accepted so its skills lint clean, not used here.
    emoji: str | None = None
    homepage: str | None = None
    primaryEnv: str | None = None
    skillKey: str | None = None
    always: bool | None = None
    install: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _seed_form(cls, v: Any) -> Any:
        return _short_forms(v)


class Metadata(BaseModel):
    """``metadata``: other tools keep their own keys here; only ``openclaw`` is ours."""

    model_config = ConfigDict(extra="allow")
    openclaw: OpenClawMeta = Field(default_factory=OpenClawMeta)


class FrontMatter(Strict):
    name: str
    description: str
    version: str
    metadata: Metadata = Field(default_factory=Metadata)
    # AgentSkills and real-OpenClaw keys, accepted and ignored.
    license: str | None = None
    compatibility: str | None = None
    homepage: str | None = None
    allowed_tools: Any = Field(default=None, alias="allowed-tools")
    user_invocable: bool | None = Field(default=None, alias="user-invocable")
    disable_model_invocation: bool | None = Field(default=None, alias="disable-model-invocation")
    command_dispatch: str | None = Field(default=None, alias="command-dispatch")
    command_tool: str | None = Field(default=None, alias="command-tool")
    command_arg_mode: str | None = Field(default=None, alias="command-arg-mode")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v) or len(v) > 64:
            raise ValueError(
                f"'{v}' is not a valid skill name (lowercase letters, digits and single "
                "hyphens, at most 64 characters)"
            )
        return v

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(v)  # YAML reads ``version: 1.2`` as a number
        if isinstance(v, str) and not VERSION_RE.match(v):
            raise ValueError(f"'{v}' is not a version such as 1.2.0")
        return v

    @property
    def openclaw(self) -> OpenClawMeta:
        return self.metadata.openclaw


@dataclass
class Document:
    """A parsed SKILL.md: front matter (validated), the YAML node tree, the Markdown body."""

    path: Path
    front: FrontMatter
    root: yaml.Node
    body: str
    body_line: int


class ParseError(ValueError):
    """SKILL.md cannot be read; each problem is ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def split_front_matter(text: str, where: str) -> tuple[str, str, int]:
    """(front matter text, body, body's first line); the front matter keeps its line numbers."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ParseError([f"{where}:1: SKILL.md must start with '---' and YAML front matter"])
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            # One blank line stands in for the opening '---', so YAML line N is file line N.
            return "\n" + "".join(lines[1:i]), "".join(lines[i + 1 :]), i + 2
    raise ParseError([f"{where}:{len(lines)}: front matter is not closed with a '---' line"])


def _construct(node: yaml.Node, where: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            key = _construct(k_node, where)
            if key in out:
                line = k_node.start_mark.line + 1
                raise ParseError([f"{where}:{line}: duplicate key '{key}' (remove one)"])
            out[key] = _construct(v_node, where)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, where) for item in node.value]
    loader = yaml.SafeLoader("")
    return loader.construct_object(node)  # type: ignore[no-untyped-call]


def parse_yaml(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = (mark.line + 1) if mark is not None else 1
        problem = exc.problem or str(exc)
        raise ParseError(
            [f"{where}:{line}: YAML syntax error: {problem} (check indentation and quoting)"]
        ) from None
    except yaml.YAMLError as exc:
        raise ParseError([f"{where}: YAML error: {exc}"]) from None
    if root is None:
        return None, None
    return _construct(root, where), root


def read_document(path: Path, where: str | None = None) -> Document:
    """Parse and validate ``path`` (a SKILL.md) against the schema; raises :class:`ParseError`."""
    where = where or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParseError([f"{where}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ParseError([f"{where}: not UTF-8 text"]) from None
    fm_text, body, body_line = split_front_matter(text, where)
    data, root = parse_yaml(fm_text, where)
    if root is None or not isinstance(data, dict):
        raise ParseError(
            [f"{where}:2: the front matter must be a mapping (name:, description:...)"]
        )
    try:
        front = FrontMatter.model_validate(data)
    except ValidationError as exc:
        raise ParseError(
            format_validation_error(exc, FrontMatter, root, where).splitlines()
        ) from None
    return Document(path=path, front=front, root=root, body=body, body_line=body_line)


def locate(root: yaml.Node | None, *loc: str | int) -> int:
    """The 1-based line of the node at ``loc`` (a key or list index path), or the nearest."""
    node, line = root, (root.start_mark.line + 1 if root is not None else 1)
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                if k_node.value == str(step):
                    node, line = v_node, k_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                return line
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def value_line(root: yaml.Node | None, *loc: str | int) -> int:
    """Line where the *value* at ``loc`` starts (a block scalar's text starts one below its key)."""
    node = root
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            node = node.value[step] if 0 <= step < len(node.value) else None
        else:
            node = None
        if node is None:
            return locate(root, *loc)
    assert node is not None
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return node.start_mark.line + 2
    return node.start_mark.line + 1
