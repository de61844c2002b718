"""Pytest fixtures that serve the fake upstreams; re-export them from a conftest.py::

from fakes.fixtures import anthropic_upstream, ollama_upstream, openai_upstream  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from fakes.providers import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from fakes.upstreams import FakeUpstream, ThreadedUpstream, start_in_thread


@pytest.fixture
async def openai_upstream() -> AsyncIterator[OpenAIUpstream]:
    async with OpenAIUpstream() as fake:
        yield fake


@pytest.fixture
async def anthropic_upstream() -> AsyncIterator[AnthropicUpstream]:
    async with AnthropicUpstream() as fake:
        yield fake


@pytest.fixture
async def ollama_upstream() -> AsyncIterator[OllamaUpstream]:
    async with OllamaUpstream() as fake:
        yield fake


@pytest.fixture
def upstream_thread() -> Iterator[Callable[[FakeUpstream], ThreadedUpstream[Any]]]:
    """Factory: ``upstream_thread(OpenAIUpstream())`` serves it from a thread until teardown."""
    running: list[ThreadedUpstream[Any]] = []

    def start(fake: FakeUpstream) -> ThreadedUpstream[Any]:
        served = start_in_thread(fake)
        running.append(served)
        return served

    yield start
    for served in running:
        served.stop()
