"""The PII engine in pattern-only mode: what it finds, what it leaves alone, cache, loop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine

from openclaw.errors import ConfigError
from openclaw.policies.pii import (
    DEFAULT_ENTITIES,
    PATTERN_ONLY,
    SUPPORTED_ENTITIES,
    Finding,
    PiiEngine,
)
from openclaw.policies.pii import engine as engine_module


def found(engine: PiiEngine, text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in engine.analyze_text(text):
        out.setdefault(f.entity_type, []).append(text[f.start : f.end])
    return out


@pytest.fixture
def presidio_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call into presidio's AnalyzerEngine.analyze, with the thread it ran on."""
    calls: list[str] = []
    real = AnalyzerEngine.analyze

    def counting(self: AnalyzerEngine, *args: Any, **kwargs: Any) -> Any:
        calls.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AnalyzerEngine, "analyze", counting)
    return calls


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("Write to jane.doe@example.com today.", "EMAIL_ADDRESS", "jane.doe@example.com"),
        ("Reach me on +1 212-555-0123 after six.", "PHONE_NUMBER", "+1 212-555-0123"),
        ("Tel: +44 20 7946 0958", "PHONE_NUMBER", "+44 20 7946 0958"),
        ("Pay with 4111 1111 1111 1111 please.", "CREDIT_CARD", "4111 1111 1111 1111"),
        # 219-09-9999 is the Social Security Board's own 1940s pamphlet example; presidio's
        # medium SSN pattern accepts it (it is not on presidio's deny list).
        ("My SSN is 219-09-9999.", "US_SSN", "219-09-9999"),
        (
            "IBAN GB82 WEST 1234 5698 7654 32 for the refund",
            "IBAN_CODE",
            "GB82 WEST 1234 5698 7654 32",
        ),
        ("The server at 192.168.1.20 is down.", "IP_ADDRESS", "192.168.1.20"),
        ("The server at 2001:db8::1 is down.", "IP_ADDRESS", "2001:db8::1"),
        (
            "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            "CRYPTO",
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        ),
        ("my itin is 912-70-1234", "US_ITIN", "912-70-1234"),
        ("bank account number 000123456789", "US_BANK_NUMBER", "000123456789"),
        ("passport 912803456", "US_PASSPORT", "912803456"),
        ("my social security number is 536221234", "US_SSN", "536221234"),
    ],
)
def test_pattern_only_finds_each_default_entity(
    pattern_engine: PiiEngine, text: str, entity: str, value: str
) -> None:
    assert value in found(pattern_engine, text).get(entity, [])


def test_findings_are_positions_in_the_analysed_text(pattern_engine: PiiEngine) -> None:
    text = "a: jane.doe@example.com b: 4111 1111 1111 1111"
    findings = pattern_engine.analyze_text(text)
    assert [(f.entity_type, text[f.start : f.end]) for f in findings] == [
        ("EMAIL_ADDRESS", "jane.doe@example.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
    ]
    assert all(isinstance(f, Finding) and 0.4 <= f.score <= 1.0 for f in findings)


def test_weak_patterns_need_their_context_word(pattern_engine: PiiEngine) -> None:
    # A bare nine-digit number is not a passport; "us" inside "because" is not the context
    # word "us" (whole-word matching, not presidio's substring default).
    assert found(pattern_engine, "because 912803456 was the count") == {}
    assert "US_PASSPORT" in found(pattern_engine, "my passport 912803456")


def test_famous_invalid_ssn_is_not_an_ssn(pattern_engine: PiiEngine) -> None:
    # 078-05-1120 was printed on a sample card sold in wallets; presidio denies it.
    assert "US_SSN" not in found(pattern_engine, "SSN 078-05-1120")


def test_clean_sentence_has_no_findings(pattern_engine: PiiEngine, clean_sentence: str) -> None:
    assert len(clean_sentence) >= 200
    assert pattern_engine.analyze_text(clean_sentence) == []


def test_clean_prompt_with_numbers_has_no_findings(
    fresh_pattern_engine: PiiEngine, clean_prompt: str
) -> None:
    assert len(clean_prompt) == 4096
    assert fresh_pattern_engine.analyze_text(clean_prompt) == []
    assert fresh_pattern_engine.presidio_runs == 1  # presidio really looked at it


def test_python_slices_are_not_ipv6_addresses(pattern_engine: PiiEngine, clean_code: str) -> None:
    assert pattern_engine.analyze_text(clean_code) == []
    assert found(pattern_engine, "loopback ::1 and fe80::1") == {}


def test_default_entities_leave_out_noisy_types() -> None:
    assert {"DATE_TIME", "NRP", "URL", "US_DRIVER_LICENSE"}.isdisjoint(DEFAULT_ENTITIES)
    assert set(DEFAULT_ENTITIES) <= SUPPORTED_ENTITIES


def test_entities_limit_what_is_found() -> None:
    engine = PiiEngine(entities=["email_address"], spacy_model="none")
    text = "jane.doe@example.com 4111 1111 1111 1111"
    assert engine.entities == ("EMAIL_ADDRESS",)
    assert set(found(engine, text)) == {"EMAIL_ADDRESS"}


def test_optional_entity_can_be_enabled() -> None:
    engine = PiiEngine(entities=["URL"], spacy_model="none")
    assert "URL" in found(engine, "see https://example.org/docs")


def test_unknown_entity_is_a_config_error_naming_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"EMAIL_ADRESS.*Did you mean 'EMAIL_ADDRESS'"):
        PiiEngine(entities=["EMAIL_ADRESS"], spacy_model="none")


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_threshold_out_of_range_is_a_config_error(threshold: float) -> None:
    with pytest.raises(ConfigError, match="score_threshold"):
        PiiEngine(score_threshold=threshold, spacy_model="none")


