"""Typed models for ``models.yaml``, ``policies.yaml`` and ``channels.yaml``.

Every model forbids unknown keys, so a typo fails at load time with the nearest valid key
(see ``openclaw.config.loader``). Secret fields hold a :class:`SecretRef`, the ``${VAR}``
reference text, never the value.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")

BUILTIN_PROVIDER_TYPES = ("openai", "anthropic", "ollama", "openai_compatible", "mock")
ProviderType = Literal["openai", "anthropic", "ollama", "openai_compatible", "mock"]
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
        from pydantic_core import core_schema

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


class ProviderConfig(Strict):
    type: ProviderType
    base_url: str | None = None
    api_key: SecretRef | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    api_version: str | None = None  # anthropic-version header
    max_connections: int = Field(default=100, ge=1)
    requests_per_minute: int | None = Field(default=None, ge=1)

    @field_validator("api_key", mode="before")
    @classmethod
    def _key(cls, v: Any) -> SecretRef | None:
        return _secret(v, "api_key")


class Timeouts(Strict):
    connect: float = Field(default=5.0, gt=0)
    first_token: float = Field(default=60.0, gt=0)
    total: float = Field(default=300.0, gt=0)


class Deployment(Strict):
    provider: str
    model: str
    weight: float = Field(default=1.0, ge=0)
    percent: float | None = Field(default=None, ge=0, le=100)
    cost_per_million_input_tokens: float = Field(default=0.0, ge=0)
    cost_per_million_output_tokens: float = Field(default=0.0, ge=0)
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
                    cost_per_million_input_tokens=self.cost_per_million_input_tokens or 0.0,
                    cost_per_million_output_tokens=self.cost_per_million_output_tokens or 0.0,
                )
            ]
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
        for alias, spec in self.models.items():
            for dep in spec.deployments:
                if (
                    dep.provider not in self.providers
                    and dep.provider not in BUILTIN_PROVIDER_TYPES
                ):
                    known = sorted(set(self.providers) | set(BUILTIN_PROVIDER_TYPES))
                    raise ValueError(
                        f"models.{alias}: provider '{dep.provider}' is neither in 'providers:' "
                        f"nor a built-in type ({', '.join(known)})"
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


class SecuritySettings(Strict):
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    ip_allow: list[str] = Field(default_factory=list)
    ip_deny: list[str] = Field(default_factory=list)


class AuditSettings(Strict):
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    keep: int = Field(default=5, ge=1)


class PoliciesFile(Strict):
    plugins: list[str] = Field(default_factory=list)  # modules to import (custom rules)
    policies: list[PolicyConfig] = Field(default_factory=list)
    pii: PiiSettings = Field(default_factory=PiiSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @model_validator(mode="after")
    def _unique_names(self) -> PoliciesFile:
        seen: set[str] = set()
        for p in self.policies:
            if p.name in seen:
                raise ValueError(f"policy name '{p.name}' is used twice")
            seen.add(p.name)
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
)


def _event_kinds(values: list[str]) -> list[str]:
    import difflib

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
    allow_channels: list[str] = Field(default_factory=list)
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
