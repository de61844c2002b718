"""The NER gate against the real pipeline: it never lets a text with a name skip NER.

The corpus (``corpus/ner_gate_cases.py``) is labelled by a human reader; what the gate is
judged by is the pipeline itself: every text in which full NER finds a person or a place
must be sent to NER. The share of clean texts the gate lets skip NER is printed (run with
``-s``) and held above a floor, so a change that makes the gate useless fails too.
"""

from __future__ import annotations

import gzip
from collections import Counter

import pytest

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.gate import (
    HOMOGRAPH_PROBES,
    SENTENCE_STARTERS,
    TECH_ACRONYMS,
    NerGate,
    build_word_list,
    load_word_list,
)
from openclaw.policies.pii.pipeline import shared_pipeline
from policies.corpus.ner_gate_cases import CASES
from policies.pii_corpus import pattern_cases, private_persons, public_prompts

NER_TYPES = ("PERSON", "LOCATION")


@pytest.fixture(scope="module")
def gate() -> NerGate:
    return NerGate()


@pytest.fixture(scope="module")
def ungated(spacy_package: str) -> PiiEngine:
    return PiiEngine(spacy_model=spacy_package, ner_gate=False, cache_size=0)


def test_corpus_has_every_kind_of_case() -> None:
    assert len(CASES) >= 300
    kinds = Counter(cat for cat, _t, _n in CASES)
    for cat in (
        "sentence-start",
        "lowercase-name",
        "common-word-name",
        "non-english-name",
        "address",
        "place",
        "title",
        "tech-clean",
    ):
        assert kinds[cat] >= 15, cat
    assert sum(not named for _c, _t, named in CASES) >= 100


def test_gate_never_skips_a_text_in_which_ner_finds_a_name(
    gate: NerGate, ungated: PiiEngine
) -> None:
    missed = []
    for cat, text, _named in CASES:
        names = [
            text[f.start : f.end] for f in ungated.analyze_text(text) if f.entity_type in NER_TYPES
        ]
        if names and not gate.needs_ner(text):
            missed.append((cat, text, names))
    assert missed == []


def test_gate_lets_most_clean_prose_skip_ner(gate: NerGate) -> None:
    skipped: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for cat, text, named in CASES:
        if not named:
            total[cat] += 1
            skipped[cat] += not gate.needs_ner(text)
    share = sum(skipped.values()) / sum(total.values())
    by_kind = ", ".join(f"{c} {skipped[c]}/{total[c]}" for c in sorted(total))
    print(f"\nNER gate: {share:.0%} of clean texts skip NER ({by_kind})")
    assert share >= 0.5
    assert skipped["prose-clean"] / total["prose-clean"] >= 0.9
    assert skipped["chat-clean"] / total["chat-clean"] >= 0.9


def test_gated_engine_finds_what_the_ungated_one_finds(
    spacy_package: str, ungated: PiiEngine
) -> None:
    gated = PiiEngine(spacy_model=spacy_package, cache_size=0)
    for _cat, text, _named in CASES:
        assert gated.analyze_text(text) == ungated.analyze_text(text), text
    assert gated.ner_skipped > 0


def test_sentence_starters_are_never_names_at_a_sentence_start(
    spacy_package: str, gate: NerGate
) -> None:
    nlp = shared_pipeline(spacy_package).nlp
    contexts = (
        "{w} the CSV export to YAML so the loader can read it.",
        "{w} the meeting notes below in 3 short bullet points.",
        "Done. {w} it before the release on Friday.",
        "{w} a short reply to the customer.",
        "{w}: the build is green.",
        "{w} the API keys and the JSON config.",
        "{w} me know if anything is unclear.",
        "{w} this paragraph for the team channel.",
    )
    words = sorted(gate.title_safe)
    texts = [(w, c.format(w=w.capitalize())) for w in words for c in contexts]
    tagged = {
        w
        for (w, _t), doc in zip(texts, nlp.pipe(t for _w, t in texts), strict=True)
        for ent in doc.ents
        if ent.label_ in ("PERSON", "GPE", "LOC", "FAC", "NORP")
        and any(tok.lower_ == w for tok in ent)
    }
    assert tagged == set()
    assert "draft" not in SENTENCE_STARTERS and "convert" not in SENTENCE_STARTERS


