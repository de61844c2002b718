"""``stats``: the figures for a hand-built log, worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openclaw.audit.reader import RecordFilter, iter_records, parse_time
from openclaw.audit.stats import compute, percentile

MakeRecord = Callable[..., dict[str, Any]]


@pytest.fixture
def hand_log(
    write_log: Callable[..., Any], make_record: MakeRecord, pii_decision: Callable[..., Any]
) -> list[dict[str, Any]]:
    """Six records; the expected figures below are counted from this table."""
    r = make_record
    return write_log(  # type: ignore[no-any-return]
        [
            r(service="billing", model="fast", provider="openai", task="summarize",
              status=200, latency_ms=100, prompt_tokens=10, completion_tokens=5, cost_usd=0.01,
              ts="2025-01-30T10:00:00.000Z"),
            r(service="billing", model="fast", provider="openai", task="summarize",
              status=500, latency_ms=300, prompt_tokens=20, completion_tokens=0, cost_usd=0.0,
              error={"code": "upstream_error"}, ts="2025-01-31T10:00:00.000Z"),
            r(service="support", model="local", provider="ollama", task="reply",
              status=200, latency_ms=200, prompt_tokens=30, completion_tokens=15, cost_usd=0.0,
              policies=[pii_decision("applied")], ts="2025-01-31T11:00:00.000Z"),
            r(service="support", model="fast", provider="openai", task="reply",
              status=429, latency_ms=50, prompt_tokens=None, completion_tokens=None, cost_usd=None,
              policies=[pii_decision("would_apply")], ts="2025-01-31T11:30:00.000Z"),
            r(service="support", model="fast", provider="openai", task="reply",
              status=200, latency_ms=400, prompt_tokens=40, completion_tokens=25, cost_usd=0.02,
              draft=True, ts="2025-01-31T12:00:00.000Z"),
            r(service="support", model="smart", provider="anthropic", task=None,
              status=200, latency_ms=None, prompt_tokens=5, completion_tokens=5, cost_usd=0.005,
              ts="2025-01-31T12:30:00.000Z"),
        ]
    )  # fmt: skip


def test_totals_match_the_hand_count(log_path: Path, hand_log: Any) -> None:
    groups, total = compute(iter_records(log_path))
    assert groups == []
    d = total.to_dict()
    assert d["requests"] == 6
    assert d["errors"] == 2  # 500 and 429
    assert (d["prompt_tokens"], d["completion_tokens"], d["tokens"]) == (105, 50, 155)
    assert d["cost_usd"] == pytest.approx(0.035)
    # latencies 50 100 200 300 400: nearest rank 50% -> 3rd, 95% -> 5th
    assert (d["p50_latency_ms"], d["p95_latency_ms"]) == (200, 400)
    assert d["pii_reroutes"] == 1  # would_apply does not count
    assert d["drafts"] == 1


def test_groups_by_service_largest_first(log_path: Path, hand_log: Any) -> None:
    groups, _ = compute(iter_records(log_path), "service")
    by = {g.key: g.to_dict() for g in groups}
    assert [g.key for g in groups] == ["support", "billing"]
    assert by["billing"]["requests"] == 2 and by["billing"]["errors"] == 1
    assert (by["billing"]["p50_latency_ms"], by["billing"]["p95_latency_ms"]) == (100, 300)
    assert by["support"]["pii_reroutes"] == 1 and by["support"]["drafts"] == 1
    assert by["support"]["cost_usd"] == pytest.approx(0.025)


def test_groups_by_provider_model_and_task(log_path: Path, hand_log: Any) -> None:
    def counts(by: str) -> dict[str, int]:
        return {g.key: g.requests for g in compute(iter_records(log_path), by)[0]}

    assert counts("provider") == {"openai": 4, "ollama": 1, "anthropic": 1}
    assert counts("model") == {"fast": 4, "local": 1, "smart": 1}
    assert counts("task") == {"reply": 3, "summarize": 2, "-": 1}


def test_since_and_until_narrow_the_window(log_path: Path, hand_log: Any) -> None:
    flt = RecordFilter(
        since=parse_time("2025-01-31T11:00:00Z"), until=parse_time("2025-01-31T12:00:00Z")
    )
    _, total = compute(iter_records(log_path, flt))
    assert total.requests == 2  # 11:00 included, 12:00 not


def test_grouping_by_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        compute([], "colour")


@pytest.mark.parametrize(("pct", "expected"), [(50, 10), (95, 19), (100, 20), (1, 1), (0, 1)])
def test_percentile_is_nearest_rank(pct: float, expected: float) -> None:
    assert percentile([float(v) for v in range(1, 21)], pct) == expected


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_pii_rule_name_is_the_policy_rules_own() -> None:
    from openclaw.audit.record import PII_RULE
    from openclaw.policies.rules import PiiUsesSensitiveModel

    assert PiiUsesSensitiveModel.name == PII_RULE
