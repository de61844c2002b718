"""Helpers for adapter tests: build an adapter for a fake, make a call, drain a stream."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from fakes import AnthropicUpstream, FakeUpstream, OllamaUpstream, OpenAIUpstream
from openclaw.config.schema import ProviderConfig, Timeouts
from openclaw.providers.base import Json, Provider, ProviderCall
from openclaw.providers.registry import ProviderRegistry

# FAST is for the tests that wait for a timeout; the rest get room so a loaded CI box
# cannot turn a normal answer into a spurious timeout.
FAST = Timeouts(connect=0.5, first_token=0.3, total=2.0)
ROOMY = Timeouts(connect=2.0, first_token=5.0, total=10.0)
FAKES: dict[str, type[FakeUpstream]] = {
    "openai": OpenAIUpstream,
    "openai_compatible": OpenAIUpstream,
    "anthropic": AnthropicUpstream,
    "ollama": OllamaUpstream,
}
KEY_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
TEST_KEY = "sk-test-not-a-real-key"


def make_provider(kind: str, base_url: str, **config: Any) -> Provider:
    if kind in KEY_VARS and "api_key" not in config:
        config["api_key"] = f"${{{KEY_VARS[kind]}}}"
    cls = ProviderRegistry.from_entry_points().get(kind)
    return cls(kind, ProviderConfig(type=kind, base_url=base_url, **config))  # type: ignore[arg-type]


def make_call(
    text: str = "hello there", model: str = "test-model", timeouts: Timeouts = ROOMY, **body: Any
) -> ProviderCall:
    body.setdefault("messages", [{"role": "user", "content": text}])
    return ProviderCall(body={"model": "alias", **body}, model=model, timeouts=timeouts)


async def collect(provider: Provider, call: ProviderCall) -> list[Json]:
    return [c async for c in provider.stream(call)]


def streamed_text(chunks: list[Json]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Wired:
    kind: str
    provider: Provider
    fake: FakeUpstream
