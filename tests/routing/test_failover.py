"""Retries, failover, breakers, deadlines and failure modes under injected faults."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from fakes import OpenAIUpstream, Reply
from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.clock import ManualClock


@pytest.fixture
async def second_upstream() -> AsyncIterator[OpenAIUpstream]:
    async with OpenAIUpstream(default_text="from the backup") as fake:
        yield fake


def two_deployments(
    a: str,
    b: str,
    *,
    strategy: str = "failover",
    retries: int = 2,
    total: float = 5,
    connect: float = 1,
    first_token: float = 2,
    extra: str = "",
    breaker: str = "breaker: {failures: 2, cooldown_seconds: 0.3}",
) -> str:
    return f"""\
{breaker}
providers:
  primary: {{type: openai_compatible, base_url: "{a}"}}
  backup: {{type: openai_compatible, base_url: "{b}"}}
models:
  general:
    strategy: {strategy}
    deployments:
      - {{provider: primary, model: p-model, cost_per_million_input_tokens: 1, cost_per_million_output_tokens: 2}}
      - {{provider: backup, model: b-model}}
    max_retries: {retries}
    timeouts: {{connect: {connect}, first_token: {first_token}, total: {total}}}
{extra}"""


async def make(
    home: Path, models: str, policies: str | None = None, clock: ManualClock | None = None
) -> Served:
    return await serve_gateway(home, models=models, policies=policies, clock=clock)


def sdk(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


async def ask(gw: Served, text: str = "hello", **kw: Any) -> Any:
    return await sdk(gw).chat.completions.with_raw_response.create(
        model="general", messages=[{"role": "user", "content": text}], **kw
    )


@pytest.fixture
async def gw(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, second_upstream: OpenAIUpstream
) -> Any:
    served = await make(openclaw_home, two_deployments(openai_upstream.url, second_upstream.url))
    yield served
    await served.close()


async def test_500_moves_to_the_next_deployment_at_once(
    gw: Served, openai_upstream: OpenAIUpstream, second_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("500")
    t0 = time.perf_counter()
    raw = await ask(gw)
    elapsed = time.perf_counter() - t0
    assert raw.headers["x-openclaw-provider"] == "backup"
    assert elapsed < 0.5  # no backoff between deployments
    rec = gw.audit()[0]
    assert [(a["provider"], a["outcome"]) for a in rec["attempts"]] == [
        ("primary", "upstream_error"),
        ("backup", "ok"),
    ]


async def test_retry_after_is_honoured_when_every_deployment_is_limited(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    models = f"""\
providers:
  only: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}
models:
  general: {{provider: only, model: m, max_retries: 2}}
