"""The six value types of skill inputs and outputs, and how text becomes each of them.

=============  ===========================  ====================================================
type           a value is                   from text (CLI ``--input``, step stdout)
=============  ===========================  ====================================================
``string``     a str                        the text
``markdown``   a str                        the text, trailing newlines dropped
``integer``    an int (not a bool)          ``42``, ``-3``
``boolean``    a bool                       ``true/false``, ``yes/no``, ``1/0``, ``on/off``
``array``      a list                       a JSON array, else one element per non-empty line
``json``       any JSON value               JSON
=============  ===========================  ====================================================

JSON callers (the HTTP API, fixtures, a model's JSON answer, a step's JSON) are checked
strictly: ``"42"`` is not an integer there. Text is coerced, because text is all a command
line or a script's stdout has.
"""

from __future__ import annotations

import json
from typing import Any, Literal

IOType = Literal["string", "integer", "boolean", "array", "markdown", "json"]
IO_TYPES: tuple[str, ...] = ("string", "integer", "boolean", "array", "markdown", "json")
TEXT_TYPES = frozenset({"string", "markdown"})
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages (never the whole value)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"string {shown!r}"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__


def problem(value: Any, type_: str) -> str | None:
    """Why ``value`` is not of ``type_``, or None when it is."""
    ok = {
        "string": isinstance(value, str),
        "markdown": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "json": _is_json(value),
    }[type_]
    return None if ok else f"expected {type_}, got {describe(value)}"


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def from_text(text: str, type_: str) -> Any:
    """Coerce text to ``type_``; raises ValueError with a message naming the expectation."""
    if type_ == "string":
        return text
    if type_ == "markdown":
        return text.rstrip("\n")
    stripped = text.strip()
    if type_ == "integer":
        try:
            return int(stripped)
        except ValueError:
            raise ValueError(f"expected integer, got {describe(stripped)}") from None
    if type_ == "boolean":
        low = stripped.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected boolean (true/false), got {describe(stripped)}")
    if type_ == "array":
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ValueError(f"expected a JSON array ({exc.msg})") from None
            if isinstance(value, list):
                return value
        return [ln.rstrip("\r") for ln in text.splitlines() if ln.strip()]
    if type_ == "json":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected JSON ({exc.msg} at line {exc.lineno})") from None
    raise ValueError(f"unknown type '{type_}'")


def as_env(value: Any) -> str:
    """How an input appears in a step's ``OPENCLAW_INPUT_<NAME>`` variable."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "\n".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)