def test_higher_threshold_drops_weaker_findings() -> None:
    engine = PiiEngine(score_threshold=0.5, spacy_model="none")
    kinds = found(engine, "Reach me on +1 212-555-0123 or jane.doe@example.com")
    assert set(kinds) == {"EMAIL_ADDRESS"}  # a phone without context scores 0.4


# ------------------------------------------------------------------ modes


def test_none_mode_says_names_and_places_are_not_detected(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="openclaw.policies.pii"):
        engine = PiiEngine(spacy_model="none")
    assert engine.mode == PATTERN_ONLY
    assert "names and places" in engine.mode_note
    assert "not detected" in engine.mode_note
    assert "python -m spacy download en_core_web_sm" in engine.mode_note
    assert engine.mode_note in caplog.text


def test_auto_without_pipeline_is_pattern_only_and_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(engine_module, "installed_pipelines", lambda language: [])
    with caplog.at_level(logging.WARNING, logger="openclaw.policies.pii"):
        engine = PiiEngine()
    assert engine.mode == PATTERN_ONLY
    assert engine.mode_note.startswith("pattern-only: names and places")
    assert "no spaCy English pipeline is installed" in engine.mode_note
    assert "python -m spacy download en_core_web_sm" in engine.mode_note
    assert engine.mode_note in caplog.text
    assert engine.analyze_text("Jane Doe lives in Berlin") == []


def test_auto_falls_back_when_a_pipeline_fails_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engine_module, "installed_pipelines", lambda language: ["no_such_pipeline_xyz"]
    )
    engine = PiiEngine()
    assert engine.mode == PATTERN_ONLY
    assert "no_such_pipeline_xyz could not be loaded" in engine.mode_note


def test_named_pipeline_that_is_not_installed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'en_core_web_nope' is not installed"):
        PiiEngine(spacy_model="en_core_web_nope")


def test_without_name_or_place_entities_no_pipeline_is_needed() -> None:
    engine = PiiEngine(entities=["EMAIL_ADDRESS"], spacy_model="auto")
    assert engine.mode == PATTERN_ONLY
    assert "no name or place entity" in engine.mode_note


def test_only_ner_entities_in_pattern_only_mode_finds_nothing(presidio_calls: list[str]) -> None:
    engine = PiiEngine(entities=["PERSON"], spacy_model="none")
    assert engine.active_entities == ()
    assert engine.analyze_text("Jane Doe, jane@example.com") == []
    assert presidio_calls == []


# ------------------------------------------------------------------ redaction


def test_redact_replaces_values_by_entity_type(pattern_engine: PiiEngine) -> None:
    text = "Mail jane.doe@example.com, card 4111 1111 1111 1111, ip 192.168.1.20."
    out = pattern_engine.redact(text, pattern_engine.analyze_text(text))
    assert out == "Mail <EMAIL_ADDRESS>, card <CREDIT_CARD>, ip <IP_ADDRESS>."
    for raw in ("jane.doe", "example.com", "4111", "192.168"):
        assert raw not in out


