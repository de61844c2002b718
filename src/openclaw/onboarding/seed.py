"""The configuration OpenClaw writes when there is none: one policy, one renderer.

``openclaw onboard`` (with its flags and questions), a first ``gateway run`` and ``doctor
--fix`` all end here: a :class:`Plan` says which provider and models the ``general`` and
``sensitive`` aliases use, and :func:`render_all` turns it into the three files. Without
answers, :func:`detected_plan` chooses from what the machine has: an ``ANTHROPIC_API_KEY``
or ``OPENAI_API_KEY`` in the environment (written as a ``${VAR}`` reference, never the key),
an Ollama on localhost for the ``sensitive`` alias; where there is nothing, the ``mock``
provider stands in, and ``gateway status`` says so plainly. The seed's three policies are on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from openclaw.onboarding.machine import LOCAL_TYPE, Machine, probe
from openclaw.providers.registry import ProviderRegistry

#: The seed's three policies, in order: (name, rule, what it does).
SEED_POLICIES = (
    ("no_autonomous_actions", "all_outputs_are_drafts", "every answer is marked a draft"),
    (
        "sensitive_data_local",
        "if_context_contains_pii_use_sensitive_model",
        "requests with PII go to the local 'sensitive' model",
    ),
    (
        "audit_everything",
        "log_all_requests_and_responses",
        "refuse to serve without an audit record",
    ),
)
#: Provider types a detected plan prefers for 'general', best first, when their key is set.
KEYED_PREFERENCE = ("anthropic", "openai")

DEFAULT_CHANNELS = """\
# Channels: where people reach the gateway besides HTTP. See README "channels.yaml".
channels:
  - type: cli
    name: developer_terminal
"""

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/@+-]*$")


@dataclass
class Plan:
    """What onboarding will write."""

    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    sensitive_model: str | None = None  # an Ollama model; None: the local mock stands in
    enforce: dict[str, bool] = field(default_factory=lambda: {p[0]: True for p in SEED_POLICIES})
    notes: list[str] = field(default_factory=list)

    @property
    def sensitive(self) -> tuple[str, str]:
        if self.sensitive_model:
            return LOCAL_TYPE, self.sensitive_model
        return "mock", "mock-local"

    def summary(self) -> str:
        p, m = self.sensitive
        return f"general -> {self.provider}/{self.model}, sensitive -> {p}/{m}"


# ------------------------------------------------------------------ choosing


def auto_provider(machine: Machine, registry: ProviderRegistry) -> str:
    for type_ in KEYED_PREFERENCE:
        var = registry.get(type_).key_env_var
        if var and machine.keys.get(var):
            return type_
    if machine.ollama:
        return LOCAL_TYPE
    return "mock"


def default_model(provider: str, machine: Machine, registry: ProviderRegistry) -> str | None:
    if provider == LOCAL_TYPE and machine.ollama:
        return machine.ollama[0]
    return registry.get(provider).suggested_model


def detected_plan(machine: Machine, registry: ProviderRegistry) -> Plan:
    """The plan with no flags and no questions: what a first start writes."""
    provider = auto_provider(machine, registry)
    model = default_model(provider, machine, registry) or ""
    sensitive = machine.ollama[0] if machine.ollama else None
    return Plan(provider, model, None, registry.get(provider).key_env_var, sensitive)


# ------------------------------------------------------------------ rendering


def _scalar(value: str) -> str:
    return (
        value
        if _PLAIN.match(value)
        and value.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~")
        else _dq(value)
    )


def _dq(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_models(plan: Plan, registry: ProviderRegistry) -> str:
    lines = [
        "# Model aliases, written by 'openclaw onboard'. Services ask for an alias, or 'auto'",
        "# with a task. Keys appear only as ${VAR} references: the value stays in the environment.",
    ]
    entries = []
    if plan.base_url or plan.api_key_env or registry.get(plan.provider).needs_base_url:
        entries.append(f"  {plan.provider}:")
        entries.append(f"    type: {plan.provider}")
        if plan.base_url:
            entries.append(f"    base_url: {_scalar(plan.base_url)}")
        if plan.api_key_env:
            entries.append(f"    api_key: {_dq('${' + plan.api_key_env + '}')}")
    if entries:
        lines += ["providers:", *entries]
    sp, sm = plan.sensitive
    lines += [
        "models:",
        "  general:",
        f"    provider: {plan.provider}",
        f"    model: {_scalar(plan.model)}",
        "    use_for: [summarization, drafting, general_queries]",
        "  sensitive:",
        f"    provider: {sp}",
        f"    model: {_scalar(sm)}",
        "    use_for: [customer_data, financial_records, internal_docs]",
        "default: general",
    ]
    return "\n".join(lines) + "\n"


def render_policies(enforce: Mapping[str, bool] | None = None) -> str:
    """The seed's policies; ``enforce`` maps a policy to False for shadow mode."""
    enforce = enforce or {}
    lines = [
        "# Policies run in this order on every request. enforce: false = shadow mode (the",
        '# decision is audited as "would_apply" but the request is not changed).',
        "policies:",
    ]
    for i, (name, rule, _what) in enumerate(SEED_POLICIES):
        if i:
            lines.append("")
        lines += [
            f"  - name: {name}",
            f"    rule: {rule}",
            f"    enforce: {'true' if enforce.get(name, True) else 'false'}",
        ]
    return "\n".join(lines) + "\n"


def render_all(plan: Plan, registry: ProviderRegistry) -> dict[str, str]:
    return {
        "models.yaml": render_models(plan, registry),
        "policies.yaml": render_policies(plan.enforce),
        "channels.yaml": DEFAULT_CHANNELS,
    }


# ------------------------------------------------------------------ first start


def write_default_config(home: Path, registry: ProviderRegistry | None = None) -> list[str]:
    """Write any missing config file from what is detected; never overwrite.

    Returns what was written. This is onboarding without questions, used by a first start
    and ``doctor --fix``.
    """
    registry = registry or ProviderRegistry.from_entry_points()
    home.mkdir(parents=True, exist_ok=True)
    written = []
    texts: dict[str, str] = {}
    summary = ""
    if not (home / "models.yaml").exists():
        plan = detected_plan(probe(registry, with_spacy=False), registry)
        texts = render_all(plan, registry)
        summary = plan.summary()
    else:
        texts = {"policies.yaml": render_policies(), "channels.yaml": DEFAULT_CHANNELS}
    for name, text in texts.items():
        p = home / name
        if not p.exists():
            p.write_text(text)
            written.append(f"models.yaml ({summary})" if name == "models.yaml" else name)
    return written
