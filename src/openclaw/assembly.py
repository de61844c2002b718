"""The one place that builds a gateway from a :class:`~openclaw.config.Config`.

Everything the request path needs is made here, in one readable order, and nowhere else:
the provider adapters (from the provider registry), the dispatcher and its gates, the state
backend, the service registry, the policy rules (built-ins plus ``plugins:``) and the stage
list. Importing a module registers nothing; a config reload calls :func:`assemble` again
with the same :class:`Shared` parts, so breakers, latency figures, in-memory buckets, the
event relay and loaded PII pipelines survive it.

The HTTP side (routes) is put together by :func:`openclaw.server.app.create_app` from route
installers that the daemon passes in (``openclaw.daemon.ROUTES``).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from openclaw.audit import AuditLog
from openclaw.cache.stage import CacheStage
from openclaw.clock import Clock, SystemClock
from openclaw.config import Config
from openclaw.config.schema import TelemetrySettings
from openclaw.errors import ConfigError
from openclaw.limits.services import ServiceRegistry
from openclaw.limits.stage import LimitsStage, ModelLimitsStage, UpstreamQuota
from openclaw.pipeline.gateway import Gateway
from openclaw.pipeline.stage import EventRelay, Stage, Tracer
from openclaw.policies.engine import PolicyStage, Rule, RuleContext, rules_in
from openclaw.policies.rules import BUILTIN_RULES, PiiEngines
from openclaw.policies.scrub import ErrorScrubber
from openclaw.providers.base import Provider
from openclaw.providers.registry import ProviderRegistry
from openclaw.routing.breaker import Breakers
from openclaw.routing.dispatch import Dispatcher
from openclaw.routing.select import ModelSelector
from openclaw.routing.strategies import LatencyTracker
from openclaw.state.memory import MemoryState
from openclaw.state.shared import GatewayState, build_state
from openclaw.telemetry import build_tracer


@dataclass
class Shared:
    """What outlives a config reload; one per daemon (or per test gateway).

    ``clock`` is what breakers, deadlines, buckets and token grace periods read; a test
    passes a :class:`~openclaw.clock.ManualClock` and advances it instead of sleeping.
    """

    clock: Clock = field(default_factory=SystemClock)
    registry: ProviderRegistry = field(default_factory=ProviderRegistry.from_entry_points)
    breakers: Breakers = field(init=False)
    latency: LatencyTracker = field(default_factory=LatencyTracker)
    events: EventRelay = field(default_factory=EventRelay)
    memory: MemoryState = field(init=False)
    pii: PiiEngines = field(default_factory=PiiEngines)
    audit: AuditLog | None = None
    tracer: Tracer | None = None
    telemetry: TelemetrySettings | None = None  # what ``tracer`` was built from

    def __post_init__(self) -> None:
        self.breakers = Breakers(clock=self.clock)
        self.memory = MemoryState(self.clock)

    def tracer_for(self, settings: TelemetrySettings) -> Tracer | None:
        """The tracer for ``settings``: kept across reloads, rebuilt when they change."""
        if self.telemetry != settings:
            old = self.tracer
            self.tracer = build_tracer(settings)
            self.telemetry = settings
            shutdown = getattr(old, "shutdown", None)
            if shutdown is not None:  # flushing may wait on the network: not on the loop
                threading.Thread(target=shutdown, name="otel-shutdown", daemon=True).start()
        return self.tracer


@dataclass
class Assembly:
    """One assembled configuration: the gateway plus what the HTTP side reads of it."""

    config: Config
    gateway: Gateway
    dispatcher: Dispatcher
    services: ServiceRegistry
    shared: Shared

    async def aclose(self) -> None:
        await self.gateway.aclose()


def stages_for(
    config: Config,
    *,
    state: GatewayState,
    services: ServiceRegistry,
    rules: RuleContext,
    events: EventRelay,
) -> list[Stage]:
    """The pipeline's stages, in the order a request meets them.

    limits (who may call what, how often) -> policies (PII routing, drafts, audit, custom
    rules) -> model limits (the model that will really serve) -> cache (may answer it).
    Dispatch comes after the last stage; it is not a stage.
    """
    stages: list[Stage] = []
    pol = config.policies
    limits: LimitsStage | None = None
    if pol.services or pol.limits.global_ is not None or pol.limits.models:
        limits = LimitsStage(config, state, services, events)
        stages.append(limits)
    if pol.policies:
        stages.append(PolicyStage(config, rules))
    if limits is not None and limits.model_sets:
        stages.append(ModelLimitsStage(limits))
    stages.append(CacheStage(config, state))
    return stages


def rule_types(plugins: Sequence[str]) -> dict[str, type[Rule]]:
    """The built-in rules, then every :class:`Rule` defined in the plugin modules."""
    out = {cls.name: cls for cls in BUILTIN_RULES}
    for module in plugin_modules(plugins):
        out.update({cls.name: cls for cls in rules_in(module)})
    return out


def plugin_modules(modules: Sequence[str]) -> list[ModuleType]:
    """Import the plugin modules named in ``plugins:`` (policies.yaml) or ``OPENCLAW_PLUGINS``.

    The environment variable (comma-separated) lets a daemon started by a service manager
    find them without a shell. Importing a plugin registers nothing: the assembly looks in
    the module for what it defines.
    """
    names = list(modules) + [
        m.strip() for m in os.environ.get("OPENCLAW_PLUGINS", "").split(",") if m.strip()
    ]
    out = []
    for name in names:
        try:
            out.append(importlib.import_module(name))
        except Exception as exc:
            raise ConfigError(
                f"policies.yaml: plugins: cannot import '{name}' ({type(exc).__name__}: {exc}); "
                "check that the module is installed or on PYTHONPATH"
            ) from None
    return out


def audit_log_for(config: Config) -> AuditLog:
    """The audit writer for ``config``: rotation, retention and the anchor from ``audit:``;
    upstream error text quoted in a record is PII-redacted first (the audit package cannot
    import the policies that know how)."""
    return AuditLog.from_settings(
        config.home / "audit.log",
        config.policies.audit,
        scrub=ErrorScrubber(config.policies.pii.language),
    )


def assemble(
    config: Config,
    shared: Shared | None = None,
    *,
    providers: dict[str, Provider] | None = None,
) -> Assembly:
    """Build the whole request path for ``config``; raises ConfigError to refuse it."""
    shared = shared if shared is not None else Shared()
    if shared.audit is None:
        shared.audit = audit_log_for(config)
    providers = (
        providers if providers is not None else shared.registry.build_providers(config.models)
    )
    b = config.models.breaker
    shared.breakers.configure(b.failures, b.cooldown_seconds)
    state = build_state(config.policies.state, shared.memory)
    services = ServiceRegistry(config, clock=shared.clock)
    quotas = {
        name: p.requests_per_minute
        for name, p in config.models.providers.items()
        if p.requests_per_minute is not None
    }
    gates = [UpstreamQuota(state, quotas)] if quotas else []
    dispatcher = Dispatcher(
        config.models,
        providers,
        breakers=shared.breakers,
        latency=shared.latency,
        gates=gates,
        clock=shared.clock,
    )
    rules = RuleContext(
        config=config,
        providers=providers,
        audit=shared.audit,
        pii=shared.pii,
        rule_types=rule_types(config.policies.plugins),
    )
    stages = stages_for(config, state=state, services=services, rules=rules, events=shared.events)
    gateway = Gateway(
        config,
        stages=stages,
        dispatcher=dispatcher,
        select=ModelSelector(config.models, config.default_alias).select,
        audit=shared.audit,
        providers=providers,
        state=state,
        events=shared.events,
        tracer=shared.tracer_for(config.policies.telemetry),
    )
    return Assembly(config, gateway, dispatcher, services, shared)


def build_gateway(
    config: Config, shared: Shared | None = None, *, providers: dict[str, Provider] | None = None
) -> Gateway:
    """The gateway alone, for in-process callers (CLI, skills, benchmarks, tests)."""
    return assemble(config, shared, providers=providers).gateway
