"""A presidio recognizer for street addresses in the common English formats.

Presidio ships none, and spaCy's NER only tags the city in "221B Baker Street, London". An
address is what makes a place personal (issue: "a city is not personal data"), so the PII
rule's default ``locations: address`` counts a place only as part of one, and this
recognizer is what finds one. It reports ``STREET_ADDRESS`` for:

- a house number, a street name of one to four words and a street type:
  ``1600 Pennsylvania Avenue NW``, ``221B Baker Street``, ``10 Downing St.``, optionally
  with a unit (``Apt 4B``, ``Suite 200``, ``Flat 3``) and a ``, City, ST 12345`` or a UK
  postcode tail;
- a post-office box: ``PO Box 1234``, ``P.O. Box 77``;
- a unit before the number, as the UK and Australia write it: ``Flat 3, 12 High Street``.

Every pattern needs a digit (the house or box number), which keeps the prefilter's
necessary condition for this entity (:mod:`.recognizers`) a plain digit. A number and a
street type alone ("3 Main Streets of the app", "2 ways") are weak, so the scores are: 0.6
with a recognised street type and a capitalised street name, 0.35 (under the default
threshold of 0.4) for a lower-case street name, which context words such as "address",
"deliver" or "live" lift over the threshold.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

ENTITY = "STREET_ADDRESS"

# Street types (USPS Publication 28's common suffixes and their usual abbreviations, plus
# the UK's), longest first so that the alternation prefers "Avenue" to "Ave".
_STREET_TYPES = sorted(
    {
        "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln",
        "drive", "dr", "court", "ct", "place", "pl", "way", "terrace", "ter", "circle", "cir",
        "parkway", "pkwy", "highway", "hwy", "square", "sq", "trail", "trl", "crescent", "cres",
        "close", "gardens", "gdns", "grove", "mews", "row", "walk", "hill", "park", "alley",
        "plaza", "plz", "loop", "pike", "turnpike", "expressway", "expy", "freeway", "fwy",
        "route", "rte",
    },
    key=lambda s: (-len(s), s),
)  # fmt: skip
_TYPE = "(?:" + "|".join(_STREET_TYPES) + r")\.?"
_UNIT = r"(?:,?\s+(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|#)\.?\s*#?\s*[0-9A-Z]{1,5})"
_DIRECTION = r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\b\.?)"
_NUMBER = r"\b\d{1,6}[A-Z]?(?:-\d{1,4})?"
# A street name: one to four words, each starting with a letter or digit ("5th", "Main").
_NAME_CAP = r"(?:[A-Z][\w'.-]*|\d{1,3}(?:st|nd|rd|th))(?:\s+(?:[A-Z][\w'.-]*|of|the|de|la)){0,3}"
_NAME_ANY = r"[A-Za-z][\w'.-]*(?:\s+[A-Za-z][\w'.-]*){0,3}"
# ", Springfield, IL 62704" or ", London NW1 6XE" or ", Boston, MA"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_TAIL = (
    r"(?:,?\s+[A-Z][a-zA-Z.'-]+(?!\w)(?:\s+[A-Z][a-zA-Z.'-]+(?!\w)){0,2}"
    r"(?:,?\s+(?:" + _UK_POSTCODE + r"|[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z]{2}\b))?)?"
)

# PatternRecognizer compiles with IGNORECASE by default; these patterns rely on case
# (capitalised street names), so the recognizer below turns that flag off and the patterns
# spell out both cases where case does not matter.
_CI = "(?i:{})"

PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "street address",
        _NUMBER + r"\s+" + _NAME_CAP + r"\s+" + _CI.format(_TYPE) + r"(?!\w)" + _DIRECTION + "?"
        + _CI.format(_UNIT) + "?" + _TAIL,
        0.6,
    ),
    Pattern(
        "unit, then street address",
        _CI.format(r"\b(?:apt|apartment|suite|unit|flat)\.?\s*[0-9A-Z]{1,5},?\s+")
        + _NUMBER + r"\s+" + _NAME_CAP + r"\s+" + _CI.format(_TYPE) + r"(?!\w)" + _TAIL,
        0.65,
    ),
    Pattern(
        "post office box",
        _CI.format(r"\b(?:p\.?\s?o\.?\s*box|post\s+office\s+box)\s+\d{1,7}\b"),
        0.6,
    ),
    Pattern(
        "street address, lower case",
        _CI.format(_NUMBER + r"\s+" + _NAME_ANY + r"\s+" + _TYPE + r"(?!\w)"),
        0.35,
    ),
)  # fmt: skip

CONTEXT: tuple[str, ...] = (
    "address",
    "addresses",
    "street",
    "live",
    "lives",
    "living",
    "lived",
    "home",
    "house",
    "apartment",
    "deliver",
    "delivery",
    "ship",
    "shipping",
    "send",
    "mail",
    "mailing",
    "residence",
    "resides",
    "located",
    "moved",
    "billing",
)


class StreetAddressRecognizer(PatternRecognizer):
    """``STREET_ADDRESS``: see the module docstring for the formats and scores."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=ENTITY,
            name="StreetAddressRecognizer",
            supported_language=supported_language,
            patterns=list(PATTERNS),
            context=list(CONTEXT),
            global_regex_flags=0,
        )