@pytest.mark.parametrize(
    "text",
    [
        "ask john about it",  # a lower-case first name
        "i met maria garcia",  # a name the dictionary does not have
        "tell mark smith",  # a homograph next to a surname
        "Will you review it?",  # a stop word that is also a name, capitalised
        "The team in Zürich",  # a letter outside ASCII
        "see the US office",  # a country code is not a technical acronym
        "we use Kubernetes",  # a capitalised word inside a sentence
        "call min(2, x)",  # code punctuation inside a word
        "Draft the reply.",  # a sentence starter the pipeline took for a name
    ],
)
def test_texts_that_need_ner(gate: NerGate, text: str) -> None:
    assert gate.needs_ner(text)


@pytest.mark.parametrize(
    "text",
    [
        "Please summarize the notes in 3 bullet points.",
        "We don't deploy on the weekend.",
        "- fix the build\n- update the changelog",
        "Check the CPU and GPU usage of the API.",
        "the p50 went from 40 ms to 12 ms on v3",
        "It was a quiet week.",
    ],
)
def test_texts_that_skip_ner(gate: NerGate, text: str) -> None:
    assert not gate.needs_ner(text)


def test_no_place_code_is_a_technical_acronym() -> None:
    assert not {"US", "UK", "EU", "NYC", "LA", "SF", "DE", "FR"} & TECH_ACRONYMS


def test_word_list_drops_homographs_the_pipeline_tags(spacy_package: str) -> None:
    nlp = shared_pipeline(spacy_package).nlp
    dictionary = ["table", "john", "John", "grace", "Grace", "Paris", "deploy", "a", "IT", "it"]
    lines = gzip.decompress(build_word_list(dictionary, nlp)).decode().split()
    assert "table" in lines and "deploy" in lines and "it" in lines  # "IT" is no name
    assert "john" not in lines and "john*" not in lines  # the pipeline tags "i met john"
    assert "paris" not in lines and "a" not in lines
    probes = [p.format(w="grace") for p in HOMOGRAPH_PROBES]
    grace_tagged = any(
        tok.lower_ == "grace"
        for doc in nlp.pipe(probes)
        for ent in doc.ents
        if ent.label_ in ("PERSON", "GPE", "LOC", "FAC", "NORP")
        for tok in ent
    )
    assert ("grace*" in lines) != grace_tagged


def test_shipped_word_list_loads() -> None:
    only_lower, also_capital = load_word_list()
    assert len(only_lower) > 50_000
    assert "deploy" in only_lower and "mark" not in only_lower
    assert not only_lower & also_capital


def test_ner_windows_hold_each_candidate_word_with_its_neighbours(gate: NerGate) -> None:
    words = [f"w{i}" for i in range(40)]
    words[5], words[30] = "Giulia", "Bianchi"
    text = " ".join(words)
    (first, second) = gate.ner_windows(text, margin=3)
    assert text[first[0] : first[1]] == "w2 w3 w4 Giulia w6 w7 w8"
    assert text[second[0] : second[1]] == "w27 w28 w29 Bianchi w31 w32 w33"
    # Windows that touch merge; a text with nothing to read has none.
    assert len(gate.ner_windows(text, margin=12)) == 1
    assert gate.ner_windows("please send the notes below to the team") == []


def test_windowed_ner_finds_what_whole_text_ner_finds_on_every_corpus(
    spacy_package: str, ungated: PiiEngine
) -> None:
    """The gated engine reads only the windows; its findings match reading everything, on
    the gate corpus, the precision corpus, the private-person corpus and the patterns."""
    gated = PiiEngine(spacy_model=spacy_package, cache_size=0)
    texts = [p for _, p in public_prompts()] + [p for _, p in private_persons()]
    texts += [p for _, _, p in pattern_cases()]
    # Names far apart in one text: each public prompt between clean paragraphs.
    clean = [t for cat, t, named in CASES if not named and cat.startswith("prose")]
    long_text = " ".join(
        f"{clean[2 * i % len(clean)]} {p} {clean[(2 * i + 1) % len(clean)]}"
        for i, (_, p) in enumerate(public_prompts()[:20])
    )
    for text in [*texts, long_text]:
        assert gated.analyze_text(text) == ungated.analyze_text(text), text
    windows = NerGate().ner_windows(long_text)
    assert sum(b - a for a, b in windows) < 0.8 * len(long_text)  # really read in windows
