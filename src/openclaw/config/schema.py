"""Typed models for ``models.yaml``, ``policies.yaml`` and ``channels.yaml``.

Every model forbids unknown keys, so a typo fails at load time with the nearest valid key
(see ``openclaw.config.loader``). Secret fields hold a :class:`SecretRef`, the ``${VAR}``
reference text, never the value.
"""

from __future__ import annotations

import builtins
import difflib
import ipaddress
import os
import re
from importlib.metadata import entry_points
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import core_schema

from openclaw.config.loader import did_you_mean

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")

#: The entry-point group that provider types are installed under, the built-in ones included
#: (see ``[project.entry-points."openclaw.providers"]`` in pyproject.toml). What a type *is*
#: (its options, defaults, key variable, probe) is known only to
#: :class:`openclaw.providers.registry.ProviderRegistry`, which loads them.
PROVIDER_TYPES_GROUP = "openclaw.providers"
Strategy = Literal["failover", "round_robin", "weighted", "lowest_latency", "lowest_cost", "canary"]


class SecretRef(str):
    """A reference such as ``${OPENAI_API_KEY}``; :meth:`resolve` reads the environment."""

    @property
    def var(self) -> str | None:
        m = _REF.match(self)
        return m.group(1) if m else None

    def resolve(self) -> str | None:
        m = _REF.match(self)
        if not m:
            return None
        value = os.environ.get(m.group(1))
        if not value:
            return m.group(2) if m.group(2) is not None else None
        return value

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())

    def describe(self) -> str:
        var = self.var or "?"
        state = "set" if self.resolve() else "unset"
        return f"${{{var}}} ({state})"


def _secret(value: Any, field: str) -> SecretRef | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _REF.match(value.strip()):
        raise ValueError(
            f"{field} must be an environment reference such as '${{MY_KEY}}'; "
            "secrets are never written into config files"
        )
    return SecretRef(value.strip())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def installed_provider_types() -> list[str]:
    """Names of the installed provider types, read from package metadata (nothing is imported)."""
    return sorted(entry_points(group=PROVIDER_TYPES_GROUP).names)


P = TypeVar("P", bound="ProviderConfig")


class ProviderConfig(BaseModel):
    """A ``providers:`` entry: the keys every type shares.

    Keys of one type only (``api_version`` for Anthropic, a plugin's own) are kept as extras
    here and checked against that type's ``Options`` model by the provider registry, which
    is the only place that knows the type (config sits below providers).
    """

    model_config = ConfigDict(extra="allow")

    type: str
    base_url: str | None = None
    api_key: SecretRef | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_connections: int = Field(default=100, ge=1)
    requests_per_minute: int | None = Field(default=None, ge=1)

    @field_validator("api_key", mode="before")
    @classmethod
    def _key(cls, v: Any) -> SecretRef | None:
        return _secret(v, "api_key")

    def narrowed(self, options: builtins.type[P]) -> P:
        """This entry as a type's own options model (its extra keys validated there)."""
        if isinstance(self, options):
            return self
        return options.model_validate(self.model_dump(exclude_unset=True))


class ProviderOptions(ProviderConfig):
    """A provider type's options: the shared keys, plus any its subclass adds; nothing else."""

    model_config = ConfigDict(extra="forbid")


class Timeouts(Strict):
    connect: float = Field(default=5.0, gt=0)
    first_token: float = Field(default=60.0, gt=0)
    total: float = Field(default=300.0, gt=0)


class Deployment(Strict):
    provider: str
    model: str
    weight: float = Field(default=1.0, ge=0)
    percent: float | None = Field(default=None, ge=0, le=100)
    # Unset: the price comes from genai-prices, or is unknown (routing/pricing.py).
    cost_per_million_input_tokens: float | None = Field(default=None, ge=0)
    cost_per_million_output_tokens: float | None = Field(default=None, ge=0)
    timeouts: Timeouts | None = None


