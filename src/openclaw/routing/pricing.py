"""What a call costs: one price per deployment, and where that price came from.

A deployment's price per million input and output tokens comes, side by side, from the first
of:

1. ``cost_per_million_input_tokens`` / ``cost_per_million_output_tokens`` in models.yaml
   (source ``config``);
2. a local model (an ``ollama`` or ``mock`` provider, or an ``openai_compatible`` one whose
   ``base_url`` is on this machine) costs nothing (source ``local``);
3. the genai-prices package's bundled snapshot for the provider and model (source
   ``genai-prices <version>``): OpenAI and Anthropic by provider id, an
   ``openai_compatible`` provider by its ``base_url`` (Groq, Together, Mistral...), with the
   package's long-context tiers;
4. otherwise the price is unknown, the audit record's ``cost_usd`` is ``null`` (not 0) and
   ``openclaw doctor`` warns that a dollar budget cannot see that model's spend.

Nothing is downloaded: genai-prices can refresh its data from the internet, but only through
``genai_prices.UpdatePrices``, which the gateway never starts; its bundled data is what a
release of the package ships. Prices are resolved when the config loads (so the package's
data is read then, not on the first request) and again on the first call of each UTC day,
since the package dates some price changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import TieredPrices

from openclaw.addresses import is_local_url
from openclaw.config.schema import Deployment, ModelsFile, ProviderConfig

SOURCE_CONFIG = "config"
SOURCE_LOCAL = "local"
SOURCE_UNKNOWN = "unknown"
SOURCE_PACKAGE = f"genai-prices {genai_prices.__version__}"
LOCAL_TYPES = frozenset({"ollama", "mock"})
# Our provider types that are the package's providers under the same id.
PACKAGE_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic"}


@dataclass(frozen=True, slots=True)
class Rate:
    """USD per million tokens; above a tier's start (total input tokens) its price applies
    to all the tokens, as Anthropic and Google bill long contexts."""

    base: float
    tiers: tuple[tuple[int, float], ...] = ()

    def at(self, input_tokens: int) -> float:
        for start, price in reversed(self.tiers):
            if input_tokens > start:
                return price
        return self.base

    def describe(self) -> str:
        extra = "".join(f", {p:g} above {s:,}" for s, p in self.tiers)
        return f"{self.base:g}{extra}"


@dataclass(frozen=True, slots=True)
class Price:
    input: Rate | None
    output: Rate | None
    source: str

    @property
    def known(self) -> bool:
        return self.input is not None and self.output is not None

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """USD for one call, or None when the price is unknown.

        A call with no output tokens (an embedding) needs only the input price: embedding
        models have none for output."""
        p, c = prompt_tokens or 0, completion_tokens or 0
        if self.input is None or (c and self.output is None):
            return None
        out = c * self.output.at(p) if self.output is not None else 0.0
        return round((p * self.input.at(p) + out) / 1_000_000, 8)

    def per_call(self, prompt_tokens: int, completion_tokens: int) -> float:
        """For ordering deployments by price: an unknown price sorts last."""
        cost = self.cost(prompt_tokens, completion_tokens)
        return float("inf") if cost is None else cost


def config_price(dep: Deployment) -> Price:
    """The price models.yaml gives a deployment, and nothing else."""
    i, o = dep.cost_per_million_input_tokens, dep.cost_per_million_output_tokens
    return Price(
        None if i is None else Rate(i),
        None if o is None else Rate(o),
        SOURCE_CONFIG if i is not None and o is not None else SOURCE_UNKNOWN,
    )


def _rate(value: Decimal | TieredPrices | None) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, TieredPrices):
        return Rate(float(value.base), tuple((t.start, float(t.price)) for t in value.tiers))
    return Rate(float(value))


def package_price(
    provider_type: str, model: str, base_url: str | None, when: datetime
) -> tuple[Rate | None, Rate | None]:
    """The genai-prices snapshot's (input, output) rates, or (None, None)."""
    provider_id = PACKAGE_PROVIDER_IDS.get(provider_type)
    api_url = base_url if provider_id is None and provider_type == "openai_compatible" else None
    if provider_id is None and not api_url:
        return None, None
    try:
        _, info = get_snapshot().find_provider_model(model, None, provider_id, api_url)
    except LookupError:
        return None, None
    prices = info.get_prices(when)
    return _rate(prices.input_mtok), _rate(prices.output_mtok)


def resolve(
    dep: Deployment, provider_type: str, provider: ProviderConfig | None, when: datetime
) -> Price:
    """The effective price of one deployment (see the module docstring for the order)."""
    own = config_price(dep)
    if own.known:
        return own
    base_url = provider.base_url if provider is not None else None
    if provider_type in LOCAL_TYPES or (
        provider_type == "openai_compatible" and base_url and is_local_url(base_url)
    ):
        free = Rate(0.0)
        source = SOURCE_LOCAL if own.input is None and own.output is None else "config + local"
        return Price(own.input or free, own.output or free, source)
    pin, pout = package_price(provider_type, dep.model, base_url, when)
    i, o = own.input or pin, own.output or pout
    if i is None or o is None:
        return Price(i, o, SOURCE_UNKNOWN)
    if own.input is None and own.output is None:
        return Price(i, o, SOURCE_PACKAGE)
    return Price(i, o, f"{SOURCE_CONFIG} + {SOURCE_PACKAGE}")


class PriceBook:
    """Every deployment's price under one models.yaml, resolved once per UTC day."""

    def __init__(self, models: ModelsFile) -> None:
        self.models = models
        self._day = -1
        self._prices: dict[tuple[str, str, float | None, float | None], Price] = {}
        for spec in models.models.values():
            for dep in spec.deployments:
                self.price(dep)

    def provider_type(self, dep: Deployment) -> str:
        cfg = self.models.providers.get(dep.provider)
        return cfg.type if cfg is not None else dep.provider

    def price(self, dep: Deployment) -> Price:
        day = int(time.time() // 86400)  # the UTC day, cheaply: prices are looked up per call
        if day != self._day:
            self._prices.clear()
            self._day = day
        key = (
            dep.provider,
            dep.model,
            dep.cost_per_million_input_tokens,
            dep.cost_per_million_output_tokens,
        )
        found = self._prices.get(key)
        if found is None:
            found = self._prices[key] = resolve(
                dep,
                self.provider_type(dep),
                self.models.providers.get(dep.provider),
                datetime.now(UTC),
            )
        return found

    def unpriced(self) -> list[tuple[str, Deployment]]:
        """(alias, deployment) for every deployment whose price is unknown."""
        return [
            (alias, dep)
            for alias, spec in self.models.models.items()
            for dep in spec.deployments
            if not self.price(dep).known
        ]