"""
    served = await make(openclaw_home, models)
    try:
        openai_upstream.enqueue("429:0.3")
        t0 = time.perf_counter()
        raw = await ask(served)
        assert raw.parse().choices[0].message.content
        assert time.perf_counter() - t0 >= 0.3  # waited as the provider asked
        outcomes = [a["outcome"] for a in served.audit()[0]["attempts"]]
        assert outcomes == ["upstream_rate_limited", "ok"]
    finally:
        await served.close()


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "413"])
async def test_client_errors_are_never_retried(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, status: str
) -> None:
    models = f'providers:\n  only: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: only, model: m, max_retries: 3}}\n'
    served = await make(openclaw_home, models)
    try:
        openai_upstream.enqueue(status)
        with pytest.raises(openai.APIStatusError):
            await ask(served)
        assert len(openai_upstream.chat_requests()) == 1
    finally:
        await served.close()


async def test_dead_primary_fails_over_within_connect_timeout_and_breaker_skips_it(
    openclaw_home: Path, second_upstream: OpenAIUpstream
) -> None:
    # 127.0.0.1:9 refuses connections: a primary that is hard down.
    served = await make(
        openclaw_home, two_deployments("http://127.0.0.1:9/v1", second_upstream.url, connect=0.5)
    )
    try:
        t0 = time.perf_counter()
        raw = await ask(served)
        assert time.perf_counter() - t0 < 0.5 + 0.2
        assert raw.headers["x-openclaw-provider"] == "backup"
        await ask(served)  # second failure opens the breaker (failures: 2)
        raw = await ask(served)
        assert raw.headers["x-openclaw-provider"] == "backup"
        attempts = [r["attempts"] for r in served.audit()]
        assert [len(a) for a in attempts] == [2, 2, 1]  # third request skipped the dead one
        async with (
            aiohttp.ClientSession() as s,
            s.get(served.base + "/readyz", headers=served.auth) as r,
        ):
            body = await r.json()
        assert body["breakers"]["primary/p-model"]["state"] == "open"
    finally:
        await served.close()


async def test_breaker_recovers_through_a_probe(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, second_upstream: OpenAIUpstream
) -> None:
    clock = ManualClock()
    served = await make(
        openclaw_home, two_deployments(openai_upstream.url, second_upstream.url), clock=clock
    )
    try:
        openai_upstream.enqueue("500")
        openai_upstream.enqueue("500")
        await ask(served)
        await ask(served)  # breaker on primary opens
        raw = await ask(served)
        assert raw.headers["x-openclaw-provider"] == "backup"
        clock.advance(0.35)  # cooldown passes: one probe goes to primary, which is healthy
        raw = await ask(served)
        assert raw.headers["x-openclaw-provider"] == "primary"
        snap = served.state.gateway.dispatcher.breakers.snapshot()
        assert snap["primary/p-model"]["state"] == "closed"
    finally:
        await served.close()


async def test_deadline_bounds_the_whole_request(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    models = f'providers:\n  only: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: only, model: m, max_retries: 5, timeouts: {{connect: 1, first_token: 5, total: 0.6}}}}\n'
    served = await make(openclaw_home, models)
    try:
        openai_upstream.enqueue("hang:3")
        t0 = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as info:
            await ask(served)
        assert info.value.status_code == 504
        assert time.perf_counter() - t0 < 1.0
    finally:
        await served.close()


async def test_mid_stream_failure_ends_with_an_error_event_and_is_audited(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("cut:2")
    stream = await sdk(gw).chat.completions.create(
        model="general",
        messages=[{"role": "user", "content": "one two three four five six"}],
        stream=True,
    )
    got = []
    with pytest.raises(openai.APIError):
        async for c in stream:
            if c.choices:
                got.append(c.choices[0].delta.content or "")
    assert "".join(got)  # something was delivered before the cut
    rec = gw.audit()[0]
    assert rec["stream_cut"] is True and rec["status"] == 502
    assert rec["chunks_delivered"] >= 1 and rec["chars_delivered"] > 0


async def test_stream_fails_over_before_the_first_byte(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("500")
    stream = await sdk(gw).chat.completions.create(
        model="general", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert "from the backup" in text


async def test_context_too_long_routes_to_a_larger_window(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, second_upstream: OpenAIUpstream
) -> None:
    models = f"""\
providers:
  small: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}
  big: {{type: openai_compatible, base_url: "{second_upstream.url}"}}
models:
  general: {{provider: small, model: s, context_window: 100, fallbacks: [long]}}
  long: {{provider: big, model: b, context_window: 100000}}
  tiny: {{provider: small, model: s, context_window: 50}}
"""
    served = await make(openclaw_home, models)
    try:
        raw = await ask(served, "word " * 400)
        assert raw.headers["x-openclaw-model"] == "long"
        assert openai_upstream.chat_requests() == []  # the small model was never called
        assert served.audit()[0]["fallback"] == "general"
        with pytest.raises(openai.BadRequestError) as info:
            await sdk(served).chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "word " * 400}]
            )
        assert info.value.code == "context_length_exceeded"
        assert openai_upstream.chat_requests() == []  # refused before any call
    finally:
        await served.close()


async def test_content_filter_falls_back_or_returns(
    openclaw_home: Path, openai_upstream: OpenAIUpstream, second_upstream: OpenAIUpstream
) -> None:
    models = f"""\