class ModelAlias(Strict):
    # short form
    provider: str | None = None
    model: str | None = None
    cost_per_million_input_tokens: float | None = Field(default=None, ge=0)
    cost_per_million_output_tokens: float | None = Field(default=None, ge=0)
    # long form
    deployments: list[Deployment] = Field(default_factory=list)
    strategy: Strategy = "failover"
    fallbacks: list[str] = Field(default_factory=list)
    use_for: list[str] = Field(default_factory=list)
    description: str | None = None
    context_window: int | None = Field(default=None, ge=1)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_retries: int = Field(default=2, ge=0, le=10)
    on_content_filter: Literal["fallback", "return"] = "return"
    cache: bool = False
    # chat: /v1/chat/completions, /v1/messages, /v1/responses; embedding: /v1/embeddings only
    kind: Literal["chat", "embedding"] = "chat"

    @model_validator(mode="after")
    def _short_or_long(self) -> ModelAlias:
        if self.deployments and (self.provider or self.model):
            raise ValueError("use either provider/model or deployments, not both")
        if not self.deployments:
            if not self.provider or not self.model:
                raise ValueError("needs 'provider' and 'model' (or a 'deployments' list)")
            self.deployments = [
                Deployment(
                    provider=self.provider,
                    model=self.model,
                    cost_per_million_input_tokens=self.cost_per_million_input_tokens,
                    cost_per_million_output_tokens=self.cost_per_million_output_tokens,
                )
            ]
        if self.strategy == "canary":
            given = sum(d.percent for d in self.deployments if d.percent is not None)
            if given > 100:
                raise ValueError(
                    f"canary percentages add up to {given:g}; they must add up to 100 at most "
                    "(deployments without 'percent' share what is left)"
                )
        return self


class BreakerSettings(Strict):
    failures: int = Field(default=3, ge=1)  # consecutive failures that open a breaker
    cooldown_seconds: float = Field(default=30.0, gt=0)  # open time before one probe


class ModelsFile(Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    models: dict[str, ModelAlias] = Field(default_factory=dict)
    default: str | None = None

    @model_validator(mode="after")
    def _references(self) -> ModelsFile:
        bare = {d.provider for s in self.models.values() for d in s.deployments} - set(
            self.providers
        )
        installed = installed_provider_types() if bare else []
        for alias, spec in self.models.items():
            for dep in spec.deployments:
                if dep.provider not in self.providers and dep.provider not in installed:
                    known = sorted(set(self.providers) | set(installed))
                    raise ValueError(
                        f"models.{alias}: provider '{dep.provider}' is neither in 'providers:' "
                        f"nor an installed provider type; {did_you_mean(dep.provider, known)}"
                    )
            for fb in spec.fallbacks:
                if fb not in self.models:
                    raise ValueError(f"models.{alias}.fallbacks: unknown alias '{fb}'")
        if self.default is not None and self.default not in self.models:
            raise ValueError(f"default: unknown alias '{self.default}'")
        return self


# ---------------------------------------------------------------- policies.yaml


class When(Strict):
    services: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)


class PolicyConfig(Strict):
    name: str
    rule: str
    enforce: bool = True
    when: When | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class PiiSettings(Strict):
    spacy_model: str | None = None  # "auto" (default when None), a package name, or "none"
    language: str = "en"
    # NER worker processes (openclaw.policies.pii.pool); None: one per core, at most 4;
    # 0: no pool, NER on a thread of the daemon. Seconds a worker may take for one scan
    # before it is replaced and its requests fail closed (503 pii_scan_failed).
    workers: int | None = Field(default=None, ge=0, le=64)
    scan_timeout_s: float = Field(default=2.0, gt=0, le=600)


class AuthThrottleSettings(Strict):
    """Failed-token penalties per client address (docs/security.md)."""

    enabled: bool = True
    # Two token buckets of failures: a burst refilled in a minute, and an hourly allowance.
    failures_per_minute: int = Field(default=20, ge=1)
    failures_per_hour: int = Field(default=200, ge=1)


class SecuritySettings(Strict):
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_messages: int = Field(default=4096, ge=1)  # 400 before any scan above this
    # Slow clients: the request head, the body, an idle keep-alive connection, and one write
    # to a streaming client that stopped reading (then the stream is cut: client_gone).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    keepalive_timeout_seconds: float = Field(default=75.0, gt=0, le=3600)
    write_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    auth_throttle: AuthThrottleSettings = Field(default_factory=AuthThrottleSettings)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    ip_allow: list[str] = Field(default_factory=list)  # CIDRs or addresses; empty: any
    ip_deny: list[str] = Field(default_factory=list)  # CIDRs or addresses; wins over ip_allow

    @field_validator("ip_allow", "ip_deny")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(
                    f"'{net}' is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)"
                ) from None
        return v


class AuditSettings(Strict):
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)  # rotate the live file past this
    keep: int = Field(default=5, ge=1)  # rotated files kept (retention by count)
    keep_days: float | None = Field(default=None, gt=0)  # instead: keep rotated files this long
    anchor_key: SecretRef | None = None  # HMAC key for audit.log.anchor, e.g. "${AUDIT_KEY}"

    @field_validator("anchor_key", mode="before")
    @classmethod
    def _key(cls, v: Any) -> SecretRef | None:
        return _secret(v, "anchor_key")


