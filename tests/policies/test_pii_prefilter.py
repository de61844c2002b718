"""The prefilter never changes a result: generated texts, analysed with and without it."""

from __future__ import annotations

import random

import pytest

from openclaw.policies.pii import DEFAULT_ENTITIES, SUPPORTED_ENTITIES, PiiEngine
from openclaw.policies.pii.recognizers import NER_ENTITIES, prefilter_for

PREFILTERABLE = tuple(sorted(e for e in SUPPORTED_ENTITIES if prefilter_for((e,)) is not None))

_WORDS = [
    "the",
    "phone",
    "number",
    "ssn",
    "social",
    "security",
    "account",
    "acct",
    "bank",
    "passport",
    "card",
    "credit",
    "visa",
    "ip",
    "ipv6",
    "wallet",
    "btc",
    "iban",
    "email",
    "at",
    "dot",
    "example",
    "com",
    "org",
    "bc",
    "bC",
    "GB",
    "DE",
    "WEST",
    "us",
    "driver",
    "license",
    "lic",
    "nhs",
    "dead",
    "beef",
    "cafe",
    "face",
    "abcd",
    "ffff",
    "fe",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "x",
    "z",
    "Q",
]
_SEPARATORS = (" ", " ", "-", ".", ":", "::", "/", "+", "(", ")", "\n", "_", "#", ",", ";", "%")
# Characters that are digits to someone: decimal digits of other scripts (Unicode Nd, which
# \d matches) and digit-like characters that are not Nd (superscripts, circled, fractions).
_ND_DIGITS = "０１２３４５６７８９٠١٢٣٤٥٦٧٨٩०१२३४५६७८९๑๒๓"
_NOT_ND_DIGITS = "¹²³⁴⁵₁₂₃①②③ⅫⅣ½¼"
_AT_LIKE = ("@", "＠", "﹫")
_PII = (
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "2001:db8::1",
    "dead:beef:dead:beef:dead:beef:dead:beef",
    "abcd::ef01",
    "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "+1 212-555-0123",
    "192.168.1.20",
    "219-09-9999",
    "AB 12 34 56 C",
)


def _run(rng: random.Random, alphabet: str, longest: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))


def _near_miss(rng: random.Random) -> str:
    """No ASCII digit: mostly text the prefilter clears, sometimes a character it must not."""
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(_WORDS)
    if roll < 0.85:
        return rng.choice(_SEPARATORS)
    if roll < 0.95:
        return _run(rng, _NOT_ND_DIGITS, 6)
    if roll < 0.97:
        return _run(rng, _ND_DIGITS, 12)
    if roll < 0.98:
        return rng.choice(_AT_LIKE)
    return _run(rng, "abcdefABCDEF:", 10)


def _anything(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(_WORDS)
    if roll < 0.5:
        return rng.choice(_SEPARATORS)
    if roll < 0.6:
        return _run(rng, _ND_DIGITS + _NOT_ND_DIGITS, 12)
    if roll < 0.65:
        return rng.choice(_AT_LIKE)
    if roll < 0.85:
        return _run(rng, "0123456789", 19)
    return rng.choice(_PII)


def generated_texts(seed: int, count: int) -> list[str]:
    """Half the texts without ASCII digits (where the prefilter may skip), half with."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        fragment = _anything if i % 2 else _near_miss
        texts.append("".join(fragment(rng) for _ in range(rng.randint(1, 20))))
    return texts


@pytest.mark.parametrize(
    "entities",
    [DEFAULT_ENTITIES, PREFILTERABLE],
    ids=["default-entities", "every-prefilterable-entity"],
)
def test_prefilter_never_changes_a_result(entities: tuple[str, ...]) -> None:
    with_prefilter = PiiEngine(entities=entities, spacy_model="none", cache_size=0)
    without = PiiEngine(entities=entities, spacy_model="none", cache_size=0, prefilter=False)
    assert with_prefilter._prefilter is not None
    texts = generated_texts(seed=len(entities), count=1000)
    skipped = 0
    for text in texts:
        expected = without.analyze_text(text)
        assert with_prefilter.analyze_text(text) == expected, text
        skipped += with_prefilter._cleared(text)
    # The comparison means something only if the prefilter skipped many texts, and the
    # generator must also produce findings, or presidio had nothing to disagree about.
    assert skipped > len(texts) // 5
    assert sum(bool(without.analyze_text(t)) for t in texts) > len(texts) // 10
    assert with_prefilter.presidio_runs < without.presidio_runs


def test_ipv6_without_decimal_digits_is_not_skipped() -> None:
    engine = PiiEngine(entities=["IP_ADDRESS"], spacy_model="none")
    text = "host dead:beef:dead:beef:dead:beef:dead:beef is up"
    assert [f.entity_type for f in engine.analyze_text(text)] == ["IP_ADDRESS"]


def test_full_width_digits_are_not_skipped() -> None:
    with_prefilter = PiiEngine(spacy_model="none")
    without = PiiEngine(spacy_model="none", prefilter=False)
    text = "call ＋１ ２１２-５５５-０１２３ now"
    assert not with_prefilter._cleared(text)
    assert with_prefilter.analyze_text(text) == without.analyze_text(text)


def test_prefilter_cannot_apply_while_names_are_wanted() -> None:
    for entity in NER_ENTITIES:
        assert prefilter_for(("EMAIL_ADDRESS", entity)) is None
    assert prefilter_for(tuple(e for e in DEFAULT_ENTITIES if e not in NER_ENTITIES)) is not None


def test_prefilter_skips_text_without_digits_or_at_signs() -> None:
    pattern = prefilter_for(tuple(e for e in DEFAULT_ENTITIES if e not in NER_ENTITIES))
    assert pattern is not None
    assert pattern.search("A plain question about refactoring: where should it start?") is None
    for text in ("room 12", "a@b", "fe80::", "ab:cd"):
        assert pattern.search(text) is not None, text
