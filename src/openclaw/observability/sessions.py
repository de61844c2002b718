"""Dashboard access without the long-lived token ever reaching a URL or the browser.

``openclaw dashboard`` (holding the gateway token) asks the daemon for a login link. The
link carries a random one-time secret that lives :data:`LINK_TTL` seconds and is consumed by
its first use, expired or not. Using it starts a browser session: another random secret in
an ``HttpOnly; SameSite=Strict`` cookie scoped to ``/dashboard``. Only SHA-256 digests of
both secrets are kept, in memory (a daemon restart signs everyone out), and both tables are
bounded so a misbehaving client cannot grow them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

LINK_TTL = 60.0
SESSION_TTL = 12 * 3600.0
MAX_LINKS = 32
MAX_SESSIONS = 64
COOKIE = "openclaw_dashboard"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class DashboardSessions:
    def __init__(
        self,
        *,
        link_ttl: float = LINK_TTL,
        session_ttl: float = SESSION_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link_ttl = link_ttl
        self.session_ttl = session_ttl
        self.clock = clock
        self._links: OrderedDict[str, float] = OrderedDict()  # digest -> expiry
        self._sessions: OrderedDict[str, float] = OrderedDict()

    # -- one-time login links -----------------------------------------------------------
    def mint_link(self, ttl: float | None = None) -> tuple[str, float]:
        """A new one-time secret and its lifetime. ``ttl`` may shorten, never lengthen."""
        life = self.link_ttl if ttl is None else max(0.0, min(ttl, self.link_ttl))
        _prune(self._links, self.clock())
        while len(self._links) >= MAX_LINKS:
            self._links.popitem(last=False)
        secret = secrets.token_urlsafe(32)
        self._links[_digest(secret)] = self.clock() + life
        return secret, life

    def redeem(self, secret: str | None) -> str | None:
        """Consume a link secret; return a new session secret, or None if refused."""
        if not secret:
            return None
        expiry = self._links.pop(_digest(secret), None)  # single use, even when expired
        if expiry is None or self.clock() >= expiry:
            return None
        _prune(self._sessions, self.clock())
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.popitem(last=False)
        session = secrets.token_urlsafe(32)
        self._sessions[_digest(session)] = self.clock() + self.session_ttl
        return session

    # -- sessions ------------------------------------------------------------------------
    def valid(self, session: str | None) -> bool:
        if not session:
            return False
        # Looked up by digest: timing could only reveal bits of a SHA-256 of a 256-bit secret.
        expiry = self._sessions.get(_digest(session))
        return expiry is not None and self.clock() < expiry

    def end(self, session: str | None) -> None:
        if session:
            self._sessions.pop(_digest(session), None)


def _prune(table: OrderedDict[str, float], now: float) -> None:
    for k in [k for k, exp in table.items() if exp <= now]:
        del table[k]
