"""Which presidio recognizers the engine runs, and the prefilter that may skip them.

Every entity the engine accepts maps to one presidio recognizer that works offline. The table
is explicit rather than presidio's ``load_predefined_recognizers()`` because that also loads
recognizers we never want at run time (remote services, transformer NER, ``URL`` and
``DATE_TIME`` on every request) and because the prefilter below must know, per entity, what
any match of that recognizer necessarily contains.

Four recognizers are adjusted and one is added:

- ``EMAIL_ADDRESS``: presidio validates the domain with ``tldextract.extract``, whose default
  extractor fetches the Public Suffix List from the internet on first use (and caches it under
  ``~/.cache``). Ours validates against the snapshot bundled with tldextract, with no fetch and
  no disk cache, so a result never depends on the network or on what a previous run cached.
- ``IP_ADDRESS``: presidio's IPv6 pattern accepts any ``ipaddress``-valid text, so the Python
  slices ``xs[::2]`` and ``xs[1::3]`` are IPv6 addresses to it. Ours also requires an IPv6
  address to show at least three groups ("2001:db8::1"), which drops the slices together with
  "::1" and "fe80::1": loopback and link-local addresses identify nobody.
- ``PHONE_NUMBER``: :class:`~openclaw.policies.pii.phone.WindowedPhoneRecognizer`, presidio's
  recognizer run only on the parts of the text that can hold a number; same results.
- ``STREET_ADDRESS`` is ours (:mod:`.address`): presidio has no street-address recognizer,
  and an address is what makes a place personal (the PII rule's ``locations: address``).
- ``PERSON``/``LOCATION``/``NRP``/``ORGANIZATION`` come from presidio's ``SpacyRecognizer``,
  which reads entities the spaCy pipeline already found; it is built only in spaCy mode.

The prefilter is a necessary condition, never a heuristic: for each entity it is a regular
expression that every match of that recognizer contains (a digit, an ``@``, a hex digit next
to a colon). If no active entity's condition holds, presidio cannot return anything, so
skipping it cannot change a result. An entity without a known condition (``URL``, ``DATE_TIME``,
NER entities) turns the prefilter off; ``tests/policies/test_pii_prefilter.py`` checks the
conditions against presidio on generated text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Sequence
from functools import cache

import tldextract
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    AbaRoutingRecognizer,
    CreditCardRecognizer,
    CryptoRecognizer,
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    MedicalLicenseRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsItinRecognizer,
    UsLicenseRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
    UuidRecognizer,
)

from openclaw.errors import ConfigError
from openclaw.policies.pii.address import StreetAddressRecognizer
from openclaw.policies.pii.phone import WindowedPhoneRecognizer

# The default set: identifiers that are personal on their own and that presidio finds in
# ordinary prose without flagging the prose itself. Left out on purpose, though supported:
#   DATE_TIME    every "yesterday", "Q3" or "2024" in a prompt is a date; the date alone is
#                rarely personal, and flagging it would reroute most traffic.
#   NRP          nationality, religion, politics: spaCy tags every "English" or "American" as
#                NORP, and the word alone identifies nobody.
#   ORGANIZATION company and product names are the subject of most work prompts.
#   URL          links to docs and repositories are everywhere and are not personal.
#   US_DRIVER_LICENSE  its pattern matches any letter+digits token ("A100", "H100", "B12"),
#                and its context words include "lic", which as a substring is in "public".
#   UUID, MAC_ADDRESS  machine identifiers that fill logs and code far more than they name
#                a person.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "CRYPTO",
    "IP_ADDRESS",
    "US_SSN",
    "US_ITIN",
    "US_BANK_NUMBER",
    "US_PASSPORT",
    "STREET_ADDRESS",
)

#: Entities only a spaCy NER pipeline finds. Presidio's labels for spaCy's own.
NER_ENTITIES: dict[str, tuple[str, ...]] = {
    "PERSON": ("PERSON",),
    "LOCATION": ("GPE", "LOC"),
    "NRP": ("NORP",),
    "ORGANIZATION": ("ORG",),
}

# One offline extractor for the whole process: the snapshot is parsed once (~30 ms, a few MB).
_OFFLINE_TLDS = tldextract.TLDExtract(
    cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating domains against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLDS(pattern_text).fqdn != ""


class IpAddressRecognizer(IpRecognizer):
    """Presidio's IP recognizer without IPv6 addresses of fewer than three groups."""

    def invalidate_result(self, pattern_text: str) -> bool:
        if super().invalidate_result(pattern_text):
            return True
        if ":" in pattern_text and "." not in pattern_text:
            address = pattern_text.split("/", 1)[0].split("%", 1)[0]
            return sum(1 for group in address.split(":") if group) < 3
        return False


