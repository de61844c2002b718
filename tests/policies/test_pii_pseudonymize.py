"""Reversible placeholders: stable within a request, restored whole, also across chunks."""

from __future__ import annotations

import random

import pytest

from openclaw.policies.pii import Finding, PiiEngine, Pseudonymizer

TEXT = (
    "Mail jane.doe@example.com or bob@example.org; again: jane.doe@example.com. "
    "Card 4111 1111 1111 1111."
)


@pytest.fixture
def masked(pattern_engine: PiiEngine) -> tuple[Pseudonymizer, str]:
    p = Pseudonymizer()
    return p, p.mask(TEXT, pattern_engine.analyze_text(TEXT))


def test_same_value_gets_same_placeholder(masked: tuple[Pseudonymizer, str]) -> None:
    _, out = masked
    assert out == (
        "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>; again: <EMAIL_ADDRESS_1>. "
        "Card <CREDIT_CARD_1>."
    )


def test_placeholders_stay_stable_across_messages_of_a_request(pattern_engine: PiiEngine) -> None:
    p = Pseudonymizer()
    first = "from bob@example.org"
    second = "cc jane.doe@example.com and bob@example.org"
    assert p.mask(first, pattern_engine.analyze_text(first)) == "from <EMAIL_ADDRESS_1>"
    assert (
        p.mask(second, pattern_engine.analyze_text(second))
        == "cc <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>"
    )


def test_unmask_restores_the_original(masked: tuple[Pseudonymizer, str]) -> None:
    p, out = masked
    assert p.unmask(out) == TEXT
    assert p.mapping["<EMAIL_ADDRESS_2>"] == "bob@example.org"


def test_unmask_leaves_placeholders_it_did_not_hand_out(masked: tuple[Pseudonymizer, str]) -> None:
    p, _ = masked
    reply = "Wrote to <EMAIL_ADDRESS_1>, not <EMAIL_ADDRESS_9> or <PERSON_1> or <b>."
    assert (
        p.unmask(reply)
        == "Wrote to jane.doe@example.com, not <EMAIL_ADDRESS_9> or <PERSON_1> or <b>."
    )


def test_overlapping_findings_become_one_placeholder() -> None:
    p = Pseudonymizer()
    text = "id 912803456 end"
    findings = [Finding("US_BANK_NUMBER", 3, 12, 0.4), Finding("US_PASSPORT", 3, 12, 0.5)]
    assert p.mask(text, findings) == "id <US_PASSPORT_1> end"
    assert p.unmask("<US_PASSPORT_1>") == "912803456"


def test_masked_text_has_no_raw_values(masked: tuple[Pseudonymizer, str]) -> None:
    _, out = masked
    for raw in ("jane.doe", "bob@", "4111"):
        assert raw not in out


# ------------------------------------------------------------------ streaming


REPLY = (
    "Sure. I emailed <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>, charged <CREDIT_CARD_1>; "
    "a < b and <EMAIL_ADDRESS_1> again, <tag> and <EMAIL_ADDRESS_3> stay."
)


def stream(p: Pseudonymizer, chunks: list[str]) -> str:
    unmasker = p.stream_unmasker()
    return "".join(unmasker.feed(c) for c in chunks) + unmasker.flush()


def test_stream_restores_placeholders_split_at_every_position(
    masked: tuple[Pseudonymizer, str],
) -> None:
    p, _ = masked
    reply = REPLY
    expected = p.unmask(reply)
    for cut in range(len(reply) + 1):
        assert stream(p, [reply[:cut], reply[cut:]]) == expected, cut


def test_stream_restores_placeholders_in_random_chunks(masked: tuple[Pseudonymizer, str]) -> None:
    p, _ = masked
    reply = REPLY
    expected = p.unmask(reply)
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(reply)), rng.randint(1, 40)))
        chunks = [reply[a:b] for a, b in zip([0, *cuts], [*cuts, len(reply)], strict=True)]
        assert stream(p, chunks) == expected
    assert stream(p, list(reply)) == expected  # one character at a time


def test_stream_holds_back_only_a_possible_placeholder(masked: tuple[Pseudonymizer, str]) -> None:
    p, _ = masked
    u = p.stream_unmasker()
    assert u.feed("Hello ") == "Hello "
    assert u.feed("a < b, ") == "a < b, "  # "< b" cannot become a placeholder
    assert u.feed("<EMAIL_AD") == ""
    assert u.feed("DRESS_1") == ""  # could still be <EMAIL_ADDRESS_1> or ..._1x>
    assert u.feed("> ok <CR") == "jane.doe@example.com ok "
    assert u.feed("x") == "<CRx"  # no placeholder starts like that
    assert u.feed(" <EMAIL_ADDRESS_") == " "
    assert u.flush() == "<EMAIL_ADDRESS_"  # the stream ended mid-way: passed on as it was


def test_stream_without_placeholders_passes_everything_through() -> None:
    u = Pseudonymizer().stream_unmasker()
    assert u.feed("<EMAIL_ADDRESS_") == "<EMAIL_ADDRESS_"
    assert u.flush() == ""