# Services, limits, cache and shared state (docs/limits.md; code in openclaw.limits,
# openclaw.cache and openclaw.state).

FailMode = Literal["fail_open", "fail_closed"]
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class QueueSettings(Strict):
    """Wait for a limit instead of answering 429 at once (0 ms: no queue)."""

    max_wait_ms: int = Field(default=0, ge=0, le=600_000)  # longest wait before a 429
    max_waiting: int = Field(default=100, ge=1)  # requests waiting at once, per instance


class RateLimit(Strict):
    """Token buckets: a request takes one request token and its estimated tokens."""

    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)  # prompt + completion tokens
    # request bucket size (requests allowed at once); default: requests_per_minute
    burst: int | None = Field(default=None, ge=1)
    queue: QueueSettings | None = None  # overrides limits.queue for this bucket set


class Budget(Strict):
    """Spending per UTC day; checked before each call, charged with real usage after it."""

    usd_per_day: float | None = Field(default=None, gt=0)
    tokens_per_day: int | None = Field(default=None, ge=1)
    on_exceed: str = "block"  # block (429 budget_exceeded) | downgrade:<alias>

    @field_validator("on_exceed")
    @classmethod
    def _action(cls, v: str) -> str:
        if v == "block" or (v.startswith("downgrade:") and v.split(":", 1)[1].strip()):
            return v.replace(" ", "")
        raise ValueError("on_exceed must be 'block' or 'downgrade:<alias>'")

    @property
    def downgrade_to(self) -> str | None:
        return self.on_exceed.split(":", 1)[1] if self.on_exceed.startswith("downgrade:") else None


class ServiceConfig(Strict):
    name: str
    token: SecretRef | None = None  # ${VAR}; or a hash stored by `openclaw service add`
    allow_models: list[str] = Field(default_factory=list)  # aliases or globs; empty: all
    deny_models: list[str] = Field(default_factory=list)  # aliases or globs; wins over allow
    rate_limit: RateLimit | None = None
    budget: Budget | None = None
    max_concurrent: int | None = Field(default=None, ge=1)  # requests in flight at once

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _SERVICE_NAME.match(v):
            raise ValueError(
                "a service name is 1-64 letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or digit"
            )
        return v

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, v: Any) -> SecretRef | None:
        return _secret(v, "token")


