"""How each strategy orders an alias's deployments."""

from __future__ import annotations

from collections import Counter

import pytest

from openclaw.clock import ManualClock
from openclaw.config.schema import Deployment
from openclaw.routing.breaker import Breakers
from openclaw.routing.strategies import LatencyTracker, Orderer

A = Deployment(
    provider="a",
    model="m",
    weight=70,
    cost_per_million_input_tokens=3,
    cost_per_million_output_tokens=15,
)
B = Deployment(
    provider="b",
    model="m",
    weight=30,
    cost_per_million_input_tokens=0.5,
    cost_per_million_output_tokens=1,
)
C = Deployment(provider="c", model="m", weight=0, percent=10)


def order(
    strategy: str, deps: list[Deployment], o: Orderer | None = None, service: str = "s"
) -> list[str]:
    o = o or Orderer(LatencyTracker())
    return [
        d.provider
        for d in o.order("alias", strategy, deps, service=service, est_prompt_tokens=1000)
    ]


def test_failover_keeps_file_order_and_always_returns_everything() -> None:
    assert order("failover", [A, B, C]) == ["a", "b", "c"]
    for s in ("round_robin", "weighted", "lowest_latency", "lowest_cost", "canary"):
        assert sorted(order(s, [A, B, C])) == ["a", "b", "c"]


def test_round_robin_rotates() -> None:
    o = Orderer(LatencyTracker())
    firsts = [order("round_robin", [A, B, C], o)[0] for _ in range(6)]
    assert firsts == ["a", "b", "c", "a", "b", "c"]


def test_weighted_follows_weights() -> None:
    counts = Counter(order("weighted", [A, B])[0] for _ in range(4000))
    share = counts["a"] / 4000
    assert 0.64 < share < 0.76  # 70% nominal


def test_lowest_latency_prefers_the_faster_and_measures_new_ones_first() -> None:
    lat = LatencyTracker(alpha=0.5)
    o = Orderer(lat)
    lat.observe("a/m", 200)
    assert order("lowest_latency", [A, B], o) == ["b", "a"]  # b is unmeasured: try it
    lat.observe("b/m", 50)
    assert order("lowest_latency", [A, B], o) == ["b", "a"]
    for _ in range(5):
        lat.observe("b/m", 400)  # b got slow; the decaying average follows
    assert order("lowest_latency", [A, B], o) == ["a", "b"]


def test_a_failing_deployment_goes_behind_a_measured_healthy_one() -> None:
    from openclaw.routing.dispatch import FAILURE_LATENCY_MS

    lat = LatencyTracker()
    o = Orderer(lat)
    lat.observe("a/m", 300)  # a answers, slowly
    lat.observe("b/m", FAILURE_LATENCY_MS)  # b failed: what Dispatcher._record observes
    assert order("lowest_latency", [A, B], o) == ["a", "b"]


def test_lowest_cost_uses_declared_prices() -> None:
    assert order("lowest_cost", [A, B]) == ["b", "a"]


def test_canary_is_sticky_per_service_and_splits_by_percent() -> None:
    main = Deployment(provider="main", model="m", percent=90)
    canary = Deployment(provider="canary", model="m", percent=10)
    for svc in ("billing", "search", "ops"):
        first = {order("canary", [main, canary], service=svc)[0] for _ in range(20)}
        assert len(first) == 1  # one service always sees one variant
    services = [f"svc-{i}" for i in range(2000)]
    on_canary = sum(order("canary", [main, canary], service=s)[0] == "canary" for s in services)
    assert 120 < on_canary < 290  # about 10%


def test_canary_percent_on_the_canary_alone_leaves_the_rest_to_the_others() -> None:
    main = Deployment(provider="main", model="m")  # no percent: gets what is left, 90%
    canary = Deployment(provider="canary", model="m", percent=10)
    services = [f"svc-{i}" for i in range(2000)]
    on_canary = sum(order("canary", [main, canary], service=s)[0] == "canary" for s in services)
    assert 120 < on_canary < 290  # about 10%, not the 91% a default weight would give


def test_canary_percentages_over_100_are_refused_at_load() -> None:
    from pydantic import ValidationError

    from openclaw.config.schema import ModelAlias

    with pytest.raises(ValidationError, match="add up to 110"):
        ModelAlias(
            strategy="canary",
            deployments=[
                Deployment(provider="a", model="m", percent=60),
                Deployment(provider="b", model="m", percent=50),
            ],
        )


def test_breaker_opens_half_opens_and_closes() -> None:
    events: list[tuple[str, str, str]] = []
    clock = ManualClock()
    b = Breakers(threshold=2, cooldown=0.05, clock=clock)
    b.listeners.append(lambda k, old, new: events.append((k, old, new)))
    assert b.allow("x")
    b.failure("x")
    assert b.allow("x")
    b.failure("x")
    assert not b.allow("x") and b.snapshot()["x"]["state"] == "open"
    clock.advance(0.049)
    assert b.snapshot()["x"]["state"] == "open"  # not a moment before the cooldown ends
    clock.advance(0.011)
    assert b.snapshot()["x"]["state"] == "half_open"
    assert b.allow("x")  # the one probe
    assert not b.allow("x")  # nobody else while it runs
    b.success("x")
    assert b.allow("x") and b.snapshot()["x"]["state"] == "closed"
    assert events == [("x", "closed", "open"), ("x", "half_open", "closed")]


def test_failed_probe_reopens() -> None:
    clock = ManualClock()
    b = Breakers(threshold=1, cooldown=0.05, clock=clock)
    b.failure("x")
    clock.advance(0.06)
    assert b.allow("x")
    b.failure("x")
    assert not b.allow("x") and b.snapshot()["x"]["state"] == "open"
