"""Shared fixtures. Every test gets its own ``OPENCLAW_HOME`` and no provider keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.fixtures import (  # noqa: F401  (shared fixtures)
    anthropic_upstream,
    ollama_upstream,
    openai_upstream,
    upstream_thread,
)

_SCRUB = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OLLAMA_HOST",
    "OPENCLAW_GATEWAY_TOKEN",
    "OPENCLAW_PORT",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
)


@pytest.fixture(autouse=True)
def openclaw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "openclaw-home"
    home.mkdir()
    monkeypatch.setenv("OPENCLAW_HOME", str(home))
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    # No test may reach the internet; proxies from the host would only get in the way.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield home
