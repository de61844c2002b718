"""Talking to the running daemon from the CLI (sync httpx; the CLI is not async)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from openclaw.config import DEFAULT_HOST, home_dir
from openclaw.daemon_units.record import gateway_port
from openclaw.errors import OpenClawError
from openclaw.server.auth import read_token

__all__ = ["base_url", "client", "daemon_for", "gateway_port", "get_json", "raise_for_error"]


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


def daemon_for(home: Path, timeout: float = 600.0) -> httpx.Client | None:
    """A client of the daemon serving ``home``, or ``None`` if none is running.

    "Serving this home" means it accepts this home's token and its status names this home,
    so a gateway of another user or another ``OPENCLAW_HOME`` on the same port is not used.
    """
    if read_token(home) is None:
        return None
    c = client(home, gateway_port(None, home), timeout)
    try:
        r = c.get("/v1/openclaw/status", timeout=3.0)
        ours = r.status_code == 200 and Path(str(r.json().get("home"))).resolve() == home.resolve()
    except (httpx.HTTPError, ValueError, AttributeError):
        ours = False
    if not ours:
        c.close()
        return None
    return c


def raise_for_error(r: httpx.Response) -> None:
    """Turn the daemon's ``{"error": {...}}`` answer into the :class:`OpenClawError` it was."""
    if r.status_code < 400:
        return
    try:
        err = r.json()["error"]
        message, code, param = str(err["message"]), err.get("code"), err.get("param")
    except (ValueError, KeyError, TypeError):
        message, code, param = f"the gateway answered {r.status_code}", None, None
    raise OpenClawError(message, code=code, param=param, status=r.status_code)
