"""Ordering an alias's deployments for one request.

Every strategy returns all deployments, best first, so failover always has somewhere to go:
``failover`` keeps the file order, ``round_robin`` rotates (one turn per request that reaches
the alias, not per request that merely lists it as a fallback), ``weighted`` draws by weight,
``lowest_latency`` sorts by a decaying average of observed latency (time to first token for
streams), ``lowest_cost`` by effective price (routing/pricing.py) for the estimated tokens, and ``canary`` picks a
variant by percentage, sticky per service (a hash, so every gateway instance agrees).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

from openclaw.config.schema import Deployment
from openclaw.routing.pricing import Price, config_price


def deployment_key(d: Deployment) -> str:
    return f"{d.provider}/{d.model}"


class LatencyTracker:
    """Exponentially weighted moving average of latency per deployment."""

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.values: dict[str, float] = {}

    def observe(self, key: str, ms: float) -> None:
        prev = self.values.get(key)
        self.values[key] = ms if prev is None else prev + self.alpha * (ms - prev)

    def get(self, key: str) -> float | None:
        return self.values.get(key)


class Orderer:
    def __init__(
        self, latency: LatencyTracker, price_of: Callable[[Deployment], Price] = config_price
    ) -> None:
        self.latency = latency
        self.price_of = price_of  # lowest_cost: the dispatcher's PriceBook
        self._rr: dict[str, int] = {}

    def order(
        self,
        alias: str,
        strategy: str,
        deps: Sequence[Deployment],
        *,
        service: str,
        est_prompt_tokens: int,
        est_completion_tokens: int = 256,
        advance: bool = True,
    ) -> list[Deployment]:
        """``advance=False`` leaves a round-robin rotation where it is (see :meth:`advance`)."""
        deps = list(deps)
        if len(deps) <= 1 or strategy == "failover":
            return deps
        if strategy == "round_robin":
            n = self._rr.get(alias, 0)
            if advance:
                self._rr[alias] = n + 1
            k = n % len(deps)
            return deps[k:] + deps[:k]
        if strategy == "weighted":
            return _weighted_order(deps, [d.weight for d in deps], random.random)
        if strategy == "lowest_latency":
            # Unmeasured deployments go first so each gets measured once.
            def lat(d: Deployment) -> float:
                v = self.latency.get(deployment_key(d))
                return -1.0 if v is None else v

            return sorted(deps, key=lat)
        if strategy == "lowest_cost":
            # A deployment without a known price goes last: it may be the dearest.
            return sorted(
                deps,
                key=lambda d: self.price_of(d).per_call(est_prompt_tokens, est_completion_tokens),
            )
        if strategy == "canary":
            # Deployments without a percent share what the others leave (config checks the
            # percentages add up to 100 at most): 'percent: 10' on the canary alone is 10%.
            given = sum(d.percent for d in deps if d.percent is not None)
            rest = sum(1 for d in deps if d.percent is None)
            share = max(0.0, 100.0 - given) / rest if rest else 0.0
            weights = [d.percent if d.percent is not None else share for d in deps]
            digest = hashlib.sha256(f"{alias}:{service}".encode()).digest()
            point = int.from_bytes(digest[:8], "big") / 2**64
            return _weighted_order(deps, weights, lambda: point)
        return deps

    def advance(self, alias: str) -> None:
        """Turn an alias's round-robin rotation: a request planned with ``advance=False``
        has actually reached it. Planning also orders every fallback alias, most of which a
        request never reaches; turning their rotation then would skew it."""
        self._rr[alias] = self._rr.get(alias, 0) + 1


def _weighted_order(deps: list[Deployment], weights: list[float], draw: object) -> list[Deployment]:
    total = sum(weights)
    if total <= 0:
        return deps
    r = draw() * total  # type: ignore[operator]
    acc = 0.0
    first = len(deps) - 1
    for i, w in enumerate(weights):
        acc += w
        if r < acc:
            first = i
            break
    return [deps[first]] + [d for i, d in enumerate(deps) if i != first]
