"""A fresh install's config, real SDK calls to fake OpenAI and Anthropic upstreams: the audit
log, the metrics and the budget ledger carry real costs from genai-prices; an unknown model
records cost_usd null."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakes import AnthropicUpstream, OpenAIUpstream
from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.onboarding.seed import Plan, render_models
from openclaw.providers.registry import ProviderRegistry

BUDGET = """
services:
  - name: billing
    budget: {usd_per_day: 5}
"""


def fresh_install(provider: str, model: str, url: str, key_env: str) -> str:
    # What onboard writes for a detected key, pointed at the fake instead of the internet.
    plan = Plan(provider, model, url, key_env, None)
    return render_models(plan, ProviderRegistry.from_entry_points())


async def chat(gw: Served, model: str = "general") -> None:
    client = openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)
    await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "How many days are in a leap year?"}],
        extra_headers={"X-OpenClaw-Service": "billing"},
    )


async def cost_metric(gw: Served) -> float:
    async with (
        aiohttp.ClientSession() as s,
        s.get(gw.base + "/metrics", headers=gw.auth) as r,
    ):
        text = await r.text()
    return sum(
        sample.value
        for fam in text_string_to_metric_families(text)
        if fam.name == "openclaw_estimated_cost_usd"
        for sample in fam.samples
        if sample.name.endswith("_total")
    )


@pytest.mark.parametrize(
    ("provider", "model", "rates"),
    [
        ("anthropic", "claude-sonnet-4-20250514", (3.0, 15.0)),
        ("openai", "gpt-4o-mini", (0.15, 0.6)),
    ],
)
async def test_a_fresh_install_records_real_costs(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    provider: str,
    model: str,
    rates: tuple[float, float],
) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test-secret")
    upstream = anthropic_upstream if provider == "anthropic" else openai_upstream
    upstream.enqueue(usage=(1200, 300))
    gw = await serve_gateway(
        openclaw_home,
        models=fresh_install(provider, model, upstream.url, "TEST_KEY"),
        policies=SEED_POLICIES + BUDGET,
    )
    try:
        await chat(gw)
        [rec] = gw.audit()
        expected = (1200 * rates[0] + 300 * rates[1]) / 1_000_000
        assert (rec["provider_model"], rec["prompt_tokens"], rec["completion_tokens"]) == (
            model,
            1200,
            300,
        )
        assert rec["cost_usd"] == pytest.approx(expected)
        assert rec["limits"]["charged_usd"] == pytest.approx(expected)
        assert await cost_metric(gw) == pytest.approx(expected)
    finally:
        await gw.close()


async def test_an_unknown_model_records_null_cost_and_a_local_one_zero(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, openai_upstream: OpenAIUpstream
) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test-secret")
    models = f"""\
providers:
  oai: {{type: openai, base_url: "{openai_upstream.url}", api_key: "${{TEST_KEY}}"}}
  studio: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}
models:
  general: {{provider: oai, model: corp-finetune-7}}
  studio: {{provider: studio, model: qwen2.5-7b}}
"""
    gw = await serve_gateway(openclaw_home, models=models, policies=BUDGET)
    try:
        await chat(gw, "general")
        await chat(gw, "studio")
        unknown, local = gw.audit()
        assert unknown["prompt_tokens"] > 0 and unknown["cost_usd"] is None
        # A budgeted service is charged no dollars for it (doctor warns about exactly this).
        assert unknown["limits"].get("charged_usd", 0) == 0
        # An openai_compatible server on loopback is a local model: it costs nothing.
        assert local["cost_usd"] == 0.0
        assert await cost_metric(gw) == 0.0
    finally:
        await gw.close()
