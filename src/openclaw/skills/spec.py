"""SKILL.md: the front matter's schema, and reading it with line numbers.

A SKILL.md is YAML front matter between two ``---`` lines, then Markdown. Two contracts share
this schema:

- **The upstream OpenClaw format**, accepted as written: ``name`` and ``description``;
  ``version`` optional; ``metadata`` one object (YAML, or JSON/JSON5 on one line or many,
  trailing commas included) whose ``openclaw`` key (older aliases ``clawdbot`` and
  ``clawdis``) holds ``requires.{bins,anyBins,env,config}``, ``os``, ``primaryEnv``,
  ``install`` specs, ``emoji``, ``homepage``, ``always``, ``skillKey``; front matter keys such
  as ``user-invocable``. Most such skills are *instruction-only*: the Markdown body teaches the
  model something and nothing is declared to run. Keys we do not know, at the top level,
  under ``metadata.openclaw`` or in ``requires``, are kept (``model_extra``) and ignored;
  :func:`unknown_keys` lists them so lint can print them as notes.
- **Our stricter contract**, also under ``metadata.openclaw``, where upstream ignores it:

  - ``inputs`` / ``outputs``: lists. An entry is either the seed's one-key mapping
    (``- pr_number: integer``) or a mapping with ``name``, ``type`` and optionally
    ``description``; inputs add ``required`` / ``default``, outputs add ``from`` (where the
    value comes from: ``answer``, ``answer.KEY``, ``steps.STEP.stdout|lines|json[.KEY]``,
    ``inputs.NAME``). ``from`` *is* the "outputs mapping": each output is declared once,
    with its source beside its type.
  - ``steps``: scripts run in order (``name``, ``run``, ``args``, ``stdin``, ``timeout``,
    ``max_output_bytes``); ``args`` and ``stdin`` are templates (:mod:`.template`).
  - ``prompt`` (inline template) or a ``prompt.md`` beside SKILL.md, optional ``system``;
    ``model`` (an alias) or ``task`` (routed by ``use_for``); ``max_tokens``,
    ``temperature``; ``network`` (steps may use the network when sandboxed).
  - ``requires.optionalBins`` / ``requires.optionalEnv``: used when present, never required.

YAML is composed into nodes with the front matter at its real line numbers, so every error,
from the YAML parser, from pydantic or from lint, names the SKILL.md line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import json5
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from openclaw.config.loader import format_validation_error
from openclaw.skills.names import GRAMMAR, valid_name
from openclaw.skills.values import IO_TYPES

SKILL_FILE = "SKILL.md"
PROMPT_FILE = "prompt.md"
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # inputs and outputs: also env var suffixes
STEP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
VERSION_RE = re.compile(r"^\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.-]+)?$")
_LONG_KEYS = frozenset({"name", "type", "description", "required", "default", "from"})
#: ``metadata`` keys read as ours, first found wins (``clawdbot``/``clawdis``: older names).
META_KEYS = ("openclaw", "clawdbot", "clawdis")

OsName = Literal["darwin", "linux", "win32"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Lenient(BaseModel):
    """Where upstream skills put keys of their own: kept in ``model_extra``, not errors."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


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


class Requires(Lenient):
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


class InstallSpec(Lenient):
    """One way to install a missing binary (upstream's ``install``); shown, never run."""

    kind: str
    id: str | None = None
    label: str | None = None
    bins: list[str] = Field(default_factory=list)
    os: list[str] = Field(default_factory=list)
    formula: str | None = None  # brew
    package: str | None = None  # apt, node, uv
    module: str | None = None  # go
    url: str | None = None  # download

    def describe(self) -> str:
        what = self.formula or self.package or self.module or self.url or ""
        text = f"{self.kind} {what}".strip()
        if self.bins:
            text += f" (provides {', '.join(self.bins)})"
        return text


