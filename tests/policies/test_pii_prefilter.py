"""The shortcuts never change a result: generated texts, analysed with and without them.

Two shortcuts: the engine's prefilter (skip presidio when no recognizer can match) and the
windowed phone recognizer (run python-phonenumbers only where a number can be).
"""

from __future__ import annotations

import random

import pytest
from phonenumbers.phonenumberutil import _VALID_PUNCTUATION
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from openclaw.policies.pii import DEFAULT_ENTITIES, SUPPORTED_ENTITIES, PiiEngine
from openclaw.policies.pii.phone import _RUN, WindowedPhoneRecognizer, min_digits
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


# ------------------------------------------------------------------ phone windows

_NUMBERS = (
    "+1 212-555-0123",
    "030 1234567",
    "+49 30 901820",
    "(212) 555-0123 ext. 45",
    "1640",
    "01640",
    "+44 20 7946 0958",
    "020 7946 0958",
    "98765 43210",
    "2024-01-15 12:30",
    "212.555.0123 x12",
    "+33 1 42 68 53 00",
    "011 44 20 7946 0958",
    "+972 3-123-4567",
    "(11) 98765-4321",
    "212-555-0123 int 7",
    "555-0123 anexo 3",
    "+1 (212) 555 0123#",
    "1/2/2024",
    "5-7 (2001)",
    "＋４９ ３０ ９０１８２０",
    "4111 1111 1111 1111",
)
_PHONE_SEPARATORS = (" ", "-", ".", "(", ")", "/", "x", "X", "ー", "－", "\u00a0", "~", "+", "＋",
                     "\n", ":", "%", "$", "€", ",", ";", "#", "\t")  # fmt: skip
_PHONE_WORDS = ("call", "ext", "ext.", "extension", "int", "INT", "anexo", "x", "xx", "phone",
                "abc", "is", "Tel", "on", "at", "me", "é", "ñu", "intake")  # fmt: skip


def phone_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)

    def fragment() -> str:
        roll = rng.random()
        if roll < 0.3:
            return _run(rng, "0123456789", 6)
        if roll < 0.55:
            return rng.choice(_PHONE_SEPARATORS)
        if roll < 0.8:
            return rng.choice(_PHONE_WORDS)
        return rng.choice(_NUMBERS)

    return ["".join(fragment() for _ in range(rng.randint(1, 30))) for _ in range(count)]


def test_phone_windows_never_change_a_result() -> None:
    stock, windowed = PhoneRecognizer(), WindowedPhoneRecognizer()

    def spans(recognizer: PhoneRecognizer, text: str) -> list[tuple[int, int, float]]:
        return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))

    texts = phone_texts(seed=11, count=800)
    found = 0
    for text in texts:
        expected = spans(stock, text)
        assert spans(windowed, text) == expected, text
        found += bool(expected)
    assert found > len(texts) // 4


def test_run_gaps_cover_phone_punctuation() -> None:
    # Every character phonenumbers may put between digit blocks must also join a run here.
    for char in _VALID_PUNCTUATION + _VALID_PUNCTUATION.upper():
        assert _RUN.fullmatch(f"1{char}2"), repr(char)


def test_shortest_valid_numbers_have_the_minimum_digits() -> None:
    # DE has valid four-digit national numbers; everyone else needs the international six.
    assert min_digits("DE") == 4
    assert {min_digits(r) for r in ("US", "GB", "FR", "IL", "IN", "CA", "BR")} == {6}
    text = "ruf 1640 an"
    assert [text[r.start : r.end] for r in WindowedPhoneRecognizer().analyze(text, [])] == ["1640"]
