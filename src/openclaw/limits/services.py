"""Service identities: which service a bearer token belongs to.

A service's token comes from one of two places:

- ``token: ${SVC_BILLING_TOKEN}`` on its ``services:`` entry in policies.yaml (the value
  stays in the environment);
- ``openclaw service add NAME``, which prints a new token once and keeps only its SHA-256
  in ``$OPENCLAW_HOME/services.json`` (mode 0600). ``service rotate`` adds a new token and
  lets the old one work until its grace window ends.

Why SHA-256 and not a slow password hash: these tokens are 256 random bits, so there is
nothing to guess a preimage from and a slow KDF would add no security, while the gateway
would pay its cost (tens of milliseconds of CPU with scrypt) on every request, which is
itself a denial-of-service lever. A lookup compares digests, not tokens, so its timing says
nothing about a valid token.

The daemon notices changes to services.json by its stat (one ``stat`` per lookup, no
reload needed), so ``service add`` and ``service remove`` take effect on the next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.clock import Clock, SystemClock
from openclaw.config import Config
from openclaw.errors import ConfigError, Conflict, NotFound

STORE_FILE = "services.json"
TOKEN_PREFIX = "ocs_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass
class StoredToken:
    sha256: str
    created: float
    expires: float | None = None  # set when rotated away: valid until then

    def live(self, now: float) -> bool:
        return self.expires is None or self.expires > now

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "created": self.created, "expires": self.expires}


class TokenStore:
    """``services.json``: ``{"version": 1, "services": {name: [{sha256, created, expires}]}}``."""

    def __init__(self, home: Path, *, clock: Clock | None = None) -> None:
        self.path = home / STORE_FILE
        self.clock: Clock = clock or SystemClock()  # wall time: expiries are stored

    def stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def load(self) -> dict[str, list[StoredToken]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path}: cannot read service tokens ({exc})") from None
        out: dict[str, list[StoredToken]] = {}
        for name, tokens in (raw.get("services") or {}).items():
            out[name] = [
                StoredToken(t["sha256"], float(t.get("created", 0)), t.get("expires"))
                for t in tokens
                if isinstance(t, dict) and isinstance(t.get("sha256"), str)
            ]
        return out

    def save(self, services: dict[str, list[StoredToken]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "version": 1,
            "services": {n: [t.to_dict() for t in ts] for n, ts in sorted(services.items())},
        }
        tmp = self.path.with_name(f".{STORE_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (json.dumps(data, indent=2) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add(self, name: str) -> str:
        services = self.load()
        now = self.clock.time()
        if any(t.live(now) for t in services.get(name, [])):
            raise Conflict(
                f"service '{name}' already has a token; use 'openclaw service rotate {name}'"
            )
        token = new_token()
        services[name] = [StoredToken(token_digest(token), now)]
        self.save(services)
        return token

    def rotate(self, name: str, grace: float) -> str:
        services = self.load()
        now = self.clock.time()
        old = [t for t in services.get(name, []) if t.live(now)]
        if not old:
            raise NotFound(
                f"service '{name}' has no stored token; create one with "
                f"'openclaw service add {name}'"
            )
        for t in old:
            t.expires = now + grace if t.expires is None else min(t.expires, now + grace)
        token = new_token()
        services[name] = [*[t for t in old if t.live(now)], StoredToken(token_digest(token), now)]
        self.save(services)
        return token

    def remove(self, name: str) -> bool:
        services = self.load()
        if name not in services:
            return False
        del services[name]
        self.save(services)
        return True


class ServiceRegistry:
    """Token -> service name, from policies.yaml references and services.json."""

    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.store = TokenStore(config.home, clock=self.clock)
        self.from_config: dict[str, str] = {}
        self.unset: list[str] = []  # services whose token variable is not set
        for svc in config.policies.services:
            if svc.token is None:
                continue
            value = svc.token.resolve()
            if value:
                self.from_config[token_digest(value)] = svc.name
            else:
                self.unset.append(svc.name)
        self._stamp: tuple[int, int, int] | None = None
        self._stored: dict[str, tuple[str, StoredToken]] = {}
        self._refresh()

    def _refresh(self) -> None:
        stamp = self.store.stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            services = self.store.load()
        except ConfigError:
            return  # keep the last good copy; `gateway status` and the CLI show the error
        self._stored = {t.sha256: (n, t) for n, ts in services.items() for t in ts}

    def identify(self, token: str) -> str | None:
        digest = token_digest(token)
        name = self.from_config.get(digest)
        if name is not None:
            return name
        self._refresh()
        hit = self._stored.get(digest)
        if hit is not None and hit[1].live(self.clock.time()):
            return hit[0]
        return None

    def stored(self) -> dict[str, list[StoredToken]]:
        self._refresh()
        out: dict[str, list[StoredToken]] = {}
        for name, t in self._stored.values():
            out.setdefault(name, []).append(t)
        return out
