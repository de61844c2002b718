"""Turning what the gateway does into events, through the hooks the core offers.

- **failover**: a gateway observer sees every finished exchange; more than one deployment in
  ``ex.attempts`` (or ``ex.fallback_from``) means a deployment failed and another was tried.
- **breaker opened/closed**: a listener on the dispatcher's :class:`Breakers`, which outlive
  reloads (each new gateway gets the same object).
- **config reload failed**: an ``AppState.reload_listeners`` entry.
- **audit write failed**: the observer runs right after the audit write and reads
  ``gateway.audit.last_error``; only the change from working to failing is reported.

Gateway observers are copied to the new gateway on reload, so each hook is attached once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openclaw.audit.record import AuditRecord
from openclaw.channels.events import EventBus

if TYPE_CHECKING:
    from openclaw.pipeline.exchange import Exchange
    from openclaw.server.state import AppState

ExchangeHook = Callable[["Exchange"], None]


def failover_facts(ex: Exchange) -> dict[str, Any] | None:
    deployments = {a.deployment for a in ex.attempts}
    if len(deployments) < 2 and not ex.fallback_from:
        return None
    served = None
    if ex.error is None and ex.provider:
        served = f"{ex.provider}/{ex.provider_model}"
    return {
        "request_id": ex.request_id,
        "service": ex.service,
        "channel": ex.channel,
        "model": ex.fallback_from or ex.alias,
        "fallback_to": ex.alias if ex.fallback_from else None,
        "served_by": served,
        "attempts": [
            {"deployment": a.deployment, "outcome": a.outcome, "status": a.status}
            for a in ex.attempts
        ],
    }


class GatewayWatch:
    def __init__(
        self, state: AppState, bus: EventBus, on_exchange: ExchangeHook | None = None
    ) -> None:
        self.state = state
        self.bus = bus
        self.on_exchange = on_exchange
        self._audit_failing = False

    def attach(self) -> None:
        gw = self.state.gateway
        if self.observe not in gw.observers:
            gw.observers.append(self.observe)
        listeners = gw.dispatcher.breakers.listeners
        if self.breaker_changed not in listeners:
            listeners.append(self.breaker_changed)
        if self.reloaded not in self.state.reload_listeners:
            self.state.reload_listeners.append(self.reloaded)

    def detach(self) -> None:
        gw = self.state.gateway
        for hooks, fn in (
            (gw.observers, self.observe),
            (gw.dispatcher.breakers.listeners, self.breaker_changed),
            (self.state.reload_listeners, self.reloaded),
        ):
            while fn in hooks:
                hooks.remove(fn)  # type: ignore[arg-type]

    # -- hooks -------------------------------------------------------------------------
    def observe(self, ex: Exchange, record: AuditRecord) -> None:
        facts = failover_facts(ex)
        if facts is not None:
            first = ex.attempts[0].deployment if ex.attempts else ""
            self.bus.emit("failover", facts, key=f"{facts['model']}:{first}")
        error = self.state.gateway.audit.last_error
        if error and not self._audit_failing:
            self._audit_failing = True
            self.bus.emit(
                "audit_write_failed",
                {
                    "error": error,
                    "path": str(self.state.gateway.audit.path),
                    "request_id": ex.request_id,
                },
            )
        elif not error:
            self._audit_failing = False
        if self.on_exchange is not None:
            self.on_exchange(ex)

    def breaker_changed(self, deployment: str, old: str, new: str) -> None:
        if new == "open":
            self.bus.emit("breaker_opened", {"deployment": deployment, "previous": old})
        elif new == "closed":
            self.bus.emit("breaker_closed", {"deployment": deployment, "previous": old})

    def reloaded(self, state: AppState) -> None:
        result = state.last_reload
        if result is not None and not result.ok:
            self.bus.emit("config_reload_failed", {"error": result.error, "at": result.at})