class OpenClawMeta(Lenient):
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
    network: bool = False  # ours: the steps need the network (matters inside the sandbox)
    # Upstream's keys: primaryEnv is passed to the steps like optionalEnv; install is shown by
    # ``skill show`` / ``skill install`` and never run; the others are shown only.
    emoji: str | None = None
    homepage: str | None = None
    primaryEnv: str | None = None
    skillKey: str | None = None
    always: bool | None = None
    install: list[InstallSpec] = Field(default_factory=list)

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _seed_form(cls, v: Any) -> Any:
        return _short_forms(v)


def parse_json5(text: str) -> Any:
    """Upstream's ``metadata`` text: JSON5 (comments, trailing commas, unquoted keys)."""
    try:
        return json5.loads(text)
    except ValueError as exc:
        raise ValueError(f"metadata is not a JSON object: {exc}") from None


class Metadata(BaseModel):
    """``metadata``: other tools keep their own keys here; ``openclaw`` (or an alias) is ours.

    Upstream writes it as a YAML mapping, a JSON object (YAML reads both, trailing commas
    too) or a string holding JSON5; all three are read. :attr:`key` says which alias held ours.
    """

    model_config = ConfigDict(extra="allow")
    openclaw: OpenClawMeta = Field(default_factory=OpenClawMeta)
    _key: str = PrivateAttr(default="openclaw")

    @model_validator(mode="wrap")
    @classmethod
    def _alias(cls, data: Any, handler: Any) -> Any:
        if isinstance(data, str):
            data = parse_json5(data)
        key = "openclaw"
        if isinstance(data, dict) and "openclaw" not in data:
            for alias in META_KEYS[1:]:
                if alias in data:
                    key, data = alias, {**data, "openclaw": data[alias]}
                    del data[alias]
                    break
        out = handler(data)
        out._key = key
        return out

    @property
    def key(self) -> str:
        return self._key


class FrontMatter(Lenient):
    name: str
    description: str
    version: str | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    # AgentSkills and upstream keys. user-invocable: false keeps a skill off Slack's
    # /openclaw skill (upstream: no slash command); the others are accepted and ignored.
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
        if not valid_name(v):
            raise ValueError(f"'{v[:64]}' is not a valid skill name ({GRAMMAR})")
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


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_keys(front: FrontMatter) -> list[tuple[tuple[str | int, ...], str, bool]]:
    """(location, message, is_typo) for each key we keep but do not use.

    A key close to one we know (``stesp``) is a typo: lint makes it an error, since the
    skill would silently lose what it meant. Any other (upstream's ``capabilities``,
    another tool's key) is a note.
    """
    out: list[tuple[tuple[str | int, ...], str, bool]] = []

    def scan(model: BaseModel, loc: tuple[str | int, ...], label: str) -> None:
        known = [f.alias or n for n, f in type(model).model_fields.items()]
        for key in model.model_extra or {}:
            hint = _hint(str(key), known)
            if hint:
                out.append(((*loc, key), f"{label}{key}: unknown key{hint}", True))
            else:
                out.append(((*loc, key), f"{label}{key}: not used here, ignored", False))

    meta_loc: tuple[str | int, ...] = ("metadata", front.metadata.key)
    label = f"metadata.{front.metadata.key}."
    scan(front, (), "")
    scan(front.openclaw, meta_loc, label)
    scan(front.openclaw.requires, (*meta_loc, "requires"), f"{label}requires.")
    for i, spec in enumerate(front.openclaw.install):
        scan(spec, (*meta_loc, "install", i), f"{label}install[{i}].")
    return out


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


def _construct(node: yaml.Node, where: str, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k_node, v_node in node.value:
            key = _construct(k_node, where, loader)
            if key in out:
                line = k_node.start_mark.line + 1
                raise ParseError([f"{where}:{line}: duplicate key '{key}' (remove one)"])
            out[key] = _construct(v_node, where, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, where, loader) for item in node.value]
    return loader.construct_object(node)  # type: ignore[no-untyped-call]


#: libyaml's parser when PyYAML was built with it (several times faster, the same nodes and
#: marks). On a syntax error the pure-Python parser runs again for its clearer message.
_FAST: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_FAST)
    except yaml.YAMLError:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    return node


def parse_yaml(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    try:
        root = _compose(text)
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
    return _construct(root, where, yaml.SafeLoader("")), root  # one loader for every scalar


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
