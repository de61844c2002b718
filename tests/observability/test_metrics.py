"""``GET /metrics``: parsed with prometheus-client's own parser, counters moved by real requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.errors import OpenClawError, RateLimited
from openclaw.observability.metrics import MAX_FREE_LABELS, OTHER, BoundedLabel
from openclaw.pipeline.exchange import Exchange

PRICED_MODELS = """\
models:
  general:
    provider: mock
    model: mock-general
    cost_per_million_input_tokens: 3000
    cost_per_million_output_tokens: 15000
    use_for: [summarization]
  sensitive:
    provider: mock
    model: mock-local
  flaky:
    provider: mock
    model: mock-flaky
    max_retries: 0
default: general
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def gw(openclaw_home: Path) -> AsyncIterator[Served]:
    served = await serve_gateway(openclaw_home, models=PRICED_MODELS, policies=SEED_POLICIES)
    yield served
    await served.close()


async def scrape_text(gw: Served) -> str:
    async with (
        aiohttp.ClientSession() as s,
        s.get(gw.base + "/metrics", headers=gw.auth) as r,
    ):
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return await r.text()


async def scrape(gw: Served) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(await scrape_text(gw)):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def chat(
    gw: Served,
    content: str,
    model: str = "general",
    *,
    stream: bool = False,
    service: str | None = None,
) -> tuple[int, Any]:
    headers = dict(gw.auth)
    if service:
        headers["X-OpenClaw-Service"] = service
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
    async with (
        aiohttp.ClientSession() as s,
        s.post(gw.url + "/chat/completions", json=body, headers=headers) as r,
    ):
        if stream:
            return r.status, await r.text()
        return r.status, await r.json()


async def test_metrics_need_the_bearer_token(gw: Served) -> None:
    async with aiohttp.ClientSession() as s, s.get(gw.base + "/metrics") as r:
        assert r.status == 401
        body = await r.json()
    assert body["error"]["code"] == "missing_api_key"


async def test_metrics_parse_with_prometheus_client_and_name_every_family(gw: Served) -> None:
    await chat(gw, "hello")
    names = {f.name for f in text_string_to_metric_families(await scrape_text(gw))}
    assert {
        "openclaw_requests",
        "openclaw_upstream_requests",
        "openclaw_request_duration_seconds",
        "openclaw_upstream_duration_seconds",
        "openclaw_time_to_first_token_seconds",
        "openclaw_cache_hits",
        "openclaw_cache_misses",
        "openclaw_rate_limit_blocked",
        "openclaw_estimated_cost_usd",
        "openclaw_tokens",
        "openclaw_pii_reroutes",
        "openclaw_policy_decisions",
        "openclaw_breaker_state",
        "openclaw_build_info",
    } <= names


async def test_openmetrics_is_served_when_asked_for(gw: Served) -> None:
    headers = dict(gw.auth, Accept="application/openmetrics-text; version=1.0.0")
    async with aiohttp.ClientSession() as s, s.get(gw.base + "/metrics", headers=headers) as r:
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await r.text()).rstrip().endswith("# EOF")


async def test_requests_durations_tokens_and_cost_move_with_requests(gw: Served) -> None:
    before = await scrape(gw)
    for _ in range(3):
        status, _ = await chat(gw, "hello there", service="billing")
        assert status == 200
    after = await scrape(gw)

    labels = {"route_id": "general", "status": "200", "method": "POST"}
    assert value(after, "openclaw_requests_total", **labels) - value(
        before, "openclaw_requests_total", **labels
    ) == pytest.approx(3)
    assert value(
        after, "openclaw_upstream_requests_total", upstream_name="mock", status="200"
    ) == pytest.approx(3)
    assert value(
        after,
        "openclaw_request_duration_seconds_count",
        route_id="general",
        upstream_name="mock",
    ) == pytest.approx(3)
    assert value(
        after, "openclaw_upstream_duration_seconds_count", upstream_name="mock"
    ) == pytest.approx(3)

    records = [r for r in gw.audit() if r["service"] == "billing"]
    cost = sum(r["cost_usd"] for r in records)
    assert cost > 0
    assert value(
        after, "openclaw_estimated_cost_usd_total", upstream_name="mock", model_name="general"
    ) == pytest.approx(cost)
    prompt = sum(r["prompt_tokens"] for r in records)
    assert value(
        after, "openclaw_tokens_total", service="billing", model_name="general", kind="prompt"
    ) == pytest.approx(prompt)


async def test_streams_record_time_to_first_token(gw: Served) -> None:
    status, text = await chat(gw, "stream a hello", stream=True)
    assert status == 200 and text.rstrip().endswith("[DONE]")
    after = await scrape(gw)
    assert value(
        after, "openclaw_time_to_first_token_seconds_count", route_id="general"
    ) == pytest.approx(1)
    [record] = gw.audit()
    assert value(
        after, "openclaw_time_to_first_token_seconds_sum", route_id="general"
    ) == pytest.approx(record["ttft_ms"] / 1000.0, abs=1e-3)


