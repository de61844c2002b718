"""``openclaw onboard``: from nothing to a configured (and optionally running) gateway.

It looks at what the machine has (provider keys in the environment, a reachable Ollama and
its pulled models, a spaCy English pipeline), asks (rich prompts on a terminal) or takes
flags (``--non-interactive``), and writes ``models.yaml``, ``policies.yaml`` and
``channels.yaml``. Keys are written only as ``${VAR}`` references. A file that exists and
differs is kept unless ``--force``, which first saves it as ``<name>.bak``. Everything is
validated, the way the daemon would load it, before a byte is written, and again after.
Re-running is safe: files that would not change are not touched, the token is kept, and the
daemon install is idempotent.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.prompt import Confirm, Prompt

from openclaw import daemon_units
from openclaw.assembly import build_gateway
from openclaw.config import CONFIG_FILES, DEFAULT_PORT, home_dir
from openclaw.errors import OpenClawError
from openclaw.onboarding.machine import LOCAL_TYPE, Machine, key_is_set, probe, pulled
from openclaw.onboarding.seed import (
    SEED_POLICIES,
    Plan,
    auto_provider,
    default_model,
    render_all,
)
from openclaw.providers.registry import ProviderRegistry, load_checked_config
from openclaw.server.auth import ensure_token, read_token, token_path

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ------------------------------------------------------------------ choosing


def check_plan(plan: Plan, machine: Machine, registry: ProviderRegistry) -> Plan:
    """Reject what cannot work; add notes for what needs the user's hand."""
    ptype = registry.get(plan.provider)
    if ptype.needs_base_url and not plan.base_url:
        raise click.UsageError(
            f"--provider {plan.provider} needs --base-url (e.g. {ptype.default_base_url})"
        )
    if plan.api_key_env and not _ENV_NAME.match(plan.api_key_env):
        raise click.UsageError(
            "--api-key-env takes the *name* of an environment variable, such as OPENAI_API_KEY; "
            "the key itself is never written to a file"
        )
    if plan.api_key_env and not key_is_set(plan.api_key_env):
        plan.notes.append(
            f"{plan.api_key_env} is not set in this environment: export it before the gateway "
            "starts, or put it in gateway.env in the OpenClaw home (mode 0600), which the daemon "
            "reads at start under any service manager"
        )
    if plan.provider == "mock":
        plan.notes.append(
            "the 'general' alias uses the mock provider (canned answers): set OPENAI_API_KEY or "
            "ANTHROPIC_API_KEY, or start Ollama, and run 'openclaw onboard --force'"
        )
    wanted = [plan.model] if plan.provider == LOCAL_TYPE else []
    if plan.sensitive_model:
        wanted.append(plan.sensitive_model)
    for model in dict.fromkeys(wanted):
        if machine.ollama is None:
            plan.notes.append(
                f"Ollama is not reachable at {machine.ollama_url}: install and start it, then "
                f"ollama pull {model}"
            )
        elif not pulled(model, machine.ollama):
            plan.notes.append(f"Ollama has not pulled {model} yet: ollama pull {model}")
    if plan.sensitive_model is None:
        local = machine.suggested_local_model
        plan.notes.append(
            "the 'sensitive' alias uses the local mock until you have an Ollama model: "
            f"ollama pull {local}, then openclaw onboard --force --sensitive-model {local}"
        )
    return plan


def flag_plan(
    machine: Machine,
    registry: ProviderRegistry,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    sensitive_model: str | None,
) -> Plan:
    provider = provider or auto_provider(machine, registry)
    model = model or default_model(provider, machine, registry)
    if model is None:
        raise click.UsageError(f"--provider {provider} needs --model")
    if api_key_env is None:
        api_key_env = registry.get(provider).key_env_var
    if sensitive_model is None and machine.ollama:
        sensitive_model = model if provider == LOCAL_TYPE else machine.ollama[0]
    elif sensitive_model is None and provider == LOCAL_TYPE:
        sensitive_model = model
    return Plan(provider, model, base_url, api_key_env, sensitive_model)


