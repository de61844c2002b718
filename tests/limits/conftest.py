"""Fixtures for the limits tests: a Redis server, and helpers for SDK clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from limits_redis import RedisServer


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
