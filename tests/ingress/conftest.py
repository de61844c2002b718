"""The ingress tests' gateway: the daemon's own app in front of one provider adapter.

``await serve(provider)`` writes a models.yaml whose aliases all point at ``provider``'s type
and URL, and serves the app exactly as the daemon builds it (:func:`harness.serve_gateway`).
The official SDKs talk to it over loopback; behind it a real adapter talks to a fake upstream,
so each test runs the whole chain (SDK -> the ingress's route and parser -> the pipeline's
stages, dispatch and audit -> adapter -> provider wire -> adapter -> the ingress's renderer
-> SDK). Aliases: ``general`` (the default) and ``claude-sonnet-4-20250514`` (as Claude Code
asks for it), both served as ``upstream-model``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakes.fixtures import (  # noqa: F401  (fixtures, re-exported for this directory)
    anthropic_upstream,
    ollama_upstream,
    openai_upstream,
)
from harness import Served, serve_gateway
from openclaw.config.schema import ProviderConfig
from openclaw.providers.base import Provider
from openclaw.providers.registry import ProviderRegistry
from openclaw.server.messages import MessagesResponder

KEY = "sk-test-not-a-real-key"  # the gateway token the clients send, and the upstreams' key


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", KEY)


def make_provider(kind: str, url: str = "") -> Provider:
    cls = ProviderRegistry.from_entry_points().get(kind)
    extra = {"api_key": "${OPENAI_API_KEY}"} if kind in ("openai", "anthropic") else {}
    return cls(kind, ProviderConfig(type=kind, base_url=url or None, **extra))  # type: ignore[arg-type]


def models_yaml(provider: Provider) -> str:
    key = ', api_key: "${OPENAI_API_KEY}"' if provider.type in ("openai", "anthropic") else ""
    return (
        "providers:\n"
        f'  up: {{type: {provider.type}, base_url: "{provider.base_url}"{key}}}\n'
        "models:\n"
        "  general: {provider: up, model: upstream-model}\n"
        "  claude-sonnet-4-20250514: {provider: up, model: upstream-model}\n"
        "default: general\n"
    )


@dataclass
class Ingress:
    """The served gateway, as the tests see it."""

    served: Served
    monkeypatch: pytest.MonkeyPatch

    @property
    def url(self) -> str:
        return self.served.base

    @property
    def token(self) -> str:
        return self.served.token

    def audit(self) -> list[dict[str, Any]]:
        return self.served.audit()

    @property
    def ping_every(self) -> float:
        return MessagesResponder.ping_every

    @ping_every.setter
    def ping_every(self, seconds: float) -> None:
        """Seconds of silence before a Messages stream pings (for this test only)."""
        self.monkeypatch.setattr(MessagesResponder, "ping_every", seconds)


IngressFactory = Callable[[Provider], Awaitable[Ingress]]


@pytest.fixture
async def serve(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[IngressFactory]:
    """``await serve(provider)``: the daemon's app on loopback in front of ``provider``."""
    served: list[Served] = []

    async def start(provider: Provider) -> Ingress:
        await provider.aclose()  # only its type and URL are used: the gateway builds its own
        gw = await serve_gateway(openclaw_home, models=models_yaml(provider))
        served.append(gw)
        return Ingress(gw, monkeypatch)

    yield start
    for gw in served:
        await gw.close()