class Prompter:
    """Rich prompts. They read with ``input()``, i.e. from ``sys.stdin``, which is what
    click's test runner feeds; rich's own ``stream=`` keeps the newline and so loses defaults.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    def choose(self, question: str, choices: list[str], default: str) -> str:
        return str(Prompt.ask(question, choices=choices, default=default, console=self.console))

    def text(self, question: str, default: str | None = None) -> str:
        if default is None:
            answer = Prompt.ask(question, console=self.console)
        else:
            answer = Prompt.ask(question, default=default, console=self.console)
        return str(answer).strip()

    def confirm(self, question: str, default: bool = True) -> bool:
        return bool(Confirm.ask(question, default=default, console=self.console))


def interactive_plan(
    ask: Prompter, machine: Machine, registry: ProviderRegistry, flags: Plan
) -> Plan:
    provider = ask.choose("Provider for the 'general' alias", registry.names(), flags.provider)
    ptype = registry.get(provider)
    model = ask.text(
        "Model",
        flags.model if provider == flags.provider else default_model(provider, machine, registry),
    )
    while not model:
        model = ask.text("Model (required)")
    base_url = flags.base_url
    if ptype.needs_base_url:
        base_url = ask.text(
            "Base URL of the server (ending in /v1)", base_url or ptype.default_base_url
        )
    api_key_env = flags.api_key_env if provider == flags.provider else ptype.key_env_var
    if ptype.key_env_var or ptype.needs_base_url:
        ask.console.print(
            "[dim]The key stays in your environment; the config names the variable.[/]"
        )
        name = ask.text("Environment variable holding the API key (empty: none)", api_key_env or "")
        while name and not _ENV_NAME.match(name):
            name = ask.text("That is not a variable name; e.g. OPENAI_API_KEY", api_key_env or "")
        api_key_env = name or None
    sensitive = flags.sensitive_model
    if machine.ollama:
        choices = [*machine.ollama, "none"]
        default = sensitive if sensitive in choices else machine.ollama[0]
        picked = ask.choose(
            "Local Ollama model for the 'sensitive' alias (PII goes here)", choices, str(default)
        )
        sensitive = None if picked == "none" else picked
    elif machine.ollama == []:
        ask.console.print(
            "Ollama has no models yet; pull one with: "
            f"[bold]ollama pull {machine.suggested_local_model}[/]"
        )
        picked = ask.text(
            "Ollama model for the 'sensitive' alias, or 'none' for the local mock",
            sensitive or "none",
        )
        sensitive = None if picked in ("", "none") else picked
    enforce = {}
    for name, _rule, what in SEED_POLICIES:
        enforce[name] = ask.confirm(f"Enforce policy {name} ({what})? No = shadow mode", True)
    return Plan(provider, model, base_url, api_key_env, sensitive, enforce)


# ------------------------------------------------------------------ writing


def validate_dir(home: Path) -> str:
    """Load and build the gateway from ``home`` as the daemon would; a one-line summary."""
    cfg = load_checked_config(home)
    gw = build_gateway(cfg)
    try:
        asyncio.run(gw.aclose())
    except Exception:  # closing idle clients must not turn a valid config into an error
        pass
    return (
        f"{len(cfg.models.models)} model aliases, {len(cfg.policies.policies)} policies, "
        f"{len(cfg.channels.channels)} channels"
    )


def effective_files(home: Path, texts: dict[str, str], force: bool) -> dict[str, str]:
    out = {}
    for name in CONFIG_FILES:
        path = home / name
        if path.exists() and not force:
            out[name] = path.read_text(encoding="utf-8")
        elif name in texts:
            out[name] = texts[name]
    return out


def prevalidate(home: Path, files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="openclaw-onboard-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        try:
            validate_dir(Path(tmp))
        except OpenClawError as exc:
            message = exc.message.replace(tmp, str(home))
            raise click.ClickException(
                f"nothing was written: the configuration would not load:\n{message}\n"
                "(fix the file named above, or re-run with --force to replace your files)"
            ) from None


def backup(path: Path) -> Path:
    """Copy ``path`` to the first free ``<name>.bak``, ``<name>.bak.1``, ... (or one equal)."""
    current = path.read_bytes()
    n = 0
    while True:
        bak = path.with_name(f"{path.name}.bak" + (f".{n}" if n else ""))
        if not bak.exists():
            shutil.copy2(path, bak)
            return bak
        if bak.read_bytes() == current:
            return bak
        n += 1


def write_files(home: Path, texts: dict[str, str], force: bool) -> list[str]:
    lines = []
    for name, text in texts.items():
        path = home / name
        if path.exists():
            if path.read_text(encoding="utf-8") == text:
                lines.append(f"{name}: unchanged")
                continue
            if not force:
                lines.append(
                    f"{name}: kept your file (it differs from what onboarding would write; "
                    "--force replaces it and keeps a .bak)"
                )
                continue
            bak = backup(path)
            lines.append(f"{name}: replaced (the previous one is in {bak.name})")
        else:
            lines.append(f"{name}: created")
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return lines


# ------------------------------------------------------------------ the command


@click.command("onboard")
@click.option(
    "--interactive/--non-interactive",
    default=None,
    help="Ask questions (default: when stdin is a terminal).",
)
@click.option(
    "--provider",
    default=None,
    metavar="TYPE",
    help="Provider type for the 'general' alias (default: detected; one of the installed "
    "types, see 'openclaw models types').",
)
@click.option("--model", default=None, help="Model for the 'general' alias.")
@click.option(
    "--base-url",
    default=None,
    help="Provider base URL (required for a server of your own, such as openai_compatible).",
)
@click.option(
    "--api-key-env",
    default=None,
    metavar="NAME",
    help="Environment variable holding the key (written as ${NAME}).",
)
@click.option("--sensitive-model", default=None, help="Ollama model for the 'sensitive' alias.")
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
@click.option(
    "--force", is_flag=True, help="Replace existing config files (each is kept as .bak first)."
)
@click.option(
    "--install-daemon", is_flag=True, help="Install the gateway as a service and start it."
)
def cli(
    interactive: bool | None,
    provider: str | None,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    sensitive_model: str | None,
    port: int | None,
    force: bool,
    install_daemon: bool,
) -> None:
    """Set up OpenClaw: detect providers, write config, create the token, validate.

    Safe to re-run: existing files are kept unless --force (which keeps a .bak).
    """
    install = install_daemon
    console = Console(highlight=False, soft_wrap=True)
    stdin = sys.stdin
    if interactive is None:
        interactive = stdin.isatty()
    home = home_dir()
    port = daemon_units.gateway_port(port, home)
    console.print(f"[bold]OpenClaw onboarding[/] (home: {home})")
    registry = ProviderRegistry.from_entry_points()
    if provider is not None and provider not in registry:
        raise click.BadParameter(
            f"unknown provider type '{provider}'; {registry.hint(provider)}",
            param_hint="'--provider'",
        )
    machine = probe(registry)
    console.print("Found:")
    for line in machine.summary():
        console.print(f"  {line}")
    plan = flag_plan(machine, registry, provider, model, base_url, api_key_env, sensitive_model)
    if interactive:
        ask = Prompter(console)
        plan = interactive_plan(ask, machine, registry, plan)
    plan = check_plan(plan, machine, registry)
    texts = render_all(plan, registry)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    prevalidate(home, effective_files(home, texts, force))
    console.print(f"Config ({plan.summary()}):")
    for line in write_files(home, texts, force):
        console.print(f"  {line}")
    had_token = read_token(home) is not None
    ensure_token(home)
    where = "OPENCLAW_GATEWAY_TOKEN" if not token_path(home).exists() else str(token_path(home))
    console.print(f"  gateway token: {'kept' if had_token else 'created'} ({where})")
    try:
        summary = validate_dir(home)
    except OpenClawError as exc:
        raise click.ClickException(
            f"the configuration in {home} does not load:\n{exc.message}"
        ) from None
    console.print(f"  validated: {summary}")
    for note in plan.notes:
        console.print(f"  [yellow]note:[/] {note}")
    if interactive and not install:
        install = Prompter(console).confirm(
            "Install the gateway as a background service and start it now?", True
        )
    if install:
        console.print("Daemon:")
        report = daemon_units.install_daemon(home, port)
        for line in report.lines:
            console.print(f"  {line}")
    _next_steps(console, home, port, install)


def _next_steps(console: Console, home: Path, port: int, installed: bool) -> None:
    shown = _shown(home)
    console.print("Next:")
    if not installed:
        console.print("  openclaw gateway install      # or: openclaw gateway start")
    console.print("  openclaw gateway status")
    console.print(
        f"  curl -s http://127.0.0.1:{port}/v1/chat/completions "
        f'-H "Authorization: Bearer $(cat {shown}/gateway.token)" '
        "-H 'Content-Type: application/json' "
        """-d '{"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}'"""
    )
    console.print(f"  tail -f {shown}/audit.log")
    if port != DEFAULT_PORT and os.environ.get("OPENCLAW_PORT") != str(port):
        console.print(
            f"  (the gateway uses port {port}: export OPENCLAW_PORT={port} for other openclaw commands)"
        )


def _shown(home: Path) -> str:
    try:
        return "~/" + str(home.relative_to(Path.home()))
    except ValueError:
        return str(home)