def test_redact_merges_overlapping_spans_under_the_strongest(pattern_engine: PiiEngine) -> None:
    text = "id 912803456 end"
    findings = [
        Finding("US_BANK_NUMBER", 3, 12, 0.4),
        Finding("US_PASSPORT", 3, 12, 0.6),
        Finding("PHONE_NUMBER", 6, 16, 0.4),  # overlaps the others and runs past them
    ]
    assert pattern_engine.redact(text, findings) == "id <US_PASSPORT>"


def test_redact_keeps_touching_spans_apart(pattern_engine: PiiEngine) -> None:
    text = "abcdef"
    findings = [Finding("A", 0, 3, 0.5), Finding("B", 3, 6, 0.5)]
    assert pattern_engine.redact(text, findings) == "<A><B>"


def test_redact_rejects_spans_outside_the_text(pattern_engine: PiiEngine) -> None:
    with pytest.raises(ValueError, match="outside"):
        pattern_engine.redact("short", [Finding("EMAIL_ADDRESS", 2, 40, 1.0)])


# ------------------------------------------------------------------ cache


def test_second_analysis_of_same_text_does_not_run_presidio(
    fresh_pattern_engine: PiiEngine, presidio_calls: list[str]
) -> None:
    text = "Write to jane.doe@example.com"
    first = fresh_pattern_engine.analyze_text(text)
    second = fresh_pattern_engine.analyze_text(text)
    assert first == second and first
    assert len(presidio_calls) == 1
    fresh_pattern_engine.analyze_text(text + " ")
    assert len(presidio_calls) == 2


def test_cached_result_cannot_be_changed_by_the_caller(fresh_pattern_engine: PiiEngine) -> None:
    text = "Write to jane.doe@example.com"
    fresh_pattern_engine.analyze_text(text).clear()
    assert fresh_pattern_engine.analyze_text(text)


def test_cache_is_lru_bounded(presidio_calls: list[str]) -> None:
    engine = PiiEngine(spacy_model="none", cache_size=2)
    presidio_calls.clear()  # the warm-up at start
    texts = [f"mail user{i}@example.com" for i in range(3)]
    for t in texts:
        engine.analyze_text(t)
    engine.analyze_text(texts[2])  # still cached
    assert len(presidio_calls) == 3
    engine.analyze_text(texts[0])  # evicted
    assert len(presidio_calls) == 4


def test_cache_key_includes_settings() -> None:
    a = PiiEngine(spacy_model="none")
    b = PiiEngine(spacy_model="none", score_threshold=0.9)
    assert a._key("same text") != b._key("same text")


def test_lone_surrogates_are_analysed(pattern_engine: PiiEngine) -> None:
    assert found(pattern_engine, "bad \ud800 jane.doe@example.com") == {
        "EMAIL_ADDRESS": ["jane.doe@example.com"]
    }


def test_text_longer_than_a_chunk_keeps_positions(pattern_engine: PiiEngine) -> None:
    filler = ("lorem ipsum dolor sit amet " * 5000) + "\n"
    text = filler + "mail jane.doe@example.com\n" + filler + "card 4111 1111 1111 1111"
    assert len(text) > 2 * engine_module._CHUNK
    assert found(pattern_engine, text) == {
        "EMAIL_ADDRESS": ["jane.doe@example.com"],
        "CREDIT_CARD": ["4111 1111 1111 1111"],
    }


# ------------------------------------------------------------------ async


async def test_long_uncached_texts_are_analysed_off_the_loop_and_short_ones_on_it(
    fresh_pattern_engine: PiiEngine, presidio_calls: list[str]
) -> None:
    # Over 1 KB the patterns take milliseconds: the worker thread, so the loop keeps serving.
    long = "card 4111 1111 1111 1111 " + "nothing to see here. " * 60
    (found_long,) = await fresh_pattern_engine.analyze_texts([long])
    assert [f.entity_type for f in found_long] == ["CREDIT_CARD"]
    assert presidio_calls and all(name.startswith("openclaw-pii") for name in presidio_calls)
    # Short ones take a fraction of a millisecond, less than the hop: on the loop, which then
    # never waits for the GIL behind a thread busy with them.
    presidio_calls.clear()
    texts = ["mail jane.doe@example.com", "card 4111 1111 1111 1111"]
    results = await fresh_pattern_engine.analyze_texts(texts)
    assert [[f.entity_type for f in r] for r in results] == [["EMAIL_ADDRESS"], ["CREDIT_CARD"]]
    assert presidio_calls and set(presidio_calls) == {threading.current_thread().name}


