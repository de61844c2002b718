"""Talking to the running daemon from the CLI (sync httpx; the CLI is not async)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from openclaw.config import DEFAULT_HOST, home_dir
from openclaw.daemon_units.record import gateway_port
from openclaw.server.auth import read_token

__all__ = ["base_url", "client", "gateway_port", "get_json"]


def base_url(host: str | None = None, port: int | None = None) -> str:
    return f"http://{host or DEFAULT_HOST}:{gateway_port(port)}"


def client(
    home: Path | None = None, port: int | None = None, timeout: float = 10.0
) -> httpx.Client:
    token = read_token(home or home_dir())
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=base_url(port=port), headers=headers, timeout=timeout, trust_env=False
    )


def get_json(
    path: str, *, home: Path | None = None, port: int | None = None, timeout: float = 10.0
) -> Any:
    with client(home, port, timeout) as c:
        r = c.get(path)
        r.raise_for_status()
        return r.json()
