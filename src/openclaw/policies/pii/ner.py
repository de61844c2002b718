"""What the spaCy pipeline's entity spans mean as findings.

The pipeline (in this process or a NER worker, :mod:`.pipeline`) returns spans with spaCy's
labels; this module maps them to the entities a rule asks for, the way presidio's
``SpacyRecognizer`` would: ``PERSON`` from ``PERSON``, ``LOCATION`` from ``GPE`` and ``LOC``,
``NRP`` from ``NORP``, ``ORGANIZATION`` from ``ORG`` (:data:`.recognizers.NER_ENTITIES`), each
with presidio's default NER score. Doing it here rather than through presidio's analyzer lets
a worker run spaCy alone (no presidio in its memory, no analyzer per text) while this process
runs the pattern recognizers on the same text at the same time.

One label is read more closely: when ``PERSON`` is asked for, an ``ORG`` span shaped like a
person's name ("Giulia Bianchi asked for a loan", which the small English pipeline calls an
organisation) counts as ``PERSON`` (:func:`.names.person_shaped`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from openclaw.policies.pii.findings import Finding
from openclaw.policies.pii.names import person_shaped
from openclaw.policies.pii.pipeline import EntitySpan
from openclaw.policies.pii.recognizers import NER_ENTITIES

#: presidio's ``NerModelConfiguration.default_score``: spaCy gives no per-entity confidence.
NER_SCORE = 0.85

_ENTITY_OF_LABEL: dict[str, str] = {
    label: entity for entity, labels in NER_ENTITIES.items() for label in labels
}


def ner_findings(
    text: str, spans: Iterable[EntitySpan], entities: Collection[str], score_threshold: float
) -> list[Finding]:
    """The spans of ``text`` whose label maps to one of ``entities``, as findings."""
    if score_threshold > NER_SCORE:
        return []
    persons = "PERSON" in entities
    out: list[Finding] = []
    for label, start, end in spans:
        entity = _ENTITY_OF_LABEL.get(label)
        if persons and label == "ORG" and person_shaped(text[start:end]):
            entity = "PERSON"
        if entity is not None and entity in entities:
            out.append(Finding(entity, start, end, NER_SCORE))
    return out


def shifted_spans(
    parts: Sequence[tuple[int, int]], found: Sequence[Sequence[EntitySpan]]
) -> list[EntitySpan]:
    """Spans found in each part of a text, as positions in the text."""
    return [
        (label, start + a, end + a)
        for (a, _), spans in zip(parts, found, strict=True)
        for label, start, end in spans
    ]
