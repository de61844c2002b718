"""Which findings count: places with an address, names shaped like people, allow_names."""

from __future__ import annotations

import pytest

from openclaw.policies.pii import Finding, PiiEngine
from openclaw.policies.pii.address import StreetAddressRecognizer
from openclaw.policies.pii.entities import EntityFilter, language_names, not_a_person
from openclaw.policies.sightings import mask, normalise_name


def at(text: str, span: str, entity: str) -> Finding:
    start = text.index(span)
    return Finding(entity, start, start + len(span), 0.85)


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        ("AWS Lambda", "acronym"),
        ("GPT 4", "digit"),
        ("PyTorch", "camel case"),
        ("iPhone", "camel case"),
        ("Next.js", "dotted name"),
        ("Cloud Functions", "product suffix"),
        ("Google Cloud", "product suffix"),
        ("Azure Blob", "vendor"),
        ("Jira", "vendor"),
    ],
)
def test_product_shapes_are_not_people(span: str, reason: str) -> None:
    assert not_a_person(span, f"compare {span} with the rest") == reason


@pytest.mark.parametrize(
    "span",
    [
        "John Smith",
        "JOHN SMITH",
        "Sean McDonald",
        "Ian MacArthur",
        "DeShawn Harris",
        "LeAnn Porter",
        "Conor O'Neil",
        "Jean-Luc Moreau",
        "Alan Turing's",
        "Fiona Apple",
        "Michael Dell",
        "Samantha Power",
    ],
)
def test_people_shapes_are_kept(span: str) -> None:
    assert not_a_person(span, f"{span} asked for a loan") is None


def test_a_one_word_language_name_needs_talk_of_code() -> None:
    single, multi = language_names()
    assert {"Rust", "Julia", "Ruby", "Ada"} <= single and "Common Lisp" in multi
    assert not_a_person("Julia", "Rewrite this function in Julia.") == "language"
    assert not_a_person("Common Lisp", "Port the macro to Common Lisp.") == "language"
    assert not_a_person("Julia", "Julia asked about her loan.") is None
    assert not_a_person("Earl Grey", "Earl Grey reformed the poor law.") is None


def test_places_count_only_with_an_address_or_something_personal() -> None:
    flt = EntityFilter.build()
    trip = "Is there a train from Berlin to Munich?"
    found = [at(trip, "Berlin", "LOCATION"), at(trip, "Munich", "LOCATION")]
    assert flt.keep([trip], [found]) == [[]]
    moved = "Jane Doe moved to Berlin."
    found = [at(moved, "Jane Doe", "PERSON"), at(moved, "Berlin", "LOCATION")]
    assert flt.keep([moved], [found]) == [found]
    ship = "Ship it to 12 High Street, Leeds."
    found = [at(ship, "12 High Street", "STREET_ADDRESS"), at(ship, "Leeds", "LOCATION")]
    assert flt.keep([ship], [found]) == [found]


def test_something_personal_in_another_message_makes_places_count() -> None:
    flt = EntityFilter.build()
    a, b = "My card is 4111 1111 1111 1111.", "Send it to Leeds."
    fa, fb = [at(a, "4111 1111 1111 1111", "CREDIT_CARD")], [at(b, "Leeds", "LOCATION")]
    assert flt.keep([a, b], [fa, fb]) == [fa, fb]


def test_locations_any_and_none() -> None:
    text = "Weather in Paris?"
    found = [at(text, "Paris", "LOCATION")]
    assert EntityFilter.build("any").keep([text], [found]) == [found]
    moved = "Jane Doe moved to Paris."
    both = [at(moved, "Jane Doe", "PERSON"), at(moved, "Paris", "LOCATION")]
    assert EntityFilter.build("none").keep([moved], [both]) == [both[:1]]


def test_allow_names_match_without_case_or_possessive() -> None:
    flt = EntityFilter.build(allow_names=["alan turing", "  ", "Paris"])
    text = "Alan Turing's work, and Paris."
    found = [at(text, "Alan Turing's", "PERSON"), at(text, "Paris", "LOCATION")]
    assert flt.keep([text], [found]) == [[]]
    assert flt.dropped(text, found[0]) == "allow_names"
    assert normalise_name("  Alan   TURING’s ") == "alan turing"


def test_pattern_identifiers_are_never_filtered() -> None:
    flt = EntityFilter.build(allow_names=["jane@example.com"])
    text = "mail jane@example.com"
    found = [at(text, "jane@example.com", "EMAIL_ADDRESS")]
    assert flt.keep([text], [found]) == [found]


def test_masks_show_initials_only() -> None:
    assert mask("Jane Doe's") == "J*** D***"
    assert mask("Paris") == "P***"


# ------------------------------------------------------------------ street addresses


@pytest.fixture(scope="module")
def address_engine() -> PiiEngine:
    return PiiEngine(spacy_model="none", entities=["STREET_ADDRESS"])


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("The White House is at 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
         "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("Please ship it to 221B Baker Street, London NW1 6XE by Friday.",
         "221B Baker Street, London NW1 6XE"),
        ("Send the form to PO Box 1234 today.", "PO Box 1234"),
        ("Deliver to 350 5th Ave, Suite 200, New York, NY 10118",
         "350 5th Ave, Suite 200, New York, NY 10118"),
        ("my address: Flat 3, 12 High Street, Oxford OX1 4AW",
         "Flat 3, 12 High Street, Oxford OX1 4AW"),
        ("I live at 42 elm street now", "42 elm street"),
    ],
)  # fmt: skip
def test_street_addresses_are_found(address_engine: PiiEngine, text: str, address: str) -> None:
    found = [(f.entity_type, text[f.start : f.end]) for f in address_engine.analyze_text(text)]
    assert found == [("STREET_ADDRESS", address)]


@pytest.mark.parametrize(
    "text",
    [
        "We have 3 main ways to do it and 2 roads.",
        "Use 4 spaces, not 2 tabs.",
        "He scored 10 points in the park.",
        "it takes 2 drive cycles",  # lower case, no context word: under the threshold
        "Version 3 of the API ships in 2025.",
    ],
)
def test_numbers_next_to_street_words_are_not_addresses(
    address_engine: PiiEngine, text: str
) -> None:
    assert address_engine.analyze_text(text) == []


def test_a_context_word_lifts_a_lower_case_address() -> None:
    rec = StreetAddressRecognizer()
    assert "address" in rec.context and "deliver" in rec.context
    engine = PiiEngine(spacy_model="none", entities=["STREET_ADDRESS"])
    assert engine.analyze_text("it takes 2 drive cycles") == []
    assert [f.entity_type for f in engine.analyze_text("deliver to 9 oak drive please")] == [
        "STREET_ADDRESS"
    ]
