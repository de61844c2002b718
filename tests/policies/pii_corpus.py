"""The PII corpora in ``corpus/`` and the figures measured on them.

- ``public_entities.txt``: the precision corpus, prompts that name public places, companies,
  products and famous people and hold no personal data (grouped by ``## kind``);
- ``private_persons.tsv``: the names-recall corpus, a private person next to a personal
  matter, with the name as written;
- ``patterns.tsv``: pattern identifiers (e-mail, card, SSN, IBAN, phone, address, ...).

:func:`measure` computes the figures that ``docs/pii.md`` reports and the tests hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openclaw.policies.pii import Finding, PiiEngine
from openclaw.policies.pii.entities import EntityFilter

CORPUS = Path(__file__).parent / "corpus"


def public_prompts() -> list[tuple[str, str]]:
    """(kind, prompt) for every prompt of the precision corpus."""
    out: list[tuple[str, str]] = []
    kind = ""
    for line in (CORPUS / "public_entities.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            kind = line[3:].strip()
        elif line.strip() and not line.startswith("#"):
            out.append((kind, line.strip()))
    return out


def _tsv(name: str) -> list[list[str]]:
    rows = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def private_persons() -> list[tuple[str, str]]:
    """(name as written, prompt) for every case of the names-recall corpus."""
    return [(r[0], r[1]) for r in _tsv("private_persons.tsv")]


def pattern_cases() -> list[tuple[str, str, str]]:
    """(entity, value, prompt) for every case of the pattern-recall corpus."""
    return [(r[0], r[1], r[2]) for r in _tsv("patterns.tsv")]


def counted(engine: PiiEngine, flt: EntityFilter | None, prompt: str) -> list[Finding]:
    """The findings that decide routing for a one-message request holding ``prompt``."""
    found = engine.analyze_text(prompt)
    return found if flt is None else flt.keep([prompt], [found])[0]


def finds_name(findings: list[Finding], prompt: str, name: str) -> bool:
    at = prompt.find(name)
    end = at + len(name)
    return at >= 0 and any(
        f.entity_type == "PERSON" and f.start < end and at < f.end for f in findings
    )


@dataclass(frozen=True)
class Figures:
    public_rate: float  # share of public-entity prompts rerouted
    place_rate: float  # share of location-only prompts rerouted
    private_rate: float  # share of private-person prompts rerouted
    names_recall: float  # share of private persons' names found as PERSON
    pattern_recall: float  # share of pattern values found as their entity
    rerouted_public: tuple[str, ...]
    missed_names: tuple[str, ...]


def measure(engine: PiiEngine, flt: EntityFilter | None) -> Figures:
    public = public_prompts()
    rerouted = [p for _k, p in public if counted(engine, flt, p)]
    places = [p for k, p in public if k == "place"]
    rerouted_places = [p for p in places if p in rerouted]
    private = private_persons()
    private_hits = [p for _n, p in private if counted(engine, flt, p)]
    missed = [n for n, p in private if not finds_name(counted(engine, flt, p), p, n)]
    cases = pattern_cases()
    pattern_hits = 0
    for entity, value, prompt in cases:
        at = prompt.find(value)
        fs = counted(engine, flt, prompt)
        if any(f.entity_type == entity and f.start < at + len(value) and at < f.end for f in fs):
            pattern_hits += 1
    return Figures(
        public_rate=len(rerouted) / len(public),
        place_rate=len(rerouted_places) / len(places),
        private_rate=len(private_hits) / len(private),
        names_recall=1 - len(missed) / len(private),
        pattern_recall=pattern_hits / len(cases),
        rerouted_public=tuple(rerouted),
        missed_names=tuple(missed),
    )
