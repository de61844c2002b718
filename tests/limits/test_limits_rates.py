"""Token buckets (requests and tokens; per service, per model, global), concurrency, the
queue and per-upstream quotas, with the memory backend."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest
from limits_helpers import BILLING_TOKEN, call, last_record, sdk, status

from fakes import OpenAIUpstream
from openclaw.errors import RateLimited


def services(rate_limit: str = "", extra: str = "", top: str = "") -> str:
    text = 'services:\n  - name: billing\n    token: "${SVC_BILLING_TOKEN}"\n'
    if rate_limit:
        text += f"    rate_limit: {rate_limit}\n"
    text += extra
    return text + top


async def test_service_requests_per_minute_refuses_with_retry_after(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 60, burst: 2}"))
    assert (await call(gw, BILLING_TOKEN)).status == 200
    assert (await call(gw, BILLING_TOKEN)).status == 200
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 429
    assert r.code == "rate_limit_exceeded"
    assert r.body["error"]["type"] == "rate_limit_error"
    assert "60 requests per minute" in r.body["error"]["message"]
    assert r.headers["retry-after"] == "1"  # one token refills in 1s at 60/min
    assert 0 < int(r.headers["retry-after-ms"]) <= 1000
    assert r.headers["x-openclaw-limit"] == "service:billing:requests"
    rec = last_record(gw)
    assert rec["status"] == 429 and rec["limit"] == "service:billing:requests"
    assert rec["error"]["code"] == "rate_limit_exceeded"
    # another caller is not limited by billing's bucket
    assert (await call(gw)).status == 200


async def test_the_openai_sdk_sees_a_rate_limit_error(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 1}"))
    client = sdk(gw, BILLING_TOKEN)
    msgs = [{"role": "user", "content": "hi"}]
    await client.chat.completions.create(model="general", messages=msgs)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="general", messages=msgs)  # type: ignore[arg-type]
    assert int(info.value.response.headers["retry-after"]) >= 59
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(model="general", messages=msgs, stream=True)  # type: ignore[arg-type]
    await client.close()


async def test_tokens_are_estimated_before_and_settled_after_the_call(serve: Any) -> None:
    gw = await serve(services("{tokens_per_minute: 300}"))
    r = await call(gw, BILLING_TOKEN, max_tokens=250)
    assert r.status == 200
    used = r.body["usage"]["total_tokens"]
    rec = last_record(gw)
    assert rec["limits"]["estimated_tokens"] > 250
    assert rec["limits"]["charged_tokens"] == used
    bucket = (await status(gw))["limits"]["buckets"]["service:billing:tokens"]
    # settled with the real usage, not the estimate (plus a little refill since)
    assert 300 - used - 1 <= bucket["available"] <= 300 - used + 5
    # a request whose estimate needs more than is left is refused, and says which bucket
    r = await call(gw, BILLING_TOKEN, max_tokens=1000)
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "service:billing:tokens"
    assert "300 tokens per minute" in r.body["error"]["message"]


async def test_a_model_limit_applies_to_that_model_only(serve: Any) -> None:
    gw = await serve("limits:\n  models:\n    cheap: {requests_per_minute: 1}\n")
    assert (await call(gw, model="cheap")).status == 200
    r = await call(gw, model="cheap")
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "model:cheap:requests"
    assert (await call(gw, model="general")).status == 200


async def test_a_model_limit_counts_the_model_the_policies_chose(serve: Any) -> None:
    """A PII request for 'general' is served by 'sensitive', so it spends 'sensitive''s
    bucket (the local model's capacity is what that limit protects), not 'general''s."""
    from harness import SEED_POLICIES

    gw = await serve(
        SEED_POLICIES
        + "limits:\n  models:\n    sensitive: {requests_per_minute: 1}\n"
        + "    general: {requests_per_minute: 1}\n"
    )
    pii = "Refund the customer at jane.doe@example.com"
    first = await call(gw, content=pii)
    assert first.status == 200 and first.headers["x-openclaw-model"] == "sensitive"
    r = await call(gw, content=pii + " today")
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "model:sensitive:requests"
    assert last_record(gw)["limit"] == "model:sensitive:requests"
    # 'general''s own bucket was never touched by the rerouted requests.
    assert (await call(gw, content="a clean question")).status == 200


async def test_a_request_a_model_limit_refuses_gives_back_its_service_request_token(
    serve: Any,
) -> None:
    gw = await serve(
        services(
            rate_limit="{requests_per_minute: 2}",
            top="limits:\n  models:\n    cheap: {requests_per_minute: 1}\n",
        )
    )
    assert (await call(gw, BILLING_TOKEN, model="cheap")).status == 200
    for _ in range(3):  # refused by cheap's bucket: billing's bucket keeps its token
        r = await call(gw, BILLING_TOKEN, model="cheap")
        assert r.headers["x-openclaw-limit"] == "model:cheap:requests"
    assert (await call(gw, BILLING_TOKEN, model="general")).status == 200
    r = await call(gw, BILLING_TOKEN, model="general")
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "service:billing:requests"


async def test_a_global_limit_applies_to_every_caller(serve: Any) -> None:
    gw = await serve(services(top="limits:\n  global: {requests_per_minute: 2}\n"))
    assert (await call(gw, BILLING_TOKEN)).status == 200
    assert (await call(gw)).status == 200
    r = await call(gw, headers={"X-OpenClaw-Service": "other"})
    assert r.status == 429 and r.headers["x-openclaw-limit"] == "global:requests"


async def test_buckets_are_taken_all_or_nothing(serve: Any) -> None:
    gw = await serve(
        services(
            "{requests_per_minute: 60, burst: 5}",
            top="limits:\n  global: {requests_per_minute: 1}\n",
        )
    )
    assert (await call(gw, BILLING_TOKEN)).status == 200
    for _ in range(3):
        r = await call(gw, BILLING_TOKEN)
        assert r.status == 429 and r.headers["x-openclaw-limit"] == "global:requests"
    buckets = (await status(gw))["limits"]["buckets"]
    # the service bucket paid for the one admitted request only
    assert 4 <= buckets["service:billing:requests"]["available"] < 5


async def test_in_process_callers_are_limited_too(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 1}"))
    body = {"messages": [{"role": "user", "content": "hi"}]}
    await gw.state.gateway.chat(body, service="billing")
    with pytest.raises(RateLimited):
        await gw.state.gateway.chat(body, service="billing")


async def test_refusals_show_in_status_metrics_and_events(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openclaw.pipeline.stage import EventRelay

    seen: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        EventRelay, "emit", lambda self, kind, data=None, key=None: seen.append((kind, data or {}))
    )
    gw = await serve(services("{requests_per_minute: 1}"))
    await call(gw, BILLING_TOKEN)
    assert (await call(gw, BILLING_TOKEN)).status == 429
    lim = (await status(gw))["limits"]
    assert lim["refused"] == {"service:billing:requests": 1}
    assert lim["state"] == {"backend": "memory", "local": True}
    assert lim["buckets"]["service:billing:requests"]["capacity"] == 1
    async with httpx.AsyncClient(base_url=gw.base, headers=gw.auth) as c:
        text = (await c.get("/metrics")).text
    assert 'openclaw_rate_limit_blocked_total{limit_id="service:billing:requests"} 1.0' in text
    assert seen == [
        (
            "rate_limited",
            {
                "limit": "service:billing:requests",
                "service": "billing",
                "model": "general",
                "request_id": last_record(gw)["request_id"],
            },
        )
    ]


# -- concurrency and the queue -------------------------------------------------------------

FAKE_MODELS = """\
providers:
  fake: {{type: openai_compatible, base_url: "{url}"}}
models:
  general: {{provider: fake, model: gpt-fake}}
"""


async def _wait_for_upstream(fake: OpenAIUpstream, n: int) -> None:
    for _ in range(200):
        if len(fake.chat_requests()) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the upstream never saw the request")


async def test_max_concurrent_refuses_while_the_slot_is_held(
    serve: Any, openai_upstream: OpenAIUpstream
) -> None:
    gw = await serve(
        services(extra="    max_concurrent: 1\n"),
        models=FAKE_MODELS.format(url=openai_upstream.url),
    )
    slow = asyncio.create_task(call(gw, BILLING_TOKEN, content="fake-fault:hang:0.4"))
    await _wait_for_upstream(openai_upstream, 1)
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 429
    assert r.headers["x-openclaw-limit"] == "service:billing:concurrency"
    assert r.headers["retry-after"] == "1"
    assert "1 requests in flight" in r.body["error"]["message"]
    assert (await slow).status == 200
    assert (await call(gw, BILLING_TOKEN)).status == 200  # the slot came back


async def test_a_stream_holds_its_slot_until_it_ends(
    serve: Any, openai_upstream: OpenAIUpstream
) -> None:
    gw = await serve(
        services(extra="    max_concurrent: 1\n"),
        models=FAKE_MODELS.format(url=openai_upstream.url),
    )
    client = sdk(gw, BILLING_TOKEN)
    stream = await client.chat.completions.create(
        model="general",
        messages=[{"role": "user", "content": "fake-fault:slow:0.02"}],  # streams until we leave
        stream=True,
    )
    await stream.__anext__()
    assert (await call(gw, BILLING_TOKEN)).status == 429
    await stream.close()  # the client goes away: the gateway ends the stream and frees the slot
    for _ in range(100):
        r = await call(gw, BILLING_TOKEN)
        if r.status == 200:
            break
        await asyncio.sleep(0.01)
    assert r.status == 200
    await client.close()


async def test_the_queue_waits_for_a_request_token_instead_of_refusing(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 600, burst: 1, queue: {max_wait_ms: 800}}"))
    results = await asyncio.gather(*(call(gw, BILLING_TOKEN) for _ in range(3)))
    assert [r.status for r in results] == [200, 200, 200]
    queued = [r.get("queued_ms") for r in gw.audit() if r.get("queued_ms")]
    assert len(queued) == 2 and max(queued) >= 100  # 600/min: one every 100 ms


async def test_the_queue_is_bounded_by_its_wait(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 6, burst: 1, queue: {max_wait_ms: 300}}"))
    assert (await call(gw, BILLING_TOKEN)).status == 200
    r = await call(gw, BILLING_TOKEN)  # the next token is 10 s away: no point waiting
    assert r.status == 429 and int(r.headers["retry-after"]) == 10
    assert "queued_ms" not in last_record(gw)


async def test_the_queue_is_bounded_by_its_size(serve: Any) -> None:
    gw = await serve(
        services("{requests_per_minute: 120, burst: 1, queue: {max_wait_ms: 900, max_waiting: 1}}")
    )
    results = await asyncio.gather(*(call(gw, BILLING_TOKEN) for _ in range(3)))
    assert sorted(r.status for r in results) == [200, 200, 429]


async def test_the_queue_waits_for_a_concurrency_slot(
    serve: Any, openai_upstream: OpenAIUpstream
) -> None:
    gw = await serve(
        services(extra="    max_concurrent: 1\n", top="limits:\n  queue: {max_wait_ms: 900}\n"),
        models=FAKE_MODELS.format(url=openai_upstream.url),
    )
    slow = asyncio.create_task(call(gw, BILLING_TOKEN, content="fake-fault:hang:0.3"))
    await _wait_for_upstream(openai_upstream, 1)
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 200
    assert (await slow).status == 200
    assert last_record(gw)["queued_ms"] >= 150


async def test_a_client_leaving_the_queue_frees_its_place(serve: Any) -> None:
    gw = await serve(services("{requests_per_minute: 60, burst: 1, queue: {max_wait_ms: 5000}}"))
    assert (await call(gw, BILLING_TOKEN)).status == 200
    waiting = asyncio.create_task(call(gw, BILLING_TOKEN))
    await asyncio.sleep(0.1)
    stage = next(s for s in gw.state.gateway.stages if s.name == "limits")
    assert stage.waiting == 1  # type: ignore[attr-defined]
    waiting.cancel()
    await asyncio.sleep(0.05)
    assert stage.waiting == 0  # type: ignore[attr-defined]


# -- per-upstream quotas -----------------------------------------------------------------

QUOTA_MODELS = """\
providers:
  primary: {type: mock, requests_per_minute: 1}
  backup: {type: mock}
models:
  general:
    deployments:
      - {provider: primary, model: mock-a}
      - {provider: backup, model: mock-b}
  only:
    provider: primary
    model: mock-a
    max_retries: 0
default: general
"""


async def test_a_provider_over_its_quota_fails_over_like_a_429(serve: Any) -> None:
    gw = await serve("", models=QUOTA_MODELS)
    r = await call(gw)
    assert r.status == 200 and r.headers["x-openclaw-provider"] == "primary"
    r = await call(gw)
    assert r.status == 200 and r.headers["x-openclaw-provider"] == "backup"
    rec = last_record(gw)
    assert rec["attempts"][0]["deployment"] == "primary/mock-a"
    assert rec["attempts"][0]["outcome"] == "provider_quota_exceeded"
    assert rec["attempts"][0]["status"] is None  # no call was made
    assert "limit" not in rec  # served: nothing refused it
    breakers = gw.state.gateway.dispatcher.breakers.snapshot()
    assert breakers.get("primary/mock-a", {}).get("failures", 0) == 0  # healthy, just busy
    # The skip is not an upstream request: only the two real calls are counted.
    async with httpx.AsyncClient(base_url=gw.base, headers=gw.auth) as c:
        text = (await c.get("/metrics")).text
    calls = [
        line
        for line in text.splitlines()
        if line.startswith("openclaw_upstream_requests_total{") and not line.endswith(" 0.0")
    ]
    assert sorted(calls) == sorted(
        [
            'openclaw_upstream_requests_total{status="200",upstream_name="backup"} 1.0',
            'openclaw_upstream_requests_total{status="200",upstream_name="primary"} 1.0',
        ]
    ), calls


async def test_a_provider_over_its_quota_with_nowhere_to_go_answers_429(serve: Any) -> None:
    gw = await serve("", models=QUOTA_MODELS)
    assert (await call(gw, model="only")).status == 200
    r = await call(gw, model="only")
    assert r.status == 429 and r.code == "rate_limit_exceeded"
    assert r.headers["x-openclaw-limit"] == "provider:primary:requests"
    assert last_record(gw)["limit"] == "provider:primary:requests"
    assert int(r.headers["retry-after"]) >= 59
    assert "providers.primary.requests_per_minute" in r.body["error"]["message"]
    lim = (await status(gw))["limits"]
    assert lim["refused"]["provider:primary:requests"] >= 1
    assert "provider:primary:requests" in lim["buckets"]
