"""What the running daemon holds: the current gateway and how it got there.

Reloading assembles a complete new gateway from the files (:func:`openclaw.assembly.assemble`,
with the same long-lived parts); only if that succeeds does it replace the old one (which keeps serving requests already in flight and is closed after a
grace period). A config that does not validate is rejected and the old one keeps serving; the
error is kept for ``gateway status``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from openclaw.assembly import Assembly, Shared, assemble, audit_log_for
from openclaw.clock import Clock, SystemClock
from openclaw.config import CONFIG_FILES, Config
from openclaw.errors import OpenClawError
from openclaw.pipeline.gateway import Gateway
from openclaw.policies.rules import uses_pii
from openclaw.providers.registry import load_checked_config
from openclaw.server.refusals import RefusalLedger
from openclaw.server.throttle import AuthThrottle

log = logging.getLogger("openclaw.server")

#: ``async hook(request, body) -> (body, skill record or None)``; raising refuses.
BodyHook = Callable[[web.Request, dict[str, Any]], Awaitable[tuple[dict[str, Any], Any]]]


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
    assembly: Assembly
    host: str = "127.0.0.1"
    port: int = 18789
    auth: bool = True
    started: float = field(default_factory=time.time)
    last_reload: ReloadResult | None = None
    reload_listeners: list[Any] = field(default_factory=list)
    throttle: AuthThrottle = field(default_factory=AuthThrottle)
    refusals: RefusalLedger = field(default_factory=RefusalLedger)
    #: Chat body hooks route installers add (``server.ingress.apply_body_hooks``).
    body_hooks: list[BodyHook] = field(default_factory=list)
    _mtimes: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, home: Path, token: str, *, clock: Clock | None = None, **kw: Any) -> AppState:
        """``clock``: what breakers and deadlines read (a test passes a ManualClock)."""
        config = load_checked_config(home)
        parts = assemble(config, Shared(audit=audit_log_for(config), clock=clock or SystemClock()))
        st = cls(home=home, token=token, assembly=parts, **kw)
        st._mtimes = st._stat()
        return st

    @classmethod
    async def start(
        cls, home: Path, token: str, *, clock: Clock | None = None, **kw: Any
    ) -> AppState:
        """:meth:`build` as the daemon does it: with the PII worker pool started first, when
        a policy scans for PII, so the rules' engines send NER to its processes."""
        config = load_checked_config(home)
        shared = Shared(audit=audit_log_for(config), clock=clock or SystemClock())
        if uses_pii(config.policies.policies):
            await shared.pii.start_pool(config.policies.pii)
        st = cls(home=home, token=token, assembly=assemble(config, shared), **kw)
        st._mtimes = st._stat()
        return st

    @property
    def gateway(self) -> Gateway:
        return self.assembly.gateway

    @property
    def config(self) -> Config:
        return self.assembly.config

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
        old = self.assembly
        try:
            config = load_checked_config(self.home)
            if old.shared.pii.pool is not None or uses_pii(config.policies.policies):
                await old.shared.pii.start_pool(config.policies.pii)
            new = assemble(config, old.shared)
            new.gateway.observers = list(old.gateway.observers)
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
        self.assembly = new
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
