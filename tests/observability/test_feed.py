"""The dashboard's memory: bounded, content-free, and right about percentiles and minutes."""

from __future__ import annotations

from typing import Any

import pytest

from openclaw.observability.feed import (
    RING_SIZE,
    SAMPLES_PER_MINUTE,
    WINDOW_MINUTES,
    Entry,
    Feed,
    Reservoir,
    percentile,
)
from openclaw.pipeline.exchange import Attempt, Exchange, PolicyDecision

ALIASES = {"general": object(), "sensitive": object()}


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def exchange(**kw: Any) -> Exchange:
    ex = Exchange(
        request_id=kw.pop("request_id", "req_1"),
        body={"messages": [{"role": "user", "content": "SECRET PROMPT TEXT"}]},
    )
    ex.ts = 1_800_000_010.0  # inside the test clock's current minute
    ex.alias = "general"
    ex.provider = "mock"
    ex.prompt_tokens, ex.completion_tokens, ex.cost_usd = 10, 5, 0.25
    ex.response = {"choices": [{"message": {"content": "SECRET ANSWER TEXT"}}]}
    for k, v in kw.items():
        setattr(ex, k, v)
    return ex


def test_percentile_is_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None


def test_reservoir_keeps_a_bounded_sample() -> None:
    r = Reservoir()
    for v in range(SAMPLES_PER_MINUTE * 3):
        r.add(float(v))
    assert len(r.values) == SAMPLES_PER_MINUTE and r.seen == SAMPLES_PER_MINUTE * 3


def test_entries_hold_metadata_never_content() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    ex = exchange(stream=True, ttft_ms=12.5, draft=True)
    ex.decisions.append(
        PolicyDecision("pii_local", "if_context_contains_pii_use_sensitive_model", "pass", True)
    )
    feed.observe(ex, {})
    [entry] = feed.ring
    dumped = str(entry.to_dict())
    assert "SECRET" not in dumped
    assert entry.draft and entry.ttft_ms == 12.5 and entry.model == "general"
    assert set(entry.to_dict()) == set(Entry.__dataclass_fields__)


def test_unknown_aliases_and_services_are_bounded() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    for i in range(80):
        feed.observe(exchange(request_id=f"r{i}", alias=f"client-model-{i}", service=f"s{i}"), {})
    assert set(feed.models) == {"unknown"}
    assert len(feed.services) <= 51 and "other" in feed.services


def test_ring_and_window_are_bounded_and_empty_minutes_are_drawn() -> None:
    clock = Clock()
    feed = Feed(lambda: ALIASES, clock=clock)
    for i in range(RING_SIZE + 20):
        clock.t += 15  # four requests a minute, for over two hours
        feed.observe(exchange(request_id=f"r{i}", ts=clock.t), {})
    assert len(feed.ring) == RING_SIZE
    assert len(feed.minutes) == WINDOW_MINUTES
    assert feed.totals.requests == RING_SIZE + 20

    clock.t += 10 * 60  # ten quiet minutes
    timeline = feed.timeline(30)
    assert len(timeline) == 30
    assert [m["t"] for m in timeline] == sorted(m["t"] for m in timeline)
    assert all(m["requests"] == 0 and m["latency_p50"] is None for m in timeline[-10:])
    drawn = [e for e in feed.ring if e.ts >= timeline[0]["t"]]
    assert sum(m["requests"] for m in timeline) == len(drawn) > 0


def test_summary_aggregates_by_service_model_policy_and_upstream() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    ok = exchange(request_id="a", service="crm")
    ok.attempts.append(Attempt("mock/mock-general", "mock", "ok", 4.0))
    rerouted = exchange(request_id="b", service="crm", alias="sensitive", cost_usd=0.0)
    rerouted.decisions.append(
        PolicyDecision(
            "pii_local",
            "if_context_contains_pii_use_sensitive_model",
            "applied",
            True,
            model_before="general",
            model_after="sensitive",
        )
    )
    failed = exchange(request_id="c", service="bot", status=502, cost_usd=None)
    failed.attempts.append(Attempt("mock/mock-general", "mock", "upstream_error", 9.0, 500))
    for ex in (ok, rerouted, failed):
        feed.observe(ex, {})
    s = feed.summary(
        deployments=["mock/mock-general", "mock/mock-local"],
        breakers={"mock/mock-general": {"state": "half_open", "failures": 3}},
    )
    assert s["totals"]["requests"] == 3 and s["totals"]["errors"] == 1
    assert s["totals"]["pii_reroutes"] == 1
    crm = next(r for r in s["by_service"] if r["name"] == "crm")
    assert crm["requests"] == 2 and crm["cost_usd"] == pytest.approx(0.25)
    assert {r["name"] for r in s["by_model"]} == {"general", "sensitive"}
    assert {"policy": "pii_local", "outcome": "applied", "count": 1}.items() <= s["policies"][
        0
    ].items()
    up = {u["deployment"]: u for u in s["upstreams"]}
    assert up["mock/mock-general"]["breaker"] == "half_open"
    assert up["mock/mock-general"]["ok"] == 1 and up["mock/mock-general"]["errors"] == 1
    assert up["mock/mock-general"]["last_error"] == "upstream_error"
    assert up["mock/mock-local"]["breaker"] == "closed" and up["mock/mock-local"]["ok"] == 0
    assert [r["request_id"] for r in s["recent"]] == ["c", "b", "a"]  # newest first
    [minute] = [m for m in s["timeline"] if m["requests"]]
    assert minute["error_rate"] == pytest.approx(1 / 3, abs=1e-4) and minute["pii_reroutes"] == 1


def test_listeners_hear_each_new_entry() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    heard: list[str] = []
    feed.listeners.append(lambda e: heard.append(e.request_id))
    feed.observe(exchange(request_id="x"), {})
    assert heard == ["x"]


def test_answers_without_a_known_price_are_counted_apart_not_as_free() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    feed.observe(exchange(request_id="a"), {})
    feed.observe(exchange(request_id="b", cost_usd=None), {})  # served, no price
    feed.observe(exchange(request_id="c", cost_usd=None, status=502), {})  # nothing to price
    s = feed.summary(deployments=[], breakers={})
    assert s["totals"]["cost_usd"] == pytest.approx(0.25)
    assert s["totals"]["unpriced_requests"] == 1
    by_id = {r["request_id"]: r["cost_usd"] for r in s["recent"]}
    assert by_id == {"a": 0.25, "b": None, "c": 0.0}
    [minute] = [m for m in s["timeline"] if m["requests"]]
    assert minute["cost_usd"] == pytest.approx(0.25)


def test_the_dashboard_groups_by_ingress_api() -> None:
    feed = Feed(lambda: ALIASES, clock=Clock())
    feed.observe(exchange(request_id="a", api="messages"), {})
    feed.observe(exchange(request_id="b", api="embeddings"), {})
    feed.observe(exchange(request_id="c", api="embeddings"), {})
    feed.observe(exchange(request_id="d", api="toy"), {})  # not a known API: bounded
    s = feed.summary()
    assert {r["name"]: r["requests"] for r in s["by_api"]} == {
        "messages": 1,
        "embeddings": 2,
        "other": 1,
    }
    assert [e["api"] for e in s["recent"]] == ["other", "embeddings", "embeddings", "messages"]
