"""Helpers for channel tests: a served gateway whose channels run, and waiting for them.

Importing :mod:`openclaw.channels.manager` registers the channel route hook, so every gateway
served here starts its channels with the app and stops them on close, as the daemon does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fake_slack import FakeSlack

import openclaw.channels.manager  # noqa: F401  (registers the route hook)
from harness import MOCK_MODELS, SEED_POLICIES, Served, serve_gateway
from openclaw.channels.base import Channel
from openclaw.channels.manager import CHANNELS, ChannelManager

# Pattern-only PII keeps start-up fast; e-mail addresses are found by pattern.
POLICIES = SEED_POLICIES + "pii:\n  spacy_model: none\n"


def slack_yaml(fake: FakeSlack, *, name: str = "team_notifications", **extra: Any) -> str:
    """channels.yaml: the seed's two entries, the Slack one pointed at the fake."""
    lines = [
        "channels:",
        "  - type: cli",
        "    name: developer_terminal",
        "  - type: slack",
        f"    name: {name}",
        "    workspace: your-workspace",
        f"    api_url: {fake.url}",
    ]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def gateway(home: Path, channels: str, models: str = MOCK_MODELS) -> AsyncIterator[Served]:
    served = await serve_gateway(home, models=models, policies=POLICIES, channels=channels)
    try:
        yield served
    finally:
        await served.close()


def manager(served: Served) -> ChannelManager:
    return served.server.app[CHANNELS]


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def running(served: Served, name: str) -> Channel:
    ch = manager(served).channels[name]
    await wait_until(lambda: ch.state in ("running", "error"))
    assert ch.state == "running", ch.last_error
    return ch
