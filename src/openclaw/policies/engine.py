"""The policy engine: a pipeline stage that runs ``policies.yaml`` in order.

A rule is a plugin: a :class:`Rule` subclass with the ``name`` used in the file, built once
per config load with its validated ``params`` (bad params fail at load time, naming the
policy). For each request, ``evaluate`` says whether the rule fires and what it
would do; ``enforce: true`` applies that, ``enforce: false`` (shadow mode) only records
``would_apply`` in the audit record. ``when:`` narrows a policy to services, tasks, models or
channels. Built-in rules live in :mod:`openclaw.policies.rules` (``BUILTIN_RULES``); a
plugin module's rules are found by :func:`rules_in` when the assembly imports it. Nothing
registers on import.
"""

from __future__ import annotations

import difflib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from openclaw.audit import AuditLog
from openclaw.config import Config
from openclaw.config.schema import PolicyConfig, When
from openclaw.errors import ConfigError
from openclaw.pipeline.exchange import Exchange, PolicyDecision
from openclaw.providers.base import Provider

if TYPE_CHECKING:
    from openclaw.policies.rules import PiiEngines


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class Verdict:
    """What a rule would do to this request. ``apply`` runs only when enforced."""

    apply: Callable[[Exchange], None] | None = None
    entities: list[str] | None = None
    model_after: str | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RuleContext:
    """What a rule may use besides its params, built by the assembly for one config."""

    config: Config
    providers: dict[str, Provider]
    audit: AuditLog
    pii: PiiEngines
    rule_types: dict[str, type[Rule]] = field(default_factory=dict)


class Rule(ABC):
    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params

    def __init__(self, policy: PolicyConfig, ctx: RuleContext) -> None:
        self.policy = policy
        self.ctx = ctx
        try:
            self.params: Any = self.Params.model_validate(policy.params)
        except ValidationError as exc:
            problems = "; ".join(
                f"params.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"policies.yaml: policy '{policy.name}': {problems}") from None
        self.configure()

    def configure(self) -> None:
        """Check the rule against the rest of the config; raise ConfigError to refuse it."""

    @abstractmethod
    async def evaluate(self, ex: Exchange) -> Verdict | None:
        """Return a verdict if the rule fires for this request, else None."""

    def status(self) -> dict[str, Any]:
        return {}


def rule(cls: type[Rule]) -> type[Rule]:
    """Mark a class as a policy rule (checks it has a name). Registers nothing: the
    assembly finds the rules of a plugin module with :func:`rules_in`."""
    if not cls.name:
        raise ValueError("a rule class needs a name")
    return cls


def rules_in(module: ModuleType) -> list[type[Rule]]:
    """The rule classes a plugin module defines (not those it merely imports)."""
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Rule)
        and obj.name
        and obj.__module__ == module.__name__
    ]


def _matches(when: When | None, ex: Exchange) -> bool:
    if when is None:
        return True
    if when.services and ex.service not in when.services:
        return False
    if when.tasks and ex.task not in when.tasks:
        return False
    if when.models and ex.alias not in when.models and ex.requested_model not in when.models:
        return False
    return not (when.channels and ex.channel not in when.channels)


class PolicyStage:
    name = "policies"
    dry_run = True  # rules decide and mark the exchange; they spend nothing

    def __init__(self, config: Config, ctx: RuleContext) -> None:
        known = ctx.rule_types
        self.rules: list[Rule] = []
        for p in config.policies.policies:
            cls = known.get(p.rule)
            if cls is None:
                close = difflib.get_close_matches(p.rule, list(known), n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"known rules: {', '.join(sorted(known))}"
                )
                raise ConfigError(
                    f"policies.yaml: policy '{p.name}': unknown rule '{p.rule}'; {hint}"
                )
            self.rules.append(cls(p, ctx))

    async def before(self, ex: Exchange) -> None:
        for r in self.rules:
            p = r.policy
            if not _matches(p.when, ex):
                continue
            before = ex.alias
            verdict = await r.evaluate(ex)
            if verdict is None:
                ex.decisions.append(PolicyDecision(p.name, p.rule, "pass", p.enforce))
                continue
            outcome = "applied" if p.enforce else "would_apply"
            # Recorded before applying: a refusing rule raises, and its decision must still
            # reach the audit record, metrics and dashboard.
            ex.decisions.append(
                PolicyDecision(
                    p.name,
                    p.rule,
                    outcome,
                    p.enforce,
                    entities=verdict.entities,
                    model_before=before if verdict.model_after else None,
                    model_after=verdict.model_after,
                    detail=verdict.detail,
                )
            )
            if p.enforce and verdict.apply is not None:
                verdict.apply(ex)