async def test_cached_and_clean_texts_never_leave_the_loop(
    fresh_pattern_engine: PiiEngine, monkeypatch: pytest.MonkeyPatch, clean_sentence: str
) -> None:
    await fresh_pattern_engine.analyze_texts(["mail jane.doe@example.com"])
    loop = asyncio.get_running_loop()

    def no_hop(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("went to the executor")

    monkeypatch.setattr(loop, "run_in_executor", no_hop)
    results = await fresh_pattern_engine.analyze_texts(
        ["mail jane.doe@example.com", clean_sentence, "no digits or at signs here"]
    )
    assert [len(r) for r in results] == [1, 0, 0]


async def test_duplicate_texts_in_one_call_are_analysed_once(
    fresh_pattern_engine: PiiEngine, presidio_calls: list[str]
) -> None:
    text = "card 4111 1111 1111 1111"
    results = await fresh_pattern_engine.analyze_texts([text, "x", text])
    assert len(presidio_calls) == 1
    assert results[0] == results[2] and results[0]
    assert results[1] == []


async def test_a_new_turn_costs_one_analysis(
    fresh_pattern_engine: PiiEngine, presidio_calls: list[str]
) -> None:
    turns = [f"turn {i}: the build took {i * 7} minutes, see ticket {1000 + i}" for i in range(20)]
    await fresh_pattern_engine.analyze_texts(turns)
    before = len(presidio_calls)
    await fresh_pattern_engine.analyze_texts([*turns, "turn 20: mail jane.doe@example.com"])
    assert len(presidio_calls) - before == 1


async def test_many_concurrent_requests_get_their_own_results(
    fresh_pattern_engine: PiiEngine,
) -> None:
    texts = [f"mail user{i}@example.com" for i in range(30)]
    results = await asyncio.gather(*(fresh_pattern_engine.analyze_texts([t]) for t in texts))
    for text, (findings,) in zip(texts, results, strict=True):
        assert [text[f.start : f.end] for f in findings] == [text[5:]]


# ------------------------------------------------------------------ network


def test_analysis_never_touches_the_network(no_network: list[Any]) -> None:
    engine = PiiEngine(spacy_model="none", entities=[*DEFAULT_ENTITIES, "URL"])
    text = "mail jane.doe@example.co.uk, site https://example.org, ip 10.0.0.1, +1 212-555-0123"
    assert {"EMAIL_ADDRESS", "URL", "IP_ADDRESS", "PHONE_NUMBER"} <= set(found(engine, text))
    assert no_network == []


def test_network_guard_catches_connections(no_network: list[Any]) -> None:
    import socket

    with pytest.raises(AssertionError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    assert len(no_network) == 1


_FRESH_PROCESS = """
import socket, sys

def refuse(*args, **kwargs):
    print("NETWORK", args, file=sys.stderr)
    raise OSError("network access attempted")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from openclaw.policies.pii import PiiEngine

engine = PiiEngine(spacy_model=sys.argv[1], entities=[
    "PERSON", "LOCATION", "EMAIL_ADDRESS", "URL", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD"])
text = "Jane Doe, jane.doe@example.co.uk, https://example.org, 10.0.0.1, +1 212-555-0123"
kinds = sorted({f.entity_type for f in engine.analyze_text(text)})
print(engine.mode, ",".join(kinds))
"""


@pytest.mark.parametrize("spacy_model", ["none", "auto"])
def test_fresh_process_starts_and_analyses_offline(
    spacy_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new interpreter with an empty home and cache: no suffix list or model cached by an
    # earlier run can hide a download, and imports happen after the guard is in place.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, spacy_model],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "NETWORK" not in proc.stderr
    mode, kinds = proc.stdout.split()
    assert {"EMAIL_ADDRESS", "URL", "IP_ADDRESS", "PHONE_NUMBER"} <= set(kinds.split(","))
    if mode != "pattern-only":
        assert "PERSON" in kinds