providers:
  strict: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}
  other: {{type: openai_compatible, base_url: "{second_upstream.url}"}}
models:
  general: {{provider: strict, model: s, on_content_filter: fallback, fallbacks: [alt]}}
  plain: {{provider: strict, model: s}}
  alt: {{provider: other, model: o}}
"""
    served = await make(openclaw_home, models)
    try:
        openai_upstream.enqueue("content_filter")
        raw = await ask(served)
        assert raw.headers["x-openclaw-model"] == "alt"
        assert [a["outcome"] for a in served.audit()[0]["attempts"]] == ["content_filter", "ok"]
        openai_upstream.enqueue("content_filter")
        resp = await sdk(served).chat.completions.create(
            model="plain", messages=[{"role": "user", "content": "x"}]
        )
        assert resp.choices[0].finish_reason == "content_filter"  # default: return it
    finally:
        await served.close()


async def test_json_mode_gets_one_repair_then_a_clear_502(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    models = f'providers:\n  only: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: only, model: m}}\n'
    served = await make(openclaw_home, models)
    try:
        openai_upstream.enqueue(Reply(text="Sure! Here it is: {oops"))
        openai_upstream.enqueue(Reply(text='{"ok": true}'))
        resp = await sdk(served).chat.completions.create(
            model="general",
            messages=[{"role": "user", "content": "json please"}],
            response_format={"type": "json_object"},
        )
        assert json.loads(resp.choices[0].message.content or "") == {"ok": True}
        repair = openai_upstream.chat_requests()[1].json["messages"]
        assert repair[-2]["role"] == "assistant" and "not valid JSON" in repair[-1]["content"]

        openai_upstream.enqueue(Reply(text="nope"))
        openai_upstream.enqueue(Reply(text="still nope"))
        with pytest.raises(openai.APIStatusError) as info:
            await sdk(served).chat.completions.create(
                model="general",
                messages=[{"role": "user", "content": "json please"}],
                response_format={"type": "json_object"},
            )
        assert info.value.status_code == 502 and info.value.code == "invalid_json_output"
    finally:
        await served.close()


async def test_malformed_upstream_output_counts_as_a_failure(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("malformed")
    raw = await ask(gw)
    assert raw.headers["x-openclaw-provider"] == "backup"


async def test_pii_never_fails_over_to_a_remote_deployment(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    second_upstream: OpenAIUpstream,
) -> None:
    from openclaw.providers.openai import OpenAICompatibleProvider

    real = OpenAICompatibleProvider.is_local.fget  # type: ignore[attr-defined]
    # "backup" plays a remote provider; it sits on loopback only because this is a test.
    monkeypatch.setattr(
        OpenAICompatibleProvider,
        "is_local",
        property(lambda self: self.name != "backup" and real(self)),
    )
    models = two_deployments(openai_upstream.url, second_upstream.url) + (
        "  sensitive: {provider: primary, model: local-m, fallbacks: [general]}\n"
    )
    served = await make(openclaw_home, models, SEED_POLICIES)
    try:
        for _ in range(10):  # more than 3 rounds x 2 local candidates
            openai_upstream.enqueue("500")
        with pytest.raises(openai.APIStatusError) as info:
            await ask(served, "card 4111 1111 1111 1111")
        assert info.value.status_code == 503
        assert second_upstream.chat_requests() == []
    finally:
        await served.close()


async def test_cost_is_computed_from_declared_prices(gw: Served) -> None:
    await ask(gw)
    rec = gw.audit()[0]
    expected = (rec["prompt_tokens"] * 1 + rec["completion_tokens"] * 2) / 1_000_000
    assert rec["cost_usd"] == pytest.approx(expected)
    assert rec["cost_usd"] > 0
