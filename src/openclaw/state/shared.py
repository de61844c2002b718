"""The gateway's view of its state: a backend, and what to do when that backend is down.

:class:`GatewayState` wraps the configured backend (``state.backend``). For ``memory`` it
simply delegates. For ``redis`` it also holds this process's :class:`MemoryState` as a
fallback and applies ``state.on_unavailable`` per area:

- ``fail_open``: use the local fallback (limits and the cache default to this); every
  instance then limits on its own, which is logged loudly, once per outage and again every
  30 seconds while it lasts;
- ``fail_closed``: refuse with 503 ``state_unavailable`` (budgets default to this, so a
  Redis outage cannot become unlimited spending).

After a failure the backend is not tried again for ``state.recheck_ms``, so an outage costs
one timeout per interval instead of one per request; the first success logs the recovery.
A concurrency slot or a token debit is released or settled on the backend that granted it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from openclaw.config.schema import StateSettings
from openclaw.errors import ServiceUnavailable
from openclaw.state.base import StateBackend, StateUnavailable
from openclaw.state.memory import MemoryState
from openclaw.state.redis_state import RedisState

log = logging.getLogger("openclaw.state")

T = TypeVar("T")
Area = Literal["limits", "budgets", "cache"]
LOUD_EVERY = 30.0


class GatewayState:
    def __init__(
        self,
        primary: StateBackend,
        fallback: MemoryState | None = None,
        settings: StateSettings | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.settings = settings or StateSettings()
        self.recheck = self.settings.recheck_ms / 1000.0
        self.down_since: float | None = None  # wall clock, for status
        self.last_error: str | None = None
        self.outages = 0
        self._down_until = 0.0
        self._last_loud = 0.0
        self._closed = False

    @property
    def kind(self) -> str:
        return self.primary.kind

    @property
    def local(self) -> bool:
        return self.primary.local

    @property
    def degraded(self) -> bool:
        return self.down_since is not None

    def mode(self, area: Area) -> str:
        m: str = getattr(self.settings.on_unavailable, area)
        return m

    async def run(self, area: Area, op: Callable[[StateBackend], Awaitable[T]]) -> T:
        """Run ``op`` on the backend, or apply the area's fail mode if it is down."""
        if self.fallback is None:
            return await op(self.primary)
        if time.monotonic() < self._down_until:
            return await self._degraded(area, op)
        try:
            result = await op(self.primary)
        except StateUnavailable as exc:
            self._failed(str(exc))
            return await self._degraded(area, op)
        if self.down_since is not None:
            self._recovered()
        return result

    async def run_on(
        self, backend: StateBackend, op: Callable[[StateBackend], Awaitable[T]]
    ) -> T | None:
        """Run a follow-up (release, settle) on the backend that granted the first step."""
        try:
            return await op(backend)
        except StateUnavailable as exc:
            if backend is self.primary:
                self._failed(str(exc))
            return None

    def backend_for(self, area: Area) -> StateBackend:
        """Where ``area`` would go now (the fallback while the primary is down)."""
        if self.fallback is not None and time.monotonic() < self._down_until:
            return self.fallback
        return self.primary

    async def _degraded(self, area: Area, op: Callable[[StateBackend], Awaitable[T]]) -> T:
        assert self.fallback is not None
        if self.mode(area) == "fail_closed":
            raise ServiceUnavailable(
                f"the shared state store ({self.primary.kind} at {self.describe_target()}) is "
                f"unreachable and state.on_unavailable.{area} is fail_closed, so the request "
                "was refused rather than served without it",
                code="state_unavailable",
                headers={"Retry-After": str(max(1, round(self.recheck)))},
            )
        self._loud(area)
        return await op(self.fallback)

    def _failed(self, error: str) -> None:
        now = time.monotonic()
        self._down_until = now + self.recheck
        self.last_error = error
        if self.down_since is None:
            self.down_since = time.time()
            self.outages += 1
            self._last_loud = now
            log.error(
                "shared state %s at %s is unreachable (%s); until it is back: limits %s, "
                "budgets %s, cache %s (state.on_unavailable)",
                self.primary.kind,
                self.describe_target(),
                error,
                self._explain("limits"),
                self._explain("budgets"),
                self._explain("cache"),
            )

    def _loud(self, area: Area) -> None:
        now = time.monotonic()
        if now - self._last_loud >= LOUD_EVERY:
            self._last_loud = now
            log.error(
                "shared state still unreachable (%s); %s are enforced by this instance alone",
                self.last_error,
                area,
            )

    def _recovered(self) -> None:
        assert self.down_since is not None
        log.warning(
            "shared state %s at %s is reachable again after %.1fs",
            self.primary.kind,
            self.describe_target(),
            time.time() - self.down_since,
        )
        self.down_since = None
        self.last_error = None

    def _explain(self, area: Area) -> str:
        return (
            "are refused (503)"
            if self.mode(area) == "fail_closed"
            else "fall back to this instance"
        )

    def describe_target(self) -> str:
        return str(getattr(self.primary, "url", "memory"))

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.kind, "local": self.local}
        if self.fallback is not None:
            reachable = True
            try:
                await self.primary.ping()
            except StateUnavailable as exc:
                reachable = False
                self.last_error = str(exc)
            out.update(
                url=self.describe_target(),
                reachable=reachable,
                degraded_since=self.down_since,
                last_error=self.last_error,
                outages=self.outages,
                on_unavailable=self.settings.on_unavailable.model_dump(),
            )
        return out

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.primary.aclose()


def build_state(settings: StateSettings, local: MemoryState) -> GatewayState:
    """The state for one config; ``local`` is the daemon's memory state (kept across reloads)."""
    if settings.backend == "memory":
        return GatewayState(local, None, settings)
    assert settings.url is not None
    primary = RedisState(
        settings.url,
        password=settings.password.resolve() if settings.password else None,
        prefix=settings.prefix,
        timeout=settings.timeout_ms / 1000.0,
        local=settings.local,
    )
    return GatewayState(primary, local, settings)
