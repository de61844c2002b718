"""The small template language of step arguments, step stdin and prompts.

``{{ path }}`` or ``{{ path | filter }}``, nothing else: no loops, no conditionals, no code.
Decisions belong in the skill's scripts, where they can be tested; a template only places
values. Paths:

- ``inputs.NAME`` (or the bare ``NAME``): an input, after validation and defaults;
- ``steps.STEP.stdout``, ``steps.STEP.lines`` (non-empty lines), ``steps.STEP.json``
  (stdout parsed as JSON), with further ``.key`` segments into the JSON;
- ``skill.name``, ``skill.version``.

Filters: ``json`` (the value as JSON), ``bullets`` (one ``- item`` line per list element,
``(none)`` for an empty list), ``lines`` (one element per line) and ``trim``. Without a
filter a string is placed as is, a list of scalars one per line, anything else as JSON.

The same parser serves lint (:func:`references`, which checks every path against the skill's
inputs and steps and names the line) and rendering (:func:`render`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
FILTERS = ("json", "bullets", "lines", "trim")
STEP_FIELDS = ("stdout", "lines", "json")


class TemplateError(ValueError):
    """A template that cannot be parsed or whose path does not resolve; ``line`` is 1-based."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Ref:
    path: tuple[str, ...]
    filters: tuple[str, ...]
    line: int  # 1-based, within the template text
    start: int
    end: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def references(text: str) -> list[Ref]:
    """Every ``{{ ... }}`` in ``text``, parsed; raises :class:`TemplateError` on bad syntax."""
    refs: list[Ref] = []
    for m in _TAG.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        inner = m.group(1).strip()
        if not inner:
            raise TemplateError("empty '{{ }}'", line)
        head, *filters = (p.strip() for p in inner.split("|"))
        segments = tuple(head.split("."))
        if not all(_SEGMENT.match(s) for s in segments):
            raise TemplateError(f"'{{{{ {inner} }}}}': '{head}' is not a dotted name", line)
        for f in filters:
            if f not in FILTERS:
                raise TemplateError(
                    f"'{{{{ {inner} }}}}': unknown filter '{f}' (filters: {', '.join(FILTERS)})",
                    line,
                )
        refs.append(Ref(segments, tuple(filters), line, m.start(), m.end()))
    # An opening brace pair left over after the tags is a typo, not literal text.
    rest = _TAG.sub("", text)
    if "{{" in rest:
        pos = text.find("{{", max((r.end for r in refs), default=0))
        line = text.count("\n", 0, max(pos, 0)) + 1
        raise TemplateError("'{{' is not closed with '}}'", line)
    return refs


def check_ref(ref: Ref, inputs: Iterable[str], steps: Iterable[str]) -> str | None:
    """Why ``ref`` cannot resolve given these input and (earlier) step names, or None."""
    path, inputs, steps = ref.path, set(inputs), list(steps)
    head = path[0]
    if head == "inputs":
        if len(path) < 2:
            return "'inputs' needs a name: inputs.NAME"
        if path[1] not in inputs:
            return f"unknown input '{path[1]}' (inputs: {', '.join(sorted(inputs)) or 'none'})"
        return None
    if head == "steps":
        if len(path) < 3:
            return "use steps.STEP.stdout, steps.STEP.lines or steps.STEP.json"
        if path[1] not in steps:
            known = ", ".join(steps) or "none"
            return f"unknown or later step '{path[1]}' (steps available here: {known})"
        if path[2] not in STEP_FIELDS:
            return f"steps.{path[1]}.{path[2]}: use stdout, lines or json"
        if path[2] != "json" and len(path) > 3:
            return f"steps.{path[1]}.{path[2]} has no fields; use steps.{path[1]}.json.KEY"
        return None
    if head == "skill":
        if len(path) != 2 or path[1] not in ("name", "version"):
            return "use skill.name or skill.version"
        return None
    if head in inputs:
        return None
    return (
        f"'{ref.dotted}' is neither an input nor inputs.*, steps.* or skill.* "
        f"(inputs: {', '.join(sorted(inputs)) or 'none'})"
    )


Lookup = Callable[[tuple[str, ...]], Any]


def lookup_in(context: Mapping[str, Any]) -> Lookup:
    """A resolver over ``{"inputs": {...}, "steps": {name: StepOutput}, "skill": {...}}``.

    Step outputs are looked up by attribute (``stdout``, ``lines``, ``json``), so parsing a
    step's stdout as JSON happens only when a template or an output asks for it.
    """

    def resolve(path: tuple[str, ...]) -> Any:
        head = path[0]
        if head == "steps":
            value: Any = getattr(context["steps"][path[1]], path[2])
            rest = path[3:]
        elif head in ("inputs", "skill"):
            value, rest = context[head][path[1]], path[2:]
        else:
            value, rest = context["inputs"][head], path[1:]
        for key in rest:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(".".join(path))
            value = value[key]
        return value

    return resolve


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float | bool) or v is None for v in value
    ):
        return "\n".join(as_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False, indent=2)


def apply_filter(name: str, value: Any) -> Any:
    if name == "json":
        return json.dumps(value, ensure_ascii=False)
    if name == "bullets":
        items = value if isinstance(value, list) else [value]
        return "\n".join(f"- {as_text(v)}" for v in items) if items else "(none)"
    if name == "lines":
        return [ln for ln in as_text(value).splitlines() if ln.strip()]
    if name == "trim":
        return as_text(value).strip()
    raise TemplateError(f"unknown filter '{name}'")


def value_of(ref: Ref, resolve: Lookup) -> Any:
    try:
        value = resolve(ref.path)
    except (KeyError, IndexError):
        raise TemplateError(f"'{{{{ {ref.dotted} }}}}' has no value", ref.line) from None
    for f in ref.filters:
        value = apply_filter(f, value)
    return value


def render(text: str, resolve: Lookup) -> str:
    """``text`` with every tag replaced by its value as text."""
    out, pos = [], 0
    for ref in references(text):
        out.append(text[pos : ref.start])
        out.append(as_text(value_of(ref, resolve)))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)


def render_arg(text: str, resolve: Lookup) -> list[str]:
    """One argument template to argv entries: a lone tag holding a list gives one per item."""
    refs = references(text)
    if len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(text):
        value = value_of(refs[0], resolve)
        if isinstance(value, list):
            return [as_text(v) for v in value]
    return [render(text, resolve)]
