"""ORG spans shaped like a person's name count as PERSON (``policies/pii/names.py``).

The function is pure, so most of this needs no pipeline. The last tests run the spaCy
engine on the three private persons that ``en_core_web_sm`` tags as ORG.
"""

from __future__ import annotations

import importlib
import pkgutil

import faker.providers.person
import pytest

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.entities import EntityFilter
from openclaw.policies.pii.names import (
    ORG_WORDS,
    given_names,
    listed_companies,
    person_shaped,
)
from policies.pii_corpus import finds_name, private_persons

# The names-recall corpus's persons that en_core_web_sm 3.8.0 tags ORG, not PERSON.
ORG_TAGGED = ("Giulia Bianchi", "Emma Davies", "Noah Fischer")


@pytest.mark.parametrize(
    "span",
    [
        # the three the small pipeline tags ORG in the names-recall corpus
        "Giulia Bianchi",
        "Emma Davies's",
        "Noah Fischer’s",
        # given names from many locales, and the shapes of real names
        "Agnieszka Nowak",
        "Krzysztof Wójcik",
        "Jürgen Schäfer",
        "Françoise Lefèvre",
        "Joaquín Ortega",
        "Siddharth Iyer",
        "Priya Raman",
        "Wei Zhang",
        "Hiroshi Tanaka",
        "Chinedu Okeke",
        "Mehmet Yılmaz",
        "Jean-Luc Moreau",
        "Mary-Jane Kelly",
        "Conor O'Neil",
        "Sean McDonald",
        "Mohammed Al-Farsi",
        "Ludwig van Beethoven",
        "John F. Kennedy",
        "Anna Maria Rossi",
    ],
)
def test_names_are_person_shaped(span: str) -> None:
    assert person_shaped(span), span


@pytest.mark.parametrize(
    "span",
    [
        # listed companies named after people
        "Morgan Stanley",
        "Wells Fargo",
        "Charles Schwab",
        "Ralph Lauren",
        "Philip Morris",
        "Thomson Reuters",
        "Goldman Sachs",
        # "&", a possessive inside, an organisation word
        "Ben & Jerry's",
        "Johnson & Johnson",
        "Marks & Spencer",
        "Victoria's Secret",
        "Charles River Laboratories",
        "Walt Disney World",
        "Delta Air Lines",
        "Emma Holdings",
        # one word, four words, lower case, all capitals, digits, no given name first
        "Giulia",
        "Giulia Anna Maria Bianchi",
        "giulia bianchi",
        "Giulia bianchi",
        "GIULIA BIANCHI",
        "IBM Watson",
        "Emma 2",
        "Compare Apple",
        "Harley-Davidson",
        "Rolls-Royce",
        "",
    ],
)
def test_companies_and_other_shapes_are_not(span: str) -> None:
    assert not person_shaped(span), span


def test_given_names_cover_many_locales_in_latin_script() -> None:
    names = given_names()
    assert len(names) > 10_000
    for name in ("Giulia", "Jürgen", "Urszula", "Siddharth", "Guiying", "Yuki", "Ngozi"):
        assert name in names, name
    assert all(n[0].isupper() for n in names)
    assert "Александр" not in names and "Giulia Bianchi" not in names


def test_listed_companies_are_matched_without_legal_suffix() -> None:
    companies = listed_companies()
    assert "charles schwab" in companies  # listed as "Charles Schwab Corporation"
    assert "walt disney" in companies  # listed as "The Walt Disney Company"
    assert "giulia bianchi" not in companies


def test_no_org_word_is_a_surname() -> None:
    # A word in ORG_WORDS makes "Emma <word>" an organisation, so none may be a surname
    # that a private person could carry: checked against every locale's surnames in Faker.
    surnames: set[str] = set()
    package = faker.providers.person
    for module in pkgutil.iter_modules(package.__path__):
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider
        for attr, value in vars(provider).items():
            if attr.startswith("last_name") and isinstance(value, (tuple, list, dict)):
                surnames.update(n for n in value if isinstance(n, str))
    assert len(surnames) > 10_000
    assert not ORG_WORDS & surnames


def test_the_three_org_tagged_people_now_reroute(spacy_engine: PiiEngine) -> None:
    flt = EntityFilter.build()
    three = [(n, p) for n, p in private_persons() if n in ORG_TAGGED]
    assert len(three) == 3
    for name, prompt in three:
        found = flt.keep([prompt], [spacy_engine.analyze_text(prompt)])[0]
        assert finds_name(found, prompt, name), (name, found)


def test_orgs_not_shaped_like_names_stay_unreported(spacy_engine: PiiEngine) -> None:
    text = "What fees does Morgan Stanley charge, and how does IBM compare?"
    assert spacy_engine.analyze_text(text) == []


def test_organizations_are_still_reported_when_asked_for(spacy_package: str) -> None:
    engine = PiiEngine(entities=["PERSON", "ORGANIZATION"], spacy_model=spacy_package)
    text = "Giulia Bianchi asked Morgan Stanley for a loan."
    kinds = {(f.entity_type, text[f.start : f.end]) for f in engine.analyze_text(text)}
    assert ("PERSON", "Giulia Bianchi") in kinds
    assert ("ORGANIZATION", "Morgan Stanley") in kinds
