"""Every string in a request that can leave the machine, found by walking the body.

The PII rules used to read a list of known places (message ``content``, tool-call
arguments), so every field they did not list, and every field a new API added, went out
unscanned. This module inverts that. The request inside the gateway is one provider-neutral,
Chat-Completions-shaped body (the adapters serialise from it, and the other ingresses
translate into it), and :func:`walk` visits *all* of it:

- every string value is a :class:`Leaf`, wherever it is: message text parts, ``name``,
  tool-call arguments, tool results, refusals, tool names, descriptions and parameter
  schemas, ``user``, ``metadata``, ``prediction``, ``response_format`` schemas, ``stop``,
  embeddings' ``input``, and any field the gateway has never heard of;
- every dict *key* is a leaf too, unless it is one of the schema's own field names
  (:data:`FIELD_NAMES`): a JSON schema's property names and ``metadata`` keys leave the
  machine as well;
- the only strings skipped are the values of a few structural keys that hold one of a fixed
  vocabulary (``role: user``, ``type: text``, ``detail: auto``, see :data:`STRUCTURAL`). A
  value outside that vocabulary is scanned like any other, so nothing is skipped by key
  alone. ``model`` is skipped whatever it holds: the adapter replaces it with the
  deployment's model, so it never leaves;
- parts that cannot be read as text (images, audio, files, and any opaque base64 or
  ``data:`` URL) are :class:`Opaque`, for the rule's ``unscannable:`` parameter. Their other
  strings (a file name, an image's ``http`` URL) are still leaves.

:func:`replace` writes new texts back at the leaves' paths, copying only the containers on
the way, so detection, ``redact_pii`` and pseudonymisation all cover the same set of strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

#: Keys whose string value is structural when it is one of these words. ``None`` means any
#: value: ``model`` is replaced by the adapter and never sent as the client wrote it.
STRUCTURAL: Mapping[str, frozenset[str] | None] = {
    "model": None,
    "role": frozenset({"system", "developer", "user", "assistant", "tool", "function"}),
    "type": frozenset(
        {
            "text",
            "image_url",
            "input_audio",
            "file",
            "refusal",
            "function",
            "content",
            "json_schema",
            "json_object",
            "input_text",
            "output_text",
            "input_image",
            "input_file",
            # JSON Schema's own types, in tool parameters and response_format schemas
            "object",
            "string",
            "number",
            "integer",
            "boolean",
            "array",
            "null",
        }
    ),
    "detail": frozenset({"auto", "low", "high"}),
    "format": frozenset({"wav", "mp3", "flac", "opus", "pcm16", "aac"}),
    "tool_choice": frozenset({"none", "auto", "required"}),
    "function_call": frozenset({"none", "auto"}),
    "reasoning_effort": frozenset({"minimal", "low", "medium", "high"}),
    "service_tier": frozenset({"auto", "default", "flex", "scale", "priority"}),
    "encoding_format": frozenset({"float", "base64"}),
    "verbosity": frozenset({"low", "medium", "high"}),
}

#: Dict keys that are the schema's own field names, not data. Any other key is a leaf.
FIELD_NAMES: frozenset[str] = frozenset(
    {
        # chat request and messages
        "model", "messages", "role", "content", "name", "tool_calls", "tool_call_id", "id",
        "function", "arguments", "refusal", "audio", "function_call", "functions", "stream",
        "stream_options", "include_usage", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "n", "seed", "stop", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "metadata", "user", "prediction",
        "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
        "modalities", "reasoning_effort", "service_tier", "store", "verbosity",
        "web_search_options", "input", "encoding_format", "dimensions",
        # content parts
        "type", "text", "image_url", "url", "detail", "input_audio", "data", "format",
        "file", "file_id", "file_data", "filename",
        # tools and response formats
        "description", "parameters", "strict", "json_schema", "schema",
        # JSON Schema keywords
        "properties", "required", "items", "enum", "const", "default", "additionalProperties",
        "anyOf", "oneOf", "allOf", "not", "$ref", "$defs", "definitions", "title", "examples",
        "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
        "nullable", "patternProperties",
    }
)  # fmt: skip

#: Content part types whose payload is not text.
OPAQUE_PART_TYPES: Mapping[str, str] = {
    "image_url": "image",
    "input_image": "image",
    "image": "image",
    "input_audio": "audio",
    "audio": "audio",
    "file": "file",
    "input_file": "file",
    "document": "file",
    "video": "video",
    "video_url": "video",
}

# A data: URL, or a run of base64 long enough to be an encoded payload rather than a word.
_DATA_URL = re.compile(r"\s*data:[^,]{0,200},", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]{256,}")


@dataclass(frozen=True, slots=True)
class Leaf:
    """One string that leaves the machine: ``text`` at ``path``; ``is_key`` for dict keys."""

    path: Path
    text: str
    is_key: bool = False


@dataclass(frozen=True, slots=True)
class Opaque:
    """A part (or a value) that cannot be scanned as text, and where it is."""

    path: Path
    kind: str  # image | audio | file | video | data

    @property
    def where(self) -> str:
        return render_path(self.path)


@dataclass(frozen=True, slots=True)
class Walk:
    leaves: tuple[Leaf, ...]
    opaque: tuple[Opaque, ...]

    @property
    def texts(self) -> list[str]:
        return [leaf.text for leaf in self.leaves]


def walk(body: Any) -> Walk:
    """The leaves and opaque parts of ``body``, in document order."""
    leaves: list[Leaf] = []
    opaque: list[Opaque] = []
    for item in _visit(body, ()):
        if isinstance(item, Leaf):
            leaves.append(item)
        else:
            opaque.append(item)
    return Walk(tuple(leaves), tuple(opaque))


def is_opaque_text(text: str) -> bool:
    """True for a ``data:`` URL or a long unbroken run of base64: a payload, not prose."""
    return bool(_DATA_URL.match(text)) or (len(text) >= 256 and _BASE64.fullmatch(text) is not None)


def _visit(node: Any, path: Path) -> Iterator[Leaf | Opaque]:
    if isinstance(node, str):
        if not node:
            return
        if is_opaque_text(node):
            yield Opaque(path, "data")
        else:
            yield Leaf(path, node)
    elif isinstance(node, Mapping):
        kind = node.get("type")
        part = OPAQUE_PART_TYPES.get(kind) if isinstance(kind, str) else None
        if part is not None:
            yield Opaque(path, part)
        for key, value in node.items():
            key = str(key)
            if key not in FIELD_NAMES:
                yield Leaf((*path, key), key, is_key=True)
            if isinstance(value, str):
                vocabulary = STRUCTURAL.get(key, frozenset())
                if vocabulary is None or value in vocabulary:
                    continue
            for item in _visit(value, (*path, key)):
                # Inside an opaque part, its payload is that part, not a second one.
                if part is None or isinstance(item, Leaf):
                    yield item
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _visit(value, (*path, i))


def replace(body: Any, texts: Mapping[Leaf, str]) -> Any:
    """``body`` with each leaf's text replaced; containers off the changed paths are shared."""
    if not texts:
        return body
    values: dict[Path, str] = {}
    keys: dict[Path, str] = {}
    for leaf, new in texts.items():
        if new != leaf.text:
            (keys if leaf.is_key else values)[leaf.path] = new
    if not values and not keys:
        return body
    touched = {p[:i] for p in (*values, *keys) for i in range(len(p))}
    return _rebuild(body, (), values, keys, touched)


def _rebuild(
    node: Any, path: Path, values: dict[Path, str], keys: dict[Path, str], touched: set[Path]
) -> Any:
    if path in values:
        return values[path]
    if path not in touched:
        return node
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            sub = (*path, str(key))
            out[keys.get(sub, str(key))] = _rebuild(value, sub, values, keys, touched)
        return out
    if isinstance(node, list | tuple):
        return [_rebuild(v, (*path, i), values, keys, touched) for i, v in enumerate(node)]
    return node


def render_path(path: Path) -> str:
    """``messages[0].content[1]``: a path as the error's ``param`` names it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