_PATTERN_RECOGNIZERS: dict[str, Callable[..., EntityRecognizer]] = {
    "EMAIL_ADDRESS": OfflineEmailRecognizer,
    "PHONE_NUMBER": WindowedPhoneRecognizer,
    "CREDIT_CARD": CreditCardRecognizer,
    "IBAN_CODE": IbanRecognizer,
    "CRYPTO": CryptoRecognizer,
    "IP_ADDRESS": IpAddressRecognizer,
    "US_SSN": UsSsnRecognizer,
    "US_ITIN": UsItinRecognizer,
    "US_BANK_NUMBER": UsBankRecognizer,
    "US_PASSPORT": UsPassportRecognizer,
    "US_DRIVER_LICENSE": UsLicenseRecognizer,
    "ABA_ROUTING_NUMBER": AbaRoutingRecognizer,
    "MEDICAL_LICENSE": MedicalLicenseRecognizer,
    "UK_NHS": NhsRecognizer,
    "UK_NINO": UkNinoRecognizer,
    "MAC_ADDRESS": MacAddressRecognizer,
    "UUID": UuidRecognizer,
    "URL": UrlRecognizer,
    "DATE_TIME": DateRecognizer,
    "STREET_ADDRESS": StreetAddressRecognizer,
}

SUPPORTED_ENTITIES: frozenset[str] = frozenset(_PATTERN_RECOGNIZERS) | frozenset(NER_ENTITIES)

# What every match of each recognizer contains: characters of which one must occur, plus
# alternatives. ``\d`` is Unicode-aware here as in presidio's ``regex`` patterns and in
# python-phonenumbers, so full-width and other decimal digits count. IP_ADDRESS: IPv4 needs
# digits, and an IPv6 match has "::" or a hex digit, a colon and a hex digit or colon
# ("dead:beef:..." has no decimal digit). CRYPTO addresses start with "1", "3" or "bc1".
_DIGIT = (r"\d", "")
_NECESSARY: dict[str, tuple[str, str]] = {
    "EMAIL_ADDRESS": ("@", ""),
    "PHONE_NUMBER": _DIGIT,
    "CREDIT_CARD": _DIGIT,
    "IBAN_CODE": _DIGIT,
    "CRYPTO": ("13", ""),
    "IP_ADDRESS": (r"\d", r"::|[0-9a-f]:[0-9a-f:]"),
    "US_SSN": _DIGIT,
    "US_ITIN": _DIGIT,
    "US_BANK_NUMBER": _DIGIT,
    "US_PASSPORT": _DIGIT,
    "US_DRIVER_LICENSE": _DIGIT,
    "ABA_ROUTING_NUMBER": _DIGIT,
    "MEDICAL_LICENSE": _DIGIT,
    "UK_NHS": _DIGIT,
    "UK_NINO": _DIGIT,
    "STREET_ADDRESS": _DIGIT,  # a house or box number
}


def pattern_recognizers(
    entities: Collection[str], language: str, *, windowed_phone: bool = True
) -> list[EntityRecognizer]:
    """One presidio recognizer for each requested entity that a pattern can find.

    ``windowed_phone=False`` uses presidio's own phone recognizer, for comparisons.
    """
    table = dict(_PATTERN_RECOGNIZERS)
    if not windowed_phone:
        table["PHONE_NUMBER"] = PhoneRecognizer
    return [
        factory(supported_language=language)
        for entity, factory in table.items()
        if entity in entities
    ]


def ner_recognizer(entities: Collection[str], language: str) -> SpacyRecognizer | None:
    """Presidio's spaCy recognizer limited to the requested NER entities, if any."""
    wanted = [e for e in NER_ENTITIES if e in entities]
    if not wanted:
        return None
    return SpacyRecognizer(supported_language=language, supported_entities=wanted)


def ner_entities(entities: Collection[str]) -> list[str]:
    return [e for e in NER_ENTITIES if e in entities]


@cache
def prefilter_for(entities: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex that finds something in every text any of ``entities`` could match, or None.

    None means the prefilter cannot decide for this set (an entity without a known
    necessary condition, such as a NER entity) and presidio must always run. The conditions
    are merged into one character class plus alternatives, so the scan is a single pass.
    """
    chars: list[str] = []
    extras: list[str] = []
    for entity in entities:
        condition = _NECESSARY.get(entity)
        if condition is None:
            return None
        cls, extra = condition
        if cls not in chars:
            chars.append(cls)
        if extra and extra not in extras:
            extras.append(extra)
    if not chars:
        return None
    if r"\d" in chars and "13" in chars:
        chars.remove("13")  # "1" and "3" are digits
    return re.compile("|".join([f"[{''.join(chars)}]", *extras]), re.IGNORECASE)


def normalise_entities(entities: Sequence[str] | None) -> tuple[str, ...]:
    """Upper-case, de-duplicated entity names in a stable order; unknown names raise."""
    if entities is None:
        return DEFAULT_ENTITIES
    seen: dict[str, None] = {}
    for raw in entities:
        name = raw.strip().upper()
        if name not in SUPPORTED_ENTITIES:
            near = difflib.get_close_matches(name, sorted(SUPPORTED_ENTITIES), n=1)
            hint = f" Did you mean '{near[0]}'?" if near else ""
            raise ConfigError(
                f"PII entity '{raw}' is not supported.{hint} "
                f"Supported: {', '.join(sorted(SUPPORTED_ENTITIES))}.",
                param="entities",
            )
        seen.setdefault(name, None)
    return tuple(seen)
