"""Effective prices: config over local over the genai-prices snapshot, else unknown."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import genai_prices
import pytest
import yaml
from genai_prices import data_snapshot

from openclaw.config.schema import Deployment, ModelsFile
from openclaw.routing.pricing import (
    SOURCE_CONFIG,
    SOURCE_LOCAL,
    SOURCE_PACKAGE,
    SOURCE_UNKNOWN,
    Price,
    PriceBook,
    Rate,
    package_price,
)
from openclaw.routing.strategies import LatencyTracker, Orderer

MODELS = """\
providers:
  groq: {type: openai_compatible, base_url: "https://api.groq.com/openai/v1"}
  lmstudio: {type: openai_compatible, base_url: "http://127.0.0.1:1234/v1"}
  corp: {type: openai_compatible, base_url: "https://llm.corp.example/v1"}
  claude: {type: anthropic, base_url: "http://127.0.0.1:9/fake"}
models:
  general: {provider: anthropic, model: claude-sonnet-4-20250514}
  proxied: {provider: claude, model: claude-3-5-haiku-latest}
  sensitive: {provider: ollama, model: "llama4:8b"}
  dry: {provider: mock, model: mock-general}
  mini: {provider: openai, model: gpt-4o-mini}
  groq: {provider: groq, model: llama-3.1-8b-instant}
  studio: {provider: lmstudio, model: qwen2.5-7b}
  corp: {provider: corp, model: corp-llm}
  mine: {provider: openai, model: gpt-4o, cost_per_million_input_tokens: 2, cost_per_million_output_tokens: 8}
  half: {provider: openai, model: gpt-4o, cost_per_million_input_tokens: 2}
  half_unknown: {provider: corp, model: corp-llm, cost_per_million_output_tokens: 1}
  free_config: {provider: corp, model: corp-llm, cost_per_million_input_tokens: 0, cost_per_million_output_tokens: 0}
"""


@pytest.fixture
def book() -> PriceBook:
    return PriceBook(ModelsFile.model_validate(yaml.safe_load(MODELS)))


def price(book: PriceBook, alias: str) -> Price:
    return book.price(book.models.models[alias].deployments[0])


@pytest.mark.parametrize(
    ("alias", "source", "input_rate", "output_rate"),
    [
        ("general", SOURCE_PACKAGE, 3.0, 15.0),
        ("proxied", SOURCE_PACKAGE, 0.8, 4.0),  # our provider type, not its base_url, decides
        ("mini", SOURCE_PACKAGE, 0.15, 0.6),
        ("groq", SOURCE_PACKAGE, 0.05, 0.08),  # openai_compatible: matched by its base_url
        ("sensitive", SOURCE_LOCAL, 0.0, 0.0),
        ("dry", SOURCE_LOCAL, 0.0, 0.0),
        ("studio", SOURCE_LOCAL, 0.0, 0.0),  # openai_compatible on loopback
        ("mine", SOURCE_CONFIG, 2.0, 8.0),  # config wins over the package
        ("half", f"{SOURCE_CONFIG} + {SOURCE_PACKAGE}", 2.0, 10.0),
        ("free_config", SOURCE_CONFIG, 0.0, 0.0),
    ],
)
def test_effective_price_and_its_source(
    book: PriceBook, alias: str, source: str, input_rate: float, output_rate: float
) -> None:
    p = price(book, alias)
    assert p.source == source
    assert p.input is not None and p.input.base == pytest.approx(input_rate)
    assert p.output is not None and p.output.base == pytest.approx(output_rate)


def test_the_package_source_names_its_version() -> None:
    assert f"genai-prices {genai_prices.__version__}" == SOURCE_PACKAGE


def test_an_unknown_model_costs_none_not_zero(book: PriceBook) -> None:
    for alias in ("corp", "half_unknown"):
        p = price(book, alias)
        assert p.source == SOURCE_UNKNOWN and not p.known
        assert p.cost(1000, 500) is None
    assert [(a, d.model) for a, d in book.unpriced()] == [
        ("corp", "corp-llm"),
        ("half_unknown", "corp-llm"),
    ]


def test_cost_is_tokens_times_the_rate(book: PriceBook) -> None:
    # claude-sonnet-4: $3 in, $15 out per million.
    assert price(book, "general").cost(1000, 500) == pytest.approx(0.003 + 0.0075)
    assert price(book, "general").cost(None, None) == 0.0
    assert price(book, "sensitive").cost(10_000, 10_000) == 0.0


def test_a_tier_prices_every_token_of_a_long_prompt() -> None:
    p = Price(Rate(3.0, ((200_000, 6.0),)), Rate(15.0, ((200_000, 22.5),)), SOURCE_PACKAGE)
    assert p.cost(200_000, 1000) == pytest.approx(0.6 + 0.015)
    assert p.cost(200_001, 1000) == pytest.approx(200_001 * 6 / 1e6 + 1000 * 22.5 / 1e6)


def test_the_package_tiers_come_through_where_it_has_them() -> None:
    # Gemini 2.5 Pro bills prompts above 200k tokens at a higher rate.
    pin, pout = package_price(
        "openai_compatible",
        "gemini-2.5-pro",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        datetime.now(UTC),
    )
    assert pin is not None and pin.tiers and pin.at(300_000) > pin.at(1000)
    assert pout is not None


def test_pricing_never_opens_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pricing opened a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    book = PriceBook(ModelsFile.model_validate(yaml.safe_load(MODELS)))
    assert price(book, "mini").known
    # genai-prices' own updater is never started: the bundled snapshot is what answers.
    assert data_snapshot.get_snapshot().from_auto_update is False


def test_lowest_cost_orders_by_effective_price_and_puts_unknown_last(book: PriceBook) -> None:
    deps = [
        Deployment(provider="corp", model="corp-llm"),  # unknown
        Deployment(provider="anthropic", model="claude-sonnet-4-20250514"),  # 3 / 15
        Deployment(provider="openai", model="gpt-4o-mini"),  # 0.15 / 0.6
    ]
    order = Orderer(LatencyTracker(), book.price).order(
        "x", "lowest_cost", deps, service="s", est_prompt_tokens=1000
    )
    assert [d.model for d in order] == ["gpt-4o-mini", "claude-sonnet-4-20250514", "corp-llm"]
