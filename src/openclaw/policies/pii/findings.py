"""What the PII engine reports, and how reported spans are cut out of a text.

A :class:`Finding` is one detected span in the text that was analysed. Recognizers can report
overlapping spans (a nine-digit number may be both a passport and a bank number), so every
function that rewrites text first merges overlapping spans into one, labelled with the
entity type of its strongest finding. Rewriting never leaves a fragment of a value behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from openclaw.errors import OpenClawError

log = logging.getLogger("openclaw.policies.pii")


@dataclass(frozen=True)
class Finding:
    """One detected entity: ``text[start:end]`` of the analysed text is an ``entity_type``."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Span:
    """A merged run of overlapping findings, labelled by the strongest of them."""

    start: int
    end: int
    entity_type: str


def sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings in text order (start, end, entity type)."""
    return tuple(sorted(findings, key=lambda f: (f.start, f.end, f.entity_type)))


def shifted(findings: Iterable[Finding], offset: int) -> list[Finding]:
    """Findings of a piece that starts at ``offset`` of a text, as positions in the text."""
    if offset == 0:
        return list(findings)
    return [Finding(f.entity_type, f.start + offset, f.end + offset, f.score) for f in findings]


def merge_spans(findings: Iterable[Finding], text_length: int) -> list[Span]:
    """Merge overlapping findings into disjoint spans, in text order.

    Two findings overlap when they share at least one character; touching spans stay apart.
    The label of a merged span is the entity type of its highest-scoring finding, the longer
    one winning a tie, so a card number that is also a weak bank number reads as a card.
    Empty spans are dropped. A span outside the text is a caller bug and raises ``ValueError``.
    """
    ordered = sorted(
        (f for f in findings if f.end > f.start),
        key=lambda f: (f.start, -f.end),
    )
    spans: list[Span] = []
    best: Finding | None = None
    start = end = 0
    for f in ordered:
        if f.start < 0 or f.end > text_length:
            raise ValueError(
                f"finding {f.entity_type} [{f.start}:{f.end}] lies outside a text of "
                f"{text_length} characters"
            )
        if best is not None and f.start < end:
            end = max(end, f.end)
            if _stronger(f, best):
                best = f
            continue
        if best is not None:
            spans.append(Span(start, end, best.entity_type))
        best, start, end = f, f.start, f.end
    if best is not None:
        spans.append(Span(start, end, best.entity_type))
    return spans


def _stronger(a: Finding, b: Finding) -> bool:
    return (a.score, a.end - a.start) > (b.score, b.end - b.start)


def redact(text: str, findings: Iterable[Finding]) -> str:
    """Replace every (merged) finding by ``<ENTITY_TYPE>``; the values are gone for good."""
    out: list[str] = []
    pos = 0
    for span in merge_spans(findings, len(text)):
        out.append(text[pos : span.start])
        out.append(f"<{span.entity_type}>")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def analysis_failed(exc: Exception, library: str) -> OpenClawError:
    """The engine error for ``library`` (presidio, spaCy) raising, logged. Names the
    exception's type only: a library's message can quote the text, and ours must not carry
    PII."""
    log.error("PII analysis failed in %s: %s", library, type(exc).__name__)
    return OpenClawError(
        f"PII analysis failed ({type(exc).__name__} in {library})", code="pii_analysis_failed"
    )
