"""Fixtures for the limits tests: gateways built from a policies.yaml, a Redis server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from limits_helpers import BILLING_TOKEN, MODELS
from limits_redis import RedisServer

from harness import Served, serve_gateway


@pytest.fixture(autouse=True)
def billing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """``${SVC_BILLING_TOKEN}``, which the 'billing' service of most tests reads."""
    monkeypatch.setenv("SVC_BILLING_TOKEN", BILLING_TOKEN)


@pytest.fixture
async def serve(
    openclaw_home: Path, billing_token: None
) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Start gateways from a policies.yaml text (and models.yaml); all closed afterwards."""
    running: list[Served] = []

    async def start(policies: str, models: str = MODELS) -> Served:
        served = await serve_gateway(openclaw_home, models=models, policies=policies)
        running.append(served)
        return served

    yield start
    for s in running:
        await s.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis for the session; tests keep apart by key prefix (``state_yaml``)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own, which it may stop and start."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
