"""Spans the NER calls an organisation that are shaped like a person's name.

The small English pipeline tags some plain personal names as ORG ("Giulia Bianchi asked
for a loan", "Emma Davies's salary"), and an ORG never reroutes by default, so those
private persons went remote. :func:`person_shaped` says when an ORG span should count as
PERSON instead:

- two or three capitalised words, optionally with a lower-case particle or an initial
  between them ("Ludwig van Beethoven", "John F. Kennedy"); each word is letters with
  apostrophes or hyphens ("O'Neil", "Jean-Luc") and is not all capitals ("IBM Watson");
- the first word is a known given name (:func:`given_names`), or its first hyphenated part
  is ("Mary-Jane");
- no word says organisation ("Charles River Laboratories", "Walt Disney World"; see
  :data:`ORG_WORDS`);
- the span is not the name of a listed company (:func:`listed_companies`): "Morgan Stanley"
  and "Wells Fargo" have the shape of a name and are not people.

A span with "&", a digit, or a possessive inside ("Victoria's Secret") is not a name.
Once relabelled, a span goes through the PERSON shape filters of :mod:`.entities` like any
other, so "Oracle Cloud" would still be dropped there as a product.

Where the data comes from (both MIT, both maintained, both shipped in the wheel, no
download at run time):

- given names: the person providers of Faker, one list per locale for some 80 locales
  (Italian, German, Spanish, French, Polish, Turkish, Nigerian, Kenyan, Indian English,
  romanised Chinese and Japanese, ...), about 20,000 names in Latin script. Names in other
  scripts are left out: such a span never has the capitalised shape anyway.
- listed companies: pytickersymbols' constituents of some twenty stock indices (S&P 500,
  NASDAQ 100, DAX, FTSE 100, CAC 40, Nikkei 225, ...), about 1,800 names, each also without
  its legal suffix ("Charles Schwab Corporation" -> "Charles Schwab").

Both are loaded once per process, on first use (about 0.5 s together).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

from openclaw.policies.sightings import clean_span

# Words that make a multi-word span an organisation, not a person. None is a surname in
# Faker's data (so no Church, Hall, Park, King, Mills, Brands); the tests check that.
ORG_WORDS = frozenset(
    {
        "Academy", "Agency", "Air", "Airlines", "Airways", "Associates", "Association",
        "Automotive", "Bancorp", "Bank", "Capital", "Chemicals", "Clinic", "Club",
        "College", "Communications", "Corp", "Corporation", "Council",
        "Department", "Electric", "Energy", "Entertainment", "Films", "Financial", "Foods",
        "Foundation", "Fund", "Group", "Healthcare", "Holding", "Holdings", "Hospital",
        "Hotels", "Inc", "Incorporated", "Industries", "Institute", "Insurance",
        "Investments", "Laboratories", "Labs", "Limited", "Lines", "Logistics", "Ltd",
        "Media", "Ministry", "Mobile", "Motors", "Networks", "Partners", "Pharma", "Pharmaceuticals",
        "Pictures", "Productions", "Publishing", "Railway", "Railways", "Records", "Resorts",
        "Restaurants", "School", "Securities", "Society", "Software", "Solutions",
        "Stores", "Studios", "Systems", "Technologies", "Telecom", "University", "Ventures",
        "World",
    }
)  # fmt: skip

# Legal suffixes dropped from listed companies' names, so that the name as people say it
# matches too ("The Walt Disney Company" -> "Walt Disney").
_LEGAL_SUFFIXES = frozenset(
    {
        "ag", "co", "co.", "company", "corp", "corp.", "corporation", "group", "holding",
        "holdings", "inc", "inc.", "incorporated", "international", "limited", "llc", "ltd",
        "ltd.", "n.v.", "nv", "plc", "s.a.", "sa", "se", "& co", "& co.",
    }
)  # fmt: skip

# A capitalised word: letters, joined by apostrophes or hyphens ("O'Neil", "Al-Farsi").
_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "da", "di", "del", "della", "dos", "du", "la", "le",
     "bin", "ibn", "al", "el", "ter", "ten", "zu"}
)  # fmt: skip
_INITIAL = re.compile(r"^[A-Z]\.$")
# Latin script up to the IPA block: names in other scripts never have the shape looked for.
_LATIN_MAX = 0x24F


def _latin_name(name: str) -> bool:
    return (
        bool(_WORD.match(name))
        and name[0].isupper()
        and all(ord(c) <= _LATIN_MAX or c == "’" for c in name)
    )


def _faker_first_names() -> Iterator[str]:
    """Every given name in Faker's person providers, for every locale it ships."""
    # Imported here: Faker's and pytickersymbols' data cost about 10 MB, which a pattern-only
    # gateway (no NER, so no ORG spans to read) should not pay.
    import faker.providers.person

    package = faker.providers.person
    for module in pkgutil.iter_modules(package.__path__):
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider
        for attr, value in vars(provider).items():
            # first_names, first_names_female, first_romanized_names_male, ...; not the
            # kana readings or the (kanji, kana) pairs of ja_JP.
            if not attr.startswith("first_") or "kana" in attr or "pairs" in attr:
                continue
            if isinstance(value, (tuple, list, dict, set, frozenset)):
                yield from (n for n in value if isinstance(n, str))


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Given names in Latin script from Faker's person providers, NFC-normalised."""
    names = (unicodedata.normalize("NFC", n.strip()) for n in _faker_first_names())
    return frozenset(n for n in names if _latin_name(n))


def _company_names() -> Iterator[str]:
    from pytickersymbols.indices_data import INDICES  # about 6 MB; see _faker_first_names

    for index in INDICES.values():
        for company in index.get("companies", ()):
            name = company.get("name")
            if isinstance(name, str) and name.strip():
                yield name


def _without_legal_suffix(name: str) -> str:
    words = name.replace(",", " ").split()
    if words and words[0].casefold() == "the":
        words = words[1:]
    while len(words) > 1 and words[-1].casefold() in _LEGAL_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


@lru_cache(maxsize=1)
def listed_companies() -> frozenset[str]:
    """Case-folded names of listed companies, as listed and without their legal suffix."""
    out: set[str] = set()
    for name in _company_names():
        for form in (name, _without_legal_suffix(name)):
            out.add(" ".join(unicodedata.normalize("NFC", form).casefold().split()))
    return frozenset(out)


def _name_words(tokens: Iterable[str]) -> list[str] | None:
    """The capitalised words of a name-shaped span, or None if the span has another shape."""
    tokens = list(tokens)
    words: list[str] = []
    for i, t in enumerate(tokens):
        inner = 0 < i < len(tokens) - 1
        if inner and (t in _PARTICLES or _INITIAL.match(t)):
            continue
        if not (_WORD.match(t) and t[0].isupper()) or (len(t) > 1 and t.isupper()):
            return None
        words.append(t)
    return words


def person_shaped(span_text: str) -> bool:
    """Whether an ORG span has the shape of a person's name (see the module docstring)."""
    span = unicodedata.normalize("NFC", clean_span(span_text))
    words = _name_words(span.split())
    if words is None or not 2 <= len(words) <= 3:
        return False
    first = words[0]
    names = given_names()
    if first not in names and first.split("-")[0] not in names:
        return False
    if any(w in ORG_WORDS for w in words):
        return False
    return " ".join(span.casefold().split()) not in listed_companies()
