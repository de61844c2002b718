"""The gateway token, and the Host/Origin checks that keep browsers out.

The token lives in ``$OPENCLAW_HOME/gateway.token`` (mode 0600), created on first start
unless ``OPENCLAW_GATEWAY_TOKEN`` is set or ``OPENCLAW_GATEWAY_TOKEN_FILE`` names a mounted
secret. A page on a foreign site cannot use the gateway even
though it runs on the same machine: a request whose ``Host`` is not a loopback name (DNS
rebinding) or whose ``Origin`` is another site is refused before auth is even looked at.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from openclaw.addresses import is_loopback_host
from openclaw.errors import ConfigError

TOKEN_FILE = "gateway.token"
TOKEN_FILE_ENV = "OPENCLAW_GATEWAY_TOKEN_FILE"


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def read_token(home: Path) -> str | None:
    """``OPENCLAW_GATEWAY_TOKEN``, else the file ``OPENCLAW_GATEWAY_TOKEN_FILE`` names (a
    mounted Docker or Kubernetes secret), else ``$OPENCLAW_HOME/gateway.token``.

    A token file that is named but cannot be read is an error, not a reason to make a new
    token that no client knows.
    """
    env = os.environ.get("OPENCLAW_GATEWAY_TOKEN")
    if env:
        return env.strip()
    named = os.environ.get(TOKEN_FILE_ENV)
    if named:
        try:
            secret = Path(named).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{TOKEN_FILE_ENV}={named}: cannot read it ({exc.strerror}); mount the secret "
                f"there or unset {TOKEN_FILE_ENV}"
            ) from None
        if not secret:
            raise ConfigError(f"{TOKEN_FILE_ENV}={named}: the file is empty")
        return secret
    p = token_path(home)
    try:
        return p.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def ensure_token(home: Path) -> str:
    """Return the token, creating the token file (0600) if there is none."""
    existing = read_token(home)
    if existing:
        return existing
    home.mkdir(parents=True, exist_ok=True)
    token = "ocw_" + secrets.token_urlsafe(32)
    p = token_path(home)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (token + "\n").encode())
    finally:
        os.close(fd)
    os.chmod(p, 0o600)
    return token


def token_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def split_host(host_header: str) -> str:
    """Host header minus the port (handles ``[::1]:18789``)."""
    h = host_header.strip()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def host_allowed(host_header: str | None, extra: frozenset[str]) -> bool:
    if not host_header:
        return False
    host = split_host(host_header).lower()
    return is_loopback_host(host) or host in extra


def origin_allowed(origin: str | None, extra: frozenset[str]) -> bool:
    """No Origin (server-side clients) is fine; a browser Origin must be loopback or listed."""
    if origin is None:
        return True
    if origin in extra:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname or "")


def bind_problem(host: str, auth: bool, allowed_hosts: Callable[[], list[str]]) -> str | None:
    """Why the gateway may not listen on ``host``, or None.

    Off loopback it needs its token, and ``security.allowed_hosts`` naming what clients
    put in ``Host``: without them every request from elsewhere would be refused as DNS
    rebinding anyway, so a bare ``--host 0.0.0.0`` is a mistake to report at start.
    ``allowed_hosts`` is called only off loopback with auth on (it loads the config).
    """
    if is_loopback_host(host):
        return None
    if not auth:
        return (
            f"refusing to listen on {host} without authentication; "
            "bind to 127.0.0.1 or turn auth back on"
        )
    if not allowed_hosts():
        return (
            f"refusing to listen on {host} without security.allowed_hosts: set it in "
            "policies.yaml to the names clients use for this gateway (e.g. [openclaw, "
            "openclaw.example.internal]); requests with any other Host header are refused"
        )
    return None
