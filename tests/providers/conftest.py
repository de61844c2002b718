"""Adapters wired to fake upstreams on loopback, with timeouts small enough for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.fixtures import (  # noqa: F401  (fixtures, re-exported for this directory)
    anthropic_upstream,
    ollama_upstream,
    openai_upstream,
    upstream_thread,
)

from .helpers import FAKES, KEY_VARS, TEST_KEY, Wired, make_provider


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEY_VARS.values():
        monkeypatch.setenv(var, TEST_KEY)


@pytest.fixture(params=list(FAKES))
async def wired(request: pytest.FixtureRequest) -> AsyncIterator[Wired]:
    """Each network adapter in turn, pointed at the fake that speaks its wire format."""
    kind = request.param
    async with FAKES[kind]() as fake:
        provider = make_provider(kind, fake.url)
        try:
            yield Wired(kind, provider, fake)
        finally:
            await provider.aclose()