async def test_pii_reroutes_and_policy_decisions_are_counted(gw: Served) -> None:
    await chat(gw, "a plain question")
    status, body = await chat(gw, "write to alice@example.com about her invoice")
    assert status == 200 and body["openclaw"]["model"] == "sensitive"
    after = await scrape(gw)
    assert value(
        after, "openclaw_pii_reroutes_total", policy="sensitive_data_local", to_model="sensitive"
    ) == pytest.approx(1)
    pii = {"policy": "sensitive_data_local", "rule": "if_context_contains_pii_use_sensitive_model"}
    assert value(after, "openclaw_policy_decisions_total", **pii, outcome="applied") == 1
    assert value(after, "openclaw_policy_decisions_total", **pii, outcome="pass") == 1
    drafts = {"policy": "no_autonomous_actions", "rule": "all_outputs_are_drafts"}
    assert value(after, "openclaw_policy_decisions_total", **drafts, outcome="applied") == 2
    assert value(after, "openclaw_draft_responses_total", route_id="sensitive") == 1


async def test_a_clients_unknown_model_string_never_becomes_a_label(gw: Served) -> None:
    status, body = await chat(gw, "hi", model="gpt-client-invented-9000")
    assert status == 404 and body["error"]["code"] == "model_not_found"
    text = await scrape_text(gw)
    assert "gpt-client-invented-9000" not in text
    after = await scrape(gw)
    assert value(
        after, "openclaw_requests_total", route_id="unknown", status="404", method="POST"
    ) == pytest.approx(1)


async def test_upstream_failures_are_counted_by_status(gw: Served) -> None:
    status, _ = await chat(gw, "mock:error please", model="flaky")
    assert status == 502
    after = await scrape(gw)
    assert value(
        after, "openclaw_upstream_requests_total", upstream_name="mock", status="500"
    ) == pytest.approx(1)
    assert value(
        after, "openclaw_requests_total", route_id="flaky", status="502", method="POST"
    ) == pytest.approx(1)


class FakeCache:
    """A stand-in for the cache stage: answers prompts that say 'cached', misses others."""

    name = "cache"

    async def before(self, ex: Exchange) -> None:
        last = ex.body["messages"][-1]["content"]
        if "cached" in last:
            ex.cache = "hit"
            ex.response = {
                "id": "chatcmpl-cache",
                "object": "chat.completion",
                "created": 0,
                "model": "cache",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "from cache"},
                        "finish_reason": "stop",
                    }
                ],
            }
        else:
            ex.cache = "miss"


class FakeLimits:
    """A stand-in for the limits stage: refuses prompts that name a limit."""

    name = "limits"

    async def before(self, ex: Exchange) -> None:
        last = ex.body["messages"][-1]["content"]
        if "over-rate" in last:
            raise RateLimited("rate limit reached for service 'default'")
        if "over-budget" in last:
            raise RateLimited("daily budget spent", code="budget_exceeded")
        if "refused-other" in last:
            raise OpenClawError("not a limit", status=429, code="upstream_rate_limited")


async def test_cache_hits_and_misses_are_counted_from_the_exchange(gw: Served) -> None:
    gw.state.gateway.stages.insert(0, FakeCache())
    await chat(gw, "cached answer please")
    await chat(gw, "cached answer please")
    await chat(gw, "fresh answer please")
    after = await scrape(gw)
    assert value(after, "openclaw_cache_hits_total", route_id="general") == 2
    assert value(after, "openclaw_cache_misses_total", route_id="general") == 1


async def test_rate_limit_and_budget_refusals_are_counted(gw: Served) -> None:
    gw.state.gateway.stages.insert(0, FakeLimits())
    assert (await chat(gw, "over-rate"))[0] == 429
    assert (await chat(gw, "over-rate"))[0] == 429
    assert (await chat(gw, "over-budget"))[0] == 429
    assert (await chat(gw, "refused-other"))[0] == 429
    after = await scrape(gw)
    blocked = "openclaw_rate_limit_blocked_total"
    assert value(after, blocked, limit_id="rate_limit_exceeded") == 2
    assert value(after, blocked, limit_id="budget_exceeded") == 1
    assert value(after, blocked, limit_id="upstream_rate_limited") == 0


async def test_breaker_state_is_read_when_scraped(gw: Served) -> None:
    breakers = gw.state.gateway.dispatcher.breakers
    for _ in range(breakers.threshold):
        breakers.failure("mock/mock-flaky")
    after = await scrape(gw)
    state = "openclaw_breaker_state"
    assert value(after, state, deployment="mock/mock-flaky", state="open") == 1
    assert value(after, state, deployment="mock/mock-flaky", state="closed") == 0
    breakers.success("mock/mock-flaky")
    again = await scrape(gw)
    assert value(again, state, deployment="mock/mock-flaky", state="closed") == 1


async def test_counting_survives_a_config_reload(gw: Served) -> None:
    await chat(gw, "before reload")
    (gw.home / "models.yaml").write_text(PRICED_MODELS + "# touched\n")
    result = await gw.state.reload("test")
    assert result.ok
    await chat(gw, "after reload")
    after = await scrape(gw)
    assert value(
        after, "openclaw_requests_total", route_id="general", status="200", method="POST"
    ) == pytest.approx(2)


async def test_in_process_callers_are_labelled_internal(gw: Served) -> None:
    await gw.state.gateway.chat({"messages": [{"role": "user", "content": "hi"}]}, service="bot")
    after = await scrape(gw)
    assert value(
        after, "openclaw_requests_total", route_id="general", status="200", method="internal"
    ) == pytest.approx(1)


def test_free_form_labels_are_bounded() -> None:
    label = BoundedLabel()
    values = [label(f"service-{i}") for i in range(MAX_FREE_LABELS + 10)]
    assert len(set(values)) == MAX_FREE_LABELS + 1
    assert values[-1] == OTHER
    assert label("service-0") == "service-0"  # values seen before the cap keep their label
    assert label("x" * 500) == OTHER
    assert label(None) == "unknown"