class LimitsSettings(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    global_: RateLimit | None = Field(default=None, alias="global")  # every request
    models: dict[str, RateLimit] = Field(default_factory=dict)  # per model alias
    queue: QueueSettings = Field(default_factory=QueueSettings)  # default for every bucket
    # completion tokens assumed before the call when a request sets no max_tokens
    default_completion_tokens: int = Field(default=256, ge=0)


class CacheSettings(Strict):
    enabled: bool = False  # cache every alias (as if each had cache: true)
    ttl_seconds: float = Field(default=3600.0, gt=0)
    max_entries: int = Field(default=10_000, ge=1)
    max_entry_bytes: int = Field(default=1024 * 1024, ge=1024)  # larger answers are not kept
    dedup: bool = True  # identical deterministic requests in flight share one upstream call


class UnavailableSettings(Strict):
    """What to do while the shared state (Redis) cannot be reached."""

    limits: FailMode = "fail_open"  # fall back to this instance's own buckets
    budgets: FailMode = "fail_closed"  # 503 rather than spend without a shared ledger
    cache: FailMode = "fail_open"  # this instance's own cache


class StateSettings(Strict):
    backend: Literal["memory", "redis"] = "memory"
    url: str | None = None  # redis://host:port/db, rediss://..., unix:///path
    password: SecretRef | None = None  # ${VAR}; never inside url
    prefix: str = "openclaw:"  # key prefix, so several gateways can share one Redis
    timeout_ms: int = Field(default=250, ge=10, le=60_000)  # per Redis command
    recheck_ms: int = Field(default=1000, ge=10, le=600_000)  # retry interval while down
    local: bool | None = None  # is the state on this machine? default: from url (loopback)
    on_unavailable: UnavailableSettings = Field(default_factory=UnavailableSettings)

    @field_validator("password", mode="before")
    @classmethod
    def _password(cls, v: Any) -> SecretRef | None:
        return _secret(v, "password")

    @model_validator(mode="after")
    def _redis_url(self) -> StateSettings:
        if self.backend == "redis":
            if not self.url:
                raise ValueError("state.backend redis needs url (e.g. redis://127.0.0.1:6379/0)")
            parts = urlsplit(self.url)
            if parts.scheme not in ("redis", "rediss", "unix"):
                raise ValueError("state.url must start with redis://, rediss:// or unix://")
            if parts.password:
                raise ValueError(
                    "state.url must not contain a password; set state.password: '${REDIS_PASSWORD}'"
                )
        return self


class TelemetrySettings(Strict):
    """OpenTelemetry traces (docs/observability.md); needs ``pip install openclaw[otel]``.

    Off unless ``otlp_endpoint`` is set here or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is in the daemon's environment.
    """

    otlp_endpoint: str | None = None  # OTLP/HTTP, e.g. http://127.0.0.1:4318
    service_name: str = "openclaw-gateway"
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    headers: dict[str, SecretRef] = Field(default_factory=dict)  # values: ${ENV} only
    capture_content: bool = False  # message text on spans: redacted form only
    max_queue: int = Field(default=2048, ge=1)  # spans waiting for export; beyond: dropped

    @field_validator("headers", mode="before")
    @classmethod
    def _header_refs(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: _secret(val, f"telemetry.headers.{k}") for k, val in v.items()}
        return v


class PoliciesFile(Strict):
    plugins: list[str] = Field(default_factory=list)  # modules to import (custom rules)
    policies: list[PolicyConfig] = Field(default_factory=list)
    pii: PiiSettings = Field(default_factory=PiiSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    services: list[ServiceConfig] = Field(default_factory=list)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @model_validator(mode="after")
    def _unique_names(self) -> PoliciesFile:
        seen: set[str] = set()
        for p in self.policies:
            if p.name in seen:
                raise ValueError(f"policy name '{p.name}' is used twice")
            seen.add(p.name)
        names = [s.name for s in self.services]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"service names must be unique: {', '.join(dup)}")
        return self


# ---------------------------------------------------------------- channels.yaml

#: What the gateway tells ``notify: true`` channels and webhooks about (channels/events.py).
EVENT_KINDS = (
    "failover",
    "breaker_opened",
    "breaker_closed",
    "config_reload_failed",
    "audit_write_failed",
    "rate_limited",
    "budget_exceeded",
    "refusal_spike",
)


def _event_kinds(values: list[str]) -> list[str]:
    for v in values:
        if v not in EVENT_KINDS:
            close = difflib.get_close_matches(v, EVENT_KINDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(EVENT_KINDS)}"
            raise ValueError(f"unknown event '{v}'; {hint}")
    return values


class CliChannel(Strict):
    type: Literal["cli"]
    name: str
    default_task: str | None = None
    default_model: str | None = None


class SlackChannel(Strict):
    type: Literal["slack"]
    name: str
    workspace: str | None = None
    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretRef | None = SecretRef("${SLACK_BOT_TOKEN}")
    app_token: SecretRef | None = SecretRef("${SLACK_APP_TOKEN}")
    signing_secret: SecretRef | None = SecretRef("${SLACK_SIGNING_SECRET}")
    allow_users: list[str] = Field(default_factory=list)
    allow_channels: list[str] = Field(default_factory=list)  # DMs too: list a DM's D... ID
    # Who may run skills (/openclaw skill): these users, or anyone in these conversations
    # (both within allow_users/allow_channels). Both empty: nobody.
    skill_users: list[str] = Field(default_factory=list)
    skill_channels: list[str] = Field(default_factory=list)
    default_task: str | None = None
    default_model: str | None = None
    notify: bool = False
    notify_channel: str | None = None  # Slack channel ID for events; default: first allow_channels
    events: list[str] = Field(default_factory=list)  # events to post when notify (default: all)
    api_url: str | None = None  # Slack Web API base URL; for tests and proxies

    @field_validator("bot_token", "app_token", "signing_secret", mode="before")
    @classmethod
    def _secrets(cls, v: Any) -> SecretRef | None:
        return _secret(v, "token")

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        return _event_kinds(v)


class WebhookChannel(Strict):
    type: Literal["webhook"]
    name: str
    url: str
    secret: SecretRef | None = None
    events: list[str] = Field(default_factory=list)  # default: all
    timeout: float = Field(default=5.0, gt=0, le=60)  # seconds per delivery attempt
    max_attempts: int = Field(default=5, ge=1, le=10)

    @field_validator("secret", mode="before")
    @classmethod
    def _s(cls, v: Any) -> SecretRef | None:
        return _secret(v, "secret")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        return _event_kinds(v)


Channel = Annotated[CliChannel | SlackChannel | WebhookChannel, Field(discriminator="type")]


class ChannelsFile(Strict):
    channels: list[Channel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ChannelsFile:
        names = [c.name for c in self.channels]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"channel names must be unique: {', '.join(sorted(dup))}")
        return self
