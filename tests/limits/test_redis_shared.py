"""Two gateway instances on one Redis share limits, budgets, concurrency and the cache; a
Redis outage gets the configured ``state.on_unavailable`` behaviour, and recovery returns
to the shared state."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from limits_helpers import BILLING_TOKEN, MODELS, call, last_record, status
from limits_redis import RedisServer, state_yaml

from fakes import OpenAIUpstream
from harness import Served, serve_gateway

FAKE_MODELS = """\
providers:
  fake: {{type: openai_compatible, base_url: "{url}"}}
models:
  general: {{provider: fake, model: gpt-fake}}
"""

#: Longer than ``recheck_ms: 50`` from ``state_yaml``: the next request tries Redis again.
AFTER_RECHECK = 0.08


def billing(spec: str = "") -> str:
    return 'services:\n  - name: billing\n    token: "${SVC_BILLING_TOKEN}"\n' + spec


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Any]:
    """``await pair(policies, models)``: two instances, each with its own home and port."""
    running: list[Served] = []

    async def start(policies: str, models: str = MODELS) -> tuple[Served, Served]:
        out = []
        for name in ("a", "b"):
            home = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}"
            home.mkdir()
            served = await serve_gateway(home, models=models, policies=policies)
            running.append(served)
            out.append(served)
        assert out[0].server.port != out[1].server.port
        return out[0], out[1]

    yield start
    for s in running:
        await s.close()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}:"


async def post_chat(
    client: httpx.AsyncClient, content: str = "hello", **body: Any
) -> httpx.Response:
    return await client.post(
        "/v1/chat/completions",
        json={"model": "general", "messages": [{"role": "user", "content": content}], **body},
    )


def billing_client(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=served.base,
        headers={"Authorization": f"Bearer {BILLING_TOKEN}"},
        limits=httpx.Limits(max_connections=100),
        timeout=30,
    )


# -- one set of limits for every instance -------------------------------------------------


async def test_two_instances_share_one_rate_limit_exactly(
    pair: Any, redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    # A bucket of 50 that refills one token a minute: the count is exact however long the
    # 100 requests take.
    p = prefix()
    a, b = await pair(
        billing("    rate_limit: {requests_per_minute: 1, burst: 50}\n")
        + state_yaml(redis_server.url, prefix=p)
    )
    async with billing_client(a) as ca, billing_client(b) as cb:
        results = await asyncio.gather(*(post_chat(ca if i % 2 else cb) for i in range(100)))
    codes = [r.status_code for r in results]
    assert codes.count(200) == 50 and codes.count(429) == 50
    for r in results:
        if r.status_code == 429:
            assert r.headers["x-openclaw-limit"] == "service:billing:requests"
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
    admitted = [len([r for r in s.audit() if r.get("status") == 200]) for s in (a, b)]
    assert sum(admitted) == 50
    level = await redis_client.hget(f"{p}rl:service:billing:requests", "v")
    assert level is not None and float(level) < 1


async def test_two_instances_share_one_requests_per_minute_limit(
    pair: Any, redis_server: RedisServer
) -> None:
    a, b = await pair(
        "limits:\n  global: {requests_per_minute: 50}\n" + state_yaml(redis_server.url)
    )
    started = time.monotonic()
    async with (
        httpx.AsyncClient(base_url=a.base, headers=a.auth) as ca,
        httpx.AsyncClient(base_url=b.base, headers=b.auth) as cb,
    ):
        results = await asyncio.gather(*(post_chat(ca if i % 2 else cb) for i in range(100)))
    elapsed = time.monotonic() - started
    admitted = sum(r.status_code == 200 for r in results)
    refused = [r for r in results if r.status_code == 429]
    # 50 at once, plus whatever refilled (50/min) while the requests ran; never 100
    assert 50 <= admitted <= 50 + int(elapsed * 50 / 60)
    assert len(refused) == 100 - admitted
    assert {r.headers["x-openclaw-limit"] for r in refused} == {"global:requests"}
    # the status of either instance shows the one shared bucket, close to empty
    bucket = (await status(b))["limits"]["buckets"]["global:requests"]
    assert bucket["available"] < 1 + (time.monotonic() - started) * 50 / 60


async def test_instances_with_other_prefixes_do_not_share(
    pair: Any, redis_server: RedisServer
) -> None:
    limit = billing("    rate_limit: {requests_per_minute: 1}\n")
    a, _ = await pair(limit + state_yaml(redis_server.url))
    c, _ = await pair(limit + state_yaml(redis_server.url))  # a prefix of its own
    assert (await call(a, BILLING_TOKEN)).status == 200
    assert (await call(a, BILLING_TOKEN)).status == 429
    assert (await call(c, BILLING_TOKEN)).status == 200


async def test_two_instances_share_one_concurrency_limit(
    pair: Any, redis_server: RedisServer, openai_upstream: OpenAIUpstream
) -> None:
    a, b = await pair(
        billing("    max_concurrent: 1\n") + state_yaml(redis_server.url),
        models=FAKE_MODELS.format(url=openai_upstream.url),
    )
    slow = asyncio.create_task(call(a, BILLING_TOKEN, content="fake-fault:hang:1"))
    for _ in range(200):
        if openai_upstream.chat_requests():
            break
        await asyncio.sleep(0.01)
    assert openai_upstream.chat_requests(), "the upstream never saw the slow request"
    r = await call(b, BILLING_TOKEN)
    assert r.status == 429
    assert r.headers["x-openclaw-limit"] == "service:billing:concurrency"
    assert "1 requests in flight" in r.body["error"]["message"]
    in_flight = (await status(b))["limits"]["services"]["billing"]["in_flight"]
    assert in_flight == 1
    assert (await slow).status == 200
    assert (await call(b, BILLING_TOKEN)).status == 200  # A's slot was released in Redis
    assert (await status(a))["limits"]["services"]["billing"]["in_flight"] == 0


async def test_two_instances_share_one_budget(
    pair: Any, redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    p = prefix()
    a, b = await pair(
        billing("    budget: {usd_per_day: 0.5}\n") + state_yaml(redis_server.url, prefix=p)
    )
    assert (await call(a, BILLING_TOKEN)).status == 200
    spent = last_record(a)
    r = await call(b, BILLING_TOKEN)
    assert r.status == 429 and r.code == "budget_exceeded"
    assert r.headers["x-openclaw-limit"] == "budget:billing:usd_per_day"
    rec = last_record(b)
    assert rec["budget"]["spent_usd"] == round(spent["cost_usd"], 6)
    assert rec["budget"]["spent_tokens"] == spent["limits"]["charged_tokens"]
    keys = [k.decode() async for k in redis_client.scan_iter(f"{p}budget:billing:*")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 3 * 86400
    assert (await call(a, BILLING_TOKEN)).status == 429


async def test_two_instances_share_one_cache(
    pair: Any, redis_server: RedisServer, openai_upstream: OpenAIUpstream
) -> None:
    a, b = await pair(
        "cache:\n  enabled: true\n" + state_yaml(redis_server.url),
        models=FAKE_MODELS.format(url=openai_upstream.url),
    )
    first = await call(a, content="what is 2+2?", temperature=0)
    assert first.status == 200 and first.headers["x-openclaw-cache"] == "miss"
    again = await call(b, content="what is 2+2?", temperature=0)
    assert again.status == 200 and again.headers["x-openclaw-cache"] == "hit"
    assert again.body["choices"] == first.body["choices"]
    assert len(openai_upstream.chat_requests()) == 1
    rec = last_record(b)
    assert rec["cache"] == "hit" and rec["provider"] is None
    assert rec["attempts"] == []
    assert (await status(b))["limits"]["cache"]["entries"] == 1


# -- Redis going away and coming back ------------------------------------------------------


async def test_limits_fail_open_use_each_instances_own_buckets_then_redis_again(
    pair: Any, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await pair(
        billing("    rate_limit: {requests_per_minute: 1, burst: 3}\n")
        + state_yaml(own_redis.url, on_unavailable="{limits: fail_open}")
    )
    assert (await call(a, BILLING_TOKEN)).status == 200  # one token of the shared bucket

    caplog.set_level(logging.WARNING, logger="openclaw.state")
    own_redis.stop()
    # every instance limits on its own: three each, from a full local bucket
    for served in (a, b):
        for _ in range(3):
            assert (await call(served, BILLING_TOKEN)).status == 200
        r = await call(served, BILLING_TOKEN)
        assert r.status == 429 and r.headers["x-openclaw-limit"] == "service:billing:requests"
    down = (await status(a))["limits"]["state"]
    assert down["reachable"] is False and down["degraded_since"] is not None
    assert any("is unreachable" in m and "fall back" in m for m in caplog.messages)

    own_redis.start()  # same port, empty: the shared bucket starts full again
    await asyncio.sleep(AFTER_RECHECK)
    assert (await call(a, BILLING_TOKEN)).status == 200
    assert (await call(b, BILLING_TOKEN)).status == 200
    assert (await call(a, BILLING_TOKEN)).status == 200
    r = await call(b, BILLING_TOKEN)  # the fourth across both: the shared count is back
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "service:billing:requests"
    up = (await status(b))["limits"]["state"]
    assert up["reachable"] is True and up["degraded_since"] is None
    assert any("reachable again" in m for m in caplog.messages)


async def test_budgets_fail_closed_answer_503_state_unavailable_while_redis_is_down(
    pair: Any, own_redis: RedisServer
) -> None:
    a, _ = await pair(
        billing("    budget: {usd_per_day: 1000}\n")
        + state_yaml(own_redis.url, on_unavailable="{limits: fail_open, budgets: fail_closed}")
    )
    assert (await call(a, BILLING_TOKEN)).status == 200
    own_redis.stop()
    r = await call(a, BILLING_TOKEN)
    assert r.status == 503
    assert r.code == "state_unavailable"
    assert r.headers["retry-after"] == "1"
    assert "on_unavailable.budgets is fail_closed" in r.body["error"]["message"]
    assert last_record(a)["error"]["code"] == "state_unavailable"
    assert last_record(a)["provider"] is None  # nothing was spent without the ledger
    assert (await call(a)).status == 200  # a service without a budget is still served

    own_redis.start()
    await asyncio.sleep(AFTER_RECHECK)
    assert (await call(a, BILLING_TOKEN)).status == 200


async def test_budgets_fail_open_keep_serving_on_this_instances_ledger(
    pair: Any, own_redis: RedisServer
) -> None:
    a, b = await pair(
        billing("    budget: {usd_per_day: 0.5}\n")
        + state_yaml(own_redis.url, on_unavailable="{budgets: fail_open}")
    )
    own_redis.stop()
    assert (await call(a, BILLING_TOKEN)).status == 200  # served, charged locally
    r = await call(a, BILLING_TOKEN)
    assert r.status == 429 and r.code == "budget_exceeded"  # by A's own ledger
    assert (await call(b, BILLING_TOKEN)).status == 200  # B's ledger is its own

    own_redis.start()
    await asyncio.sleep(AFTER_RECHECK)
    # back on the shared ledger (empty after the restart): one spend there blocks both
    assert (await call(a, BILLING_TOKEN)).status == 200
    r = await call(b, BILLING_TOKEN)
    assert r.status == 429 and r.code == "budget_exceeded"


async def test_a_hung_redis_times_out_and_is_treated_as_down(
    pair: Any, own_redis: RedisServer
) -> None:
    p = prefix()
    a, _ = await pair(
        billing("    rate_limit: {requests_per_minute: 1, burst: 10}\n")
        + state_yaml(own_redis.url, prefix=p, timeout_ms=100, on_unavailable="{limits: fail_open}")
    )
    assert (await call(a, BILLING_TOKEN)).status == 200
    assert own_redis.proc is not None
    own_redis.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert (await call(a, BILLING_TOKEN)).status == 200  # a timeout, then the local bucket
        assert (await call(a, BILLING_TOKEN)).status == 200
        assert time.monotonic() - started < 2
        assert (await status(a))["limits"]["state"]["reachable"] is False
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    await asyncio.sleep(AFTER_RECHECK)
    assert (await call(a, BILLING_TOKEN)).status == 200
    # Back on Redis, and the replies still pending from the hang are not taken for answers
    # to new commands: the gateway reads the same level as Redis holds. (A command that
    # timed out may still have run when Redis woke up, so the shared bucket paid 1 or 2.)
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        held = float(await client.hget(f"{p}rl:service:billing:requests", "v") or "nan")
    finally:
        await client.aclose()
    seen = (await status(a))["limits"]["buckets"]["service:billing:requests"]["available"]
    assert 6 <= held < 8 and abs(seen - held) < 0.1
    assert (await status(a))["limits"]["state"]["reachable"] is True


async def test_a_gateway_starts_and_serves_while_redis_is_down(
    pair: Any, own_redis: RedisServer
) -> None:
    own_redis.stop()
    a, b = await pair(
        billing("    rate_limit: {requests_per_minute: 1, burst: 1}\n") + state_yaml(own_redis.url)
    )
    assert (await call(a, BILLING_TOKEN)).status == 200
    assert (await call(b, BILLING_TOKEN)).status == 200  # each on its own bucket
    own_redis.start()
    await asyncio.sleep(AFTER_RECHECK)
    assert (await call(a, BILLING_TOKEN)).status == 200
    assert (await call(b, BILLING_TOKEN)).status == 429  # shared again


async def test_token_limits_are_settled_in_the_shared_bucket(
    pair: Any, redis_server: RedisServer
) -> None:
    a, b = await pair(
        billing("    rate_limit: {tokens_per_minute: 600}\n") + state_yaml(redis_server.url)
    )
    started = time.monotonic()
    r = await call(a, BILLING_TOKEN, max_tokens=400)
    assert r.status == 200
    used = r.body["usage"]["total_tokens"]
    assert last_record(a)["limits"]["estimated_tokens"] > 400 > used
    # B sees A's real usage, not A's estimate (plus the refill since, 10 tokens a second)
    level = (await status(b))["limits"]["buckets"]["service:billing:tokens"]["available"]
    assert 600 - used - 1 <= level <= 600 - used + 10 * (time.monotonic() - started)
    r = await call(b, BILLING_TOKEN, max_tokens=600 - used + 50)
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "service:billing:tokens"


async def test_the_queue_waits_for_a_token_of_the_shared_bucket(
    pair: Any, redis_server: RedisServer
) -> None:
    a, b = await pair(
        billing("    rate_limit: {requests_per_minute: 600, burst: 1, queue: {max_wait_ms: 800}}\n")
        + state_yaml(redis_server.url)
    )
    results = await asyncio.gather(*(call(s, BILLING_TOKEN) for s in (a, b, a)))
    assert [r.status for r in results] == [200, 200, 200]
    queued = [r["queued_ms"] for s in (a, b) for r in s.audit() if r.get("queued_ms")]
    # one token every 100 ms, shared by both instances: two of the three waited
    assert len(queued) == 2 and max(queued) >= 100


async def test_limits_fail_closed_answer_503_for_a_limited_service_while_redis_is_down(
    pair: Any, own_redis: RedisServer
) -> None:
    a, _ = await pair(
        billing("    rate_limit: {requests_per_minute: 60}\n")
        + state_yaml(own_redis.url, on_unavailable="{limits: fail_closed}")
    )
    assert (await call(a, BILLING_TOKEN)).status == 200
    own_redis.stop()
    r = await call(a, BILLING_TOKEN)
    assert r.status == 503 and r.code == "state_unavailable"
    assert "on_unavailable.limits is fail_closed" in r.body["error"]["message"]
    assert (await call(a)).status == 200  # no limit applies to this caller
    own_redis.start()
    await asyncio.sleep(AFTER_RECHECK)
    assert (await call(a, BILLING_TOKEN)).status == 200
