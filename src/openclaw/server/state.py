"""What the running daemon holds: the current gateway and how it got there.

Reloading builds a complete new :class:`Gateway` from the files; only if that succeeds does
it replace the old one (which keeps serving requests already in flight and is closed after a
grace period). A config that does not validate is rejected and the old one keeps serving; the
error is kept for ``gateway status``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.audit import AuditLog
from openclaw.config import CONFIG_FILES, Config, load_config
from openclaw.errors import OpenClawError
from openclaw.pipeline.gateway import Gateway
from openclaw.policies.scrub import ErrorScrubber
from openclaw.routing.breaker import Breakers
from openclaw.routing.strategies import LatencyTracker

log = logging.getLogger("openclaw.server")


@dataclass
class ReloadResult:
    ok: bool
    at: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at, "error": self.error}


@dataclass
class AppState:
    home: Path
    token: str
    gateway: Gateway
    host: str = "127.0.0.1"
    port: int = 18789
    auth: bool = True
    started: float = field(default_factory=time.time)
    last_reload: ReloadResult | None = None
    reload_listeners: list[Any] = field(default_factory=list)
    _mtimes: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, home: Path, token: str, **kw: Any) -> AppState:
        config = load_config(home)
        # Upstream error text may quote PII; the writer redacts it (audit cannot import policies).
        scrub = ErrorScrubber(config.policies.pii.language)
        audit = AuditLog.from_settings(home / "audit.log", config.policies.audit, scrub=scrub)
        gw = Gateway(config, audit=audit, breakers=Breakers(), latency=LatencyTracker())
        st = cls(home=home, token=token, gateway=gw, **kw)
        st._mtimes = st._stat()
        return st

    @property
    def config(self) -> Config:
        return self.gateway.config

    def _stat(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in CONFIG_FILES:
            p = self.home / name
            try:
                out[name] = p.stat().st_mtime_ns
            except OSError:
                out[name] = 0
        return out

    def changed(self) -> bool:
        return self._stat() != self._mtimes

    async def reload(self, reason: str = "manual") -> ReloadResult:
        self._mtimes = self._stat()
        old = self.gateway
        try:
            config = load_config(self.home)
            new = Gateway(
                config,
                audit=old.audit,
                breakers=old.dispatcher.breakers,
                latency=old.dispatcher.latency,
            )
            new.observers = list(old.observers)
        except OpenClawError as exc:
            self.last_reload = ReloadResult(False, time.time(), exc.message)
            log.error(
                "config reload (%s) rejected; the previous config keeps serving:\n%s",
                reason,
                exc.message,
            )
            self._notify()
            return self.last_reload
        except Exception as exc:  # a bug must not take the daemon down with it
            log.exception("config reload (%s) failed", reason)
            self.last_reload = ReloadResult(False, time.time(), f"{type(exc).__name__}: {exc}")
            self._notify()
            return self.last_reload
        self.gateway = new
        self.last_reload = ReloadResult(True, time.time())
        log.info("config reloaded (%s)", reason)
        self._notify()
        asyncio.get_running_loop().call_later(30.0, lambda: asyncio.ensure_future(old.aclose()))
        return self.last_reload

    def _notify(self) -> None:
        for fn in self.reload_listeners:
            try:
                fn(self)
            except Exception:
                log.exception("reload listener failed")
