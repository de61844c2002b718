"""Long texts in chunks: cut at breaks, cover the text exactly, cached one by one."""

from __future__ import annotations

import random

import pytest

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.chunks import split_text


def test_short_text_and_zero_limit_are_one_piece() -> None:
    assert split_text("abc", 10) == [(0, "abc")]
    assert split_text("x" * 50, 0) == [(0, "x" * 50)]


@pytest.mark.parametrize("seed", range(5))
def test_pieces_cover_the_text_and_respect_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    words = ["alpha", "beta.", "gamma\n", "delta\n\n", "x" * 30, "end!"]
    text = " ".join(rng.choice(words) for _ in range(2000))
    pieces = split_text(text, 500)
    assert "".join(p for _o, p in pieces) == text
    assert all(len(p) <= 500 for _o, p in pieces)
    assert [o for o, _p in pieces] == [
        sum(len(p) for _o, p in pieces[:i]) for i in range(len(pieces))
    ]


def test_cuts_prefer_paragraphs_then_lines_then_sentences() -> None:
    para = "a" * 400 + "\n\n" + "b" * 200 + "\n" + "c" * 100 + ". " + "d" * 200
    first = split_text(para, 700)[0][1]
    assert first.endswith("\n\n")
    no_para = "b" * 300 + "\n" + "c" * 300 + ". " + "d" * 300
    assert split_text(no_para, 700)[0][1].endswith(". ")
    assert split_text("z" * 1000, 400)[0][1] == "z" * 400  # no break at all: cut at the limit


def test_findings_in_a_chunked_text_keep_their_positions() -> None:
    engine = PiiEngine(spacy_model="none", chunk_chars=256)
    filler = "the build took 12 minutes on the new runners and nobody minded.\n\n" * 20
    text = filler + "mail jane.doe@example.com\n\n" + filler + "card 4111 1111 1111 1111"
    found = {text[f.start : f.end] for f in engine.analyze_text(text)}
    assert found == {"jane.doe@example.com", "4111 1111 1111 1111"}


async def test_a_long_text_that_comes_back_costs_only_its_new_chunks() -> None:
    engine = PiiEngine(spacy_model="none", chunk_chars=256)
    output = "".join(f"step {i}: compiled module {i} in {i % 7} s\n\n" for i in range(400))
    await engine.analyze_texts([output])
    before = engine.presidio_runs
    assert before > 10  # it was cut into many chunks
    (again, new) = await engine.analyze_texts([output, "turn 2: ping 10.0.0.1"])
    assert engine.presidio_runs == before + 1
    assert again == [] and [f.entity_type for f in new] == ["IP_ADDRESS"]
