"""One scan of a request for the PII rules: every outgoing string, the findings that count.

:func:`scan_request` walks the request body (:mod:`.walk`), analyses every leaf with the
shared engine, and keeps the findings that decide routing (:mod:`.entities`). The routing
rule, ``deny`` and ``redact_pii`` all read this one :class:`Scan`, so they cover the same
strings. Skill inputs are scanned too (they are what a skill's prompt is made of), under the
path ``$skill.inputs.<name>``, which :func:`~.walk.replace` never writes into the body.

:func:`unscannable_error` is how the ``unscannable:`` parameter answers a part it cannot
read: a 400 naming the part (``param`` is its path, as in ``messages[0].content[1]``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from openclaw.errors import InvalidRequest
from openclaw.policies.pii.entities import EntityFilter
from openclaw.policies.pii.findings import Finding
from openclaw.policies.pii.walk import Leaf, Opaque, Walk, walk

Unscannable = Literal["local", "refuse", "allow"]
PartKind = Literal["image", "audio", "file", "video", "data"]

#: What each provider type's adapter can carry to a local model, by part kind. Ollama's chat
#: API takes images only (as base64 in ``images``); OpenAI-compatible servers take the
#: OpenAI part types as they are. Whether the *model* can read them is another matter,
#: which only the user knows: the rule's ``local_accepts``.
ADAPTER_CARRIES: Mapping[str, frozenset[str]] = {
    "ollama": frozenset({"image"}),
    "openai": frozenset({"image", "audio", "file", "video", "data"}),
    "mock": frozenset({"image", "audio", "file", "video", "data"}),
}


class Analyzer(Protocol):
    async def analyze_texts(self, texts: list[str]) -> list[list[Finding]]: ...


@dataclass(frozen=True)
class Scan:
    """The leaves of one request, the findings that count in each, and its opaque parts."""

    leaves: tuple[Leaf, ...]
    findings: tuple[tuple[Finding, ...], ...]
    opaque: tuple[Opaque, ...]

    @property
    def hits(self) -> list[tuple[Leaf, tuple[Finding, ...]]]:
        return [(leaf, fs) for leaf, fs in zip(self.leaves, self.findings, strict=True) if fs]

    @property
    def entities(self) -> list[str]:
        return sorted({f.entity_type for fs in self.findings for f in fs})


def request_walk(body: Any, skill: Mapping[str, Any] | None) -> Walk:
    w = walk(body)
    inputs = skill.get("inputs") if skill else None
    if not isinstance(inputs, Mapping):
        return w
    extra = [
        Leaf(("$skill", "inputs", str(k)), str(v)) for k, v in inputs.items() if v not in (None, "")
    ]
    return Walk((*w.leaves, *extra), w.opaque)


async def scan_request(
    engine: Analyzer, body: Any, skill: Mapping[str, Any] | None, entity_filter: EntityFilter
) -> Scan:
    w = request_walk(body, skill)
    texts = w.texts
    raw = await engine.analyze_texts(texts) if texts else []
    kept = entity_filter.keep(texts, raw)
    return Scan(w.leaves, tuple(tuple(fs) for fs in kept), w.opaque)


def unscannable_error(part: Opaque, policy: str, why: str) -> InvalidRequest:
    return InvalidRequest(
        f"the {part.kind} part at {part.where} cannot be scanned for PII and {why} "
        f"(policy '{policy}')",
        param=part.where,
        code="unscannable_content",
    )


def check_local_accepts(
    opaque: Collection[Opaque], accepts: Collection[str], model: str, policy: str
) -> None:
    """Raise a 400 naming the first part the sensitive model is not declared to take."""
    for part in opaque:
        if part.kind not in accepts:
            raise unscannable_error(
                part,
                policy,
                f"the sensitive model '{model}' is not declared to accept {part.kind} parts, "
                f"so it cannot go there either; add '{part.kind}' to the policy's "
                "params.local_accepts if that model reads them, or remove the part",
            )
