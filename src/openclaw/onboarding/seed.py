"""The configuration a first start writes when there is none.

It uses what the machine has: an ``ANTHROPIC_API_KEY`` or ``OPENAI_API_KEY`` in the
environment (written as a ``${VAR}`` reference, never the key), an Ollama on localhost for
the ``sensitive`` alias. Where there is nothing, the ``mock`` provider stands in, and
``gateway status`` says so plainly. The seed's three policies are on.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

SEED_POLICIES = """\
# Policies run in this order on every request. enforce: false = shadow mode (decision is
# audited as "would_apply" but the request is not changed). See README "policies.yaml".
policies:
  - name: no_autonomous_actions
    rule: all_outputs_are_drafts
    enforce: true

  - name: sensitive_data_local
    rule: if_context_contains_pii_use_sensitive_model
    enforce: true

  - name: audit_everything
    rule: log_all_requests_and_responses
    enforce: true
"""

DEFAULT_CHANNELS = """\
# Channels: where people reach the gateway besides HTTP. See README "channels.yaml".
channels:
  - type: cli
    name: developer_terminal
"""


def ollama_models(base_url: str | None = None, timeout: float = 1.0) -> list[str] | None:
    """Models pulled into a reachable Ollama, or None when there is no Ollama."""
    url = base_url or os.environ.get("OLLAMA_HOST", "http://localhost:11434")
    if "://" not in url:
        url = f"http://{url}"
    try:
        r = httpx.get(f"{url.rstrip('/')}/api/tags", timeout=timeout)
        r.raise_for_status()
        return [m["name"] for m in r.json().get("models", []) if "name" in m]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def render_models(
    provider: str,
    model: str,
    *,
    sensitive_provider: str = "mock",
    sensitive_model: str = "mock-local",
    base_url: str | None = None,
    api_key_env: str | None = None,
) -> str:
    lines = ["# Model aliases. Services ask for an alias (or 'auto' + a task); see README."]
    if provider == "openai_compatible" or base_url or api_key_env:
        lines.append("providers:")
        entry = f"  {provider}: {{type: {provider}"
        if base_url:
            entry += f", base_url: {base_url}"
        if api_key_env:
            entry += f', api_key: "${{{api_key_env}}}"'
        lines.append(entry + "}")
    lines += [
        "models:",
        "  general:",
        f"    provider: {provider}",
        f"    model: {model}",
        "    use_for: [summarization, drafting, general_queries]",
        "  sensitive:",
        f"    provider: {sensitive_provider}",
        f"    model: {sensitive_model}",
        "    use_for: [customer_data, financial_records, internal_docs]",
        "default: general",
    ]
    return "\n".join(lines) + "\n"


def detect_models_yaml() -> tuple[str, str]:
    """(models.yaml text, one-line summary of what was chosen)."""
    pulled = ollama_models()
    if pulled:
        sens = ("ollama", pulled[0])
    else:
        sens = ("mock", "mock-local")
    if os.environ.get("ANTHROPIC_API_KEY"):
        main = ("anthropic", "claude-sonnet-4-20250514")
    elif os.environ.get("OPENAI_API_KEY"):
        main = ("openai", "gpt-4o-mini")
    elif pulled:
        main = ("ollama", pulled[0])
    else:
        main = ("mock", "mock-general")
    text = render_models(main[0], main[1], sensitive_provider=sens[0], sensitive_model=sens[1])
    summary = f"general -> {main[0]}/{main[1]}, sensitive -> {sens[0]}/{sens[1]}"
    return text, summary


def write_default_config(home: Path) -> list[str]:
    """Write any missing config file; never overwrite. Returns what was written."""
    home.mkdir(parents=True, exist_ok=True)
    written = []
    models = home / "models.yaml"
    if not models.exists():
        text, summary = detect_models_yaml()
        models.write_text(text)
        written.append(f"models.yaml ({summary})")
    for name, text in (("policies.yaml", SEED_POLICIES), ("channels.yaml", DEFAULT_CHANNELS)):
        p = home / name
        if not p.exists():
            p.write_text(text)
            written.append(name)
    return written
