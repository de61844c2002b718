"""``python -m openclaw.server.probe``: the container's health and readiness probe."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness import Served, serve_gateway
from openclaw.server.probe import probe


@pytest.fixture
async def gw(openclaw_home: Path) -> Served:
    served = await serve_gateway(openclaw_home)
    yield served
    await served.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_probe(port: int, ready: bool) -> tuple[bool, str]:
    # The probe blocks (urllib); the gateway under test runs on this loop.
    return await asyncio.to_thread(probe, port, ready)


async def test_liveness_asks_healthz_without_a_token(gw: Served) -> None:
    (gw.home / "gateway.token").unlink()
    assert await run_probe(gw.server.port or 0, ready=False) == (True, "/healthz: 200")


async def test_readiness_asks_readyz_with_the_gateway_token(gw: Served) -> None:
    assert await run_probe(gw.server.port or 0, ready=True) == (True, "/readyz: 200")


async def test_readiness_fails_with_a_wrong_token(
    gw: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "ocw_not_it")
    assert await run_probe(gw.server.port or 0, ready=True) == (False, "/readyz: 401")


def test_a_gateway_that_is_not_listening_fails_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "ocw_some_token")
    port = free_port()
    for ready in (False, True):
        ok, message = probe(port, ready, timeout=1.0)
        assert not ok and "refused" in message.lower()


def test_the_module_runs_and_exits_1_when_down(openclaw_home: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "openclaw.server.probe", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "/healthz" in r.stderr


def test_readiness_without_any_token_says_so(openclaw_home: Path) -> None:
    assert probe(free_port(), ready=True) == (False, "no gateway token to ask /readyz with")
