"""``openclaw doctor``: what is wrong with this installation, and how to fix it.

Each check returns :class:`Finding` objects with a severity and a fix. A fix that cannot lose
anything (a file mode, a missing token, a missing config file written from defaults) carries
an ``apply`` callable, and ``--fix`` runs those and checks again. Everything else (pulling a
model, freeing a port, setting a key) is described, never done. Secrets are named, never
shown: a missing key is reported as the variable that should hold it.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from openclaw import daemon_units
from openclaw.assembly import build_gateway
from openclaw.audit.anchor import anchor_path
from openclaw.audit.record import log_files
from openclaw.cli.output import echo_json, json_option
from openclaw.config import Config, home_dir, log_path, pid_path
from openclaw.config.envfile import env_file, exposed_mode
from openclaw.daemon_units.fallback import background_pid
from openclaw.daemon_units.install import manager_named
from openclaw.daemon_units.manager import ServiceSpec, gateway_healthy, openclaw_program
from openclaw.errors import OpenClawError
from openclaw.onboarding.machine import (
    LOCAL_TYPE,
    SPACY_INSTALL_HINT,
    pulled,
    spacy_pipelines,
    suggested_local_model,
)
from openclaw.onboarding.seed import write_default_config
from openclaw.providers.registry import ProviderRegistry, load_checked_config
from openclaw.routing.pricing import PriceBook
from openclaw.server.auth import TOKEN_FILE_ENV, ensure_token, read_token, token_path

SEVERITIES = ("ok", "info", "warning", "error")
_MIN_FREE = 100 * 1024 * 1024


@dataclass
class Finding:
    check: str
    severity: str  # one of SEVERITIES
    message: str
    fix: str | None = None
    apply: Callable[[], str] | None = field(default=None, repr=False)
    fixed: str | None = None  # what --fix did

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "fixable": self.apply is not None,
            "fixed": self.fixed,
        }


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _chmod600(path: Path) -> Callable[[], str]:
    def apply() -> str:
        os.chmod(path, 0o600)
        return f"chmod 600 {path}"

    return apply


# ------------------------------------------------------------------ checks


def check_config(home: Path) -> tuple[list[Finding], Config | None]:
    if not (home / "models.yaml").exists():

        def write() -> str:
            written = write_default_config(home)
            return "wrote " + ", ".join(written) if written else "nothing to write"

        return [
            Finding(
                "config",
                "error",
                f"no models.yaml in {home}",
                "run 'openclaw onboard' (or --fix writes a default config from what is detected)",
                write,
            )
        ], None
    try:
        cfg = load_checked_config(home)
        build_gateway(cfg)
    except OpenClawError as exc:
        return [
            Finding(
                "config",
                "error",
                f"the configuration does not load: {exc.message}",
                "edit the file and line named above ('openclaw config validate' checks it)",
            )
        ], None
    msg = (
        f"config valid: {len(cfg.models.models)} model aliases, "
        f"{len(cfg.policies.policies)} policies, {len(cfg.channels.channels)} channels"
    )
    return [Finding("config", "ok", msg)], cfg


def check_token(home: Path, running: bool) -> list[Finding]:
    if os.environ.get("OPENCLAW_GATEWAY_TOKEN"):
        return [Finding("token", "ok", "gateway token comes from OPENCLAW_GATEWAY_TOKEN")]
    if os.environ.get(TOKEN_FILE_ENV):
        try:
            read_token(home)
        except OpenClawError as exc:
            return [
                Finding(
                    "token", "error", exc.message, f"mount the secret or unset {TOKEN_FILE_ENV}"
                )
            ]
        return [Finding("token", "ok", f"gateway token comes from {TOKEN_FILE_ENV}")]
    path = token_path(home)
    if read_token(home) is None:
        restart = " and restart the gateway so it uses it" if running else ""

        def create() -> str:
            ensure_token(home)
            return f"created {path} (mode 0600)"

        return [
            Finding(
                "token",
                "error",
                f"no gateway token in {path}: clients cannot authenticate",
                f"--fix creates one (mode 0600){restart}",
                create,
            )
        ]
    mode = _mode(path)
    if mode & 0o077:
        return [
            Finding(
                "token-mode",
                "error",
                f"{path} has mode {mode:04o}: other users can read the gateway token",
                "--fix sets mode 0600",
                _chmod600(path),
            )
        ]
    return [Finding("token", "ok", f"gateway token present ({path}, mode 0600)")]


def check_audit_mode(home: Path) -> list[Finding]:
    out = []
    files = log_files(home / "audit.log")
    if not files:
        return [
            Finding("audit-mode", "ok", "no audit log yet (the daemon creates it with mode 0600)")
        ]
    for path in files:
        mode = _mode(path)
        if mode & 0o077:
            out.append(
                Finding(
                    "audit-mode",
                    "error",
                    f"{path} has mode {mode:04o}: other users can read what was sent to models",
                    "--fix sets mode 0600",
                    _chmod600(path),
                )
            )
    return out or [Finding("audit-mode", "ok", "audit log files are private (mode 0600)")]


def check_env_mode(home: Path) -> list[Finding]:
    """``gateway.env`` holds keys: the daemon refuses to read it unless it is private."""
    path = env_file(home)
    mode = exposed_mode(path)
    if mode is None:
        return []
    return [
        Finding(
            "env-mode",
            "error",
            f"{path} has mode {mode:04o}: other users can read the keys in it, and the "
            "gateway refuses to start until it is private",
            "--fix sets mode 0600",
            _chmod600(path),
        )
    ]


def check_daemon_files(home: Path) -> list[Finding]:
    """The daemon's own log (and rotated copies), pid file and audit anchor: 0600 each."""
    log = log_path(home)
    paths = [
        *sorted(log.parent.glob(log.name + "*")),
        pid_path(home),
        anchor_path(home / "audit.log"),
    ]
    out = []
    for path in paths:
        mode = exposed_mode(path)
        if mode is not None:
            out.append(
                Finding(
                    "file-mode",
                    "warning",
                    f"{path} has mode {mode:04o}: other users can read it",
                    "--fix sets mode 0600",
                    _chmod600(path),
                )
            )
    return out


def check_port(home: Path, port: int) -> list[Finding]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return [Finding("port", "ok", f"port {port} is free (the gateway is not running)")]
        except OSError:
            pass
    pid = background_pid(home)
    if gateway_healthy(port):
        if pid is not None:
            return [Finding("port", "ok", f"port {port} is held by this gateway (pid {pid})")]
        return [
            Finding(
                "port",
                "warning",
                f"a gateway answers on port {port}, but not one started with this home ({home})",
                "check OPENCLAW_HOME, or stop the other gateway",
            )
        ]
    return [
        Finding(
            "port",
            "error",
            f"port {port} is in use by another program",
            "stop that program, or use another port: OPENCLAW_PORT=<port> openclaw gateway install",
        )
    ]


def check_keys(cfg: Config) -> list[Finding]:
    registry = ProviderRegistry.from_entry_points()
    out = []
    used = {d.provider for a in cfg.models.models.values() for d in a.deployments}
    for name in sorted(used | set(cfg.models.providers)):
        pc = registry.provider_config(cfg.models, name)
        ref = pc.api_key
        if ref is None or ref.var is None or ref.resolve():
            continue
        out.append(
            Finding(
                "keys",
                "error" if name in used else "warning",
                f"provider '{name}' reads its key from ${{{ref.var}}}, which is not set here",
                f"export {ref.var}=... before the gateway starts, or put {ref.var}=... in "
                f"{cfg.home / 'gateway.env'} (mode 0600), which the daemon reads at start",
            )
        )
    for ch in cfg.channels.channels:
        for attr in ("bot_token", "app_token", "signing_secret", "secret"):
            ref = getattr(ch, attr, None)
            if ref is not None and ref.var and not ref.resolve():
                out.append(
                    Finding(
                        "keys",
                        "warning",
                        f"channel '{ch.name}' reads {attr} from ${{{ref.var}}}, which is not set",
                        f"export {ref.var}=... before the gateway starts",
                    )
                )
    return out or [Finding("keys", "ok", "every key the config references is set")]


def check_ollama(cfg: Config) -> list[Finding]:
    registry = ProviderRegistry.from_entry_points()
    wanted: dict[str, set[str]] = {}  # base URL -> models
    for alias in cfg.models.models.values():
        for d in alias.deployments:
            pc = registry.provider_config(cfg.models, d.provider)
            if pc.type == LOCAL_TYPE:
                url = pc.base_url or registry.default_config(LOCAL_TYPE).base_url or ""
                wanted.setdefault(url, set()).add(d.model)
    sensitive = cfg.models.models.get("sensitive")
    local = suggested_local_model(registry)
    out = []
    if sensitive and all(d.provider == "mock" for d in sensitive.deployments):
        out.append(
            Finding(
                "ollama",
                "warning",
                "the 'sensitive' alias uses the mock provider: requests with PII get canned answers",
                f"install Ollama, ollama pull {local}, then "
                f"openclaw onboard --force --sensitive-model {local}",
            )
        )
    for url, models in sorted(wanted.items()):
        have = registry.get(LOCAL_TYPE).discover(url)
        if have is None:
            out.append(
                Finding(
                    "ollama",
                    "error",
                    f"Ollama is not reachable at {url}",
                    "start it ('ollama serve', or the Ollama app), or fix base_url in models.yaml",
                )
            )
            continue
        for model in sorted(models):
            if pulled(model, have):
                out.append(Finding("ollama", "ok", f"Ollama at {url} has {model}"))
            else:
                out.append(
                    Finding(
                        "ollama",
                        "error",
                        f"Ollama at {url} has not pulled {model}",
                        f"ollama pull {model}",
                    )
                )
    return out


def check_spacy(cfg: Config | None) -> list[Finding]:
    found = spacy_pipelines()
    wanted = cfg.policies.pii.spacy_model if cfg is not None else None
    if wanted and wanted not in ("auto", "none") and wanted not in found:
        return [
            Finding(
                "spacy",
                "error",
                f"policies.yaml asks for spaCy pipeline '{wanted}', which is not installed",
                f"{sys.executable} -m pip install {wanted}, or set pii.spacy_model: auto",
            )
        ]
    if found:
        return [Finding("spacy", "ok", f"spaCy English pipeline for PII names: {found[0]}")]
    return [
        Finding(
            "spacy",
            "warning",
            "no spaCy English pipeline: PII detection is pattern-only (names are not found)",
            SPACY_INSTALL_HINT,
        )
    ]


def check_disk(home: Path, cfg: Config | None) -> list[Finding]:
    usage = shutil.disk_usage(home)
    audit = cfg.policies.audit if cfg is not None else None
    need = audit.max_bytes * (audit.keep + 1) if audit else 300 * 1024 * 1024
    free_mb, need_mb = usage.free // 2**20, need // 2**20
    if usage.free < _MIN_FREE:
        return [
            Finding(
                "disk",
                "error",
                f"only {free_mb} MB free for the audit log in {home}: the gateway refuses requests it cannot audit",
                "free some space, or point OPENCLAW_HOME at a roomier disk",
            )
        ]
    if usage.free < need:
        return [
            Finding(
                "disk",
                "warning",
                f"{free_mb} MB free in {home}; the audit log and its rotations may take {need_mb} MB",
                "free some space, or lower audit.max_bytes / audit.keep in policies.yaml",
            )
        ]
    return [
        Finding("disk", "ok", f"{free_mb} MB free for the audit log ({need_mb} MB needed at most)")
    ]


def check_service(home: Path) -> list[Finding]:
    record = daemon_units.read_record(home)
    if record is None:
        return [
            Finding(
                "service",
                "info",
                "no service is installed: the gateway will not start at login or after a reboot",
                "openclaw gateway install",
            )
        ]
    if not record.supervised:
        return [
            Finding(
                "service",
                "info",
                "the gateway runs as a background process, not under a service manager",
                "openclaw gateway install (where systemd, launchd or Task Scheduler is usable)",
            )
        ]
    mgr = manager_named(record.manager)
    current = ServiceSpec(home=home, port=record.port, program=openclaw_program())
    unit = mgr.unit_path(current)
    if unit is None or not unit.exists():
        return [
            Finding(
                "service",
                "error",
                f"service.json names a {mgr.description} at {record.unit}, but the file is gone",
                "openclaw gateway install",
            )
        ]
    encoding = "utf-16" if unit.suffix == ".xml" else "utf-8"
    if unit.read_text(encoding=encoding) != mgr.render(current):
        return [
            Finding(
                "service",
                "warning",
                f"{unit} does not match this installation (it runs {' '.join(record.program)}; "
                f"this is {' '.join(current.program)})",
                "openclaw gateway install (rewrites the unit and restarts the gateway)",
            )
        ]
    return [Finding("service", "ok", f"{mgr.description} matches this installation ({unit})")]


def check_prices(cfg: Config) -> list[Finding]:
    """Models with no known price: their spend is invisible to dollar budgets."""
    book = PriceBook(cfg.models)
    missing = sorted({f"{alias} ({d.provider}/{d.model})" for alias, d in book.unpriced()})
    if not missing:
        return [Finding("prices", "ok", "every deployment has a price (openclaw models prices)")]
    budgets = [s.name for s in cfg.policies.services if s.budget and s.budget.usd_per_day]
    who = (
        f"the usd_per_day budgets of {', '.join(budgets)} cannot be enforced for them"
        if budgets
        else "dollar budgets (usd_per_day) cannot be enforced for them"
    )
    return [
        Finding(
            "prices",
            "warning",
            f"no known price for {', '.join(missing)}: their requests record cost_usd null "
            f"and {who}",
            "set cost_per_million_input_tokens and cost_per_million_output_tokens for them "
            "in models.yaml, or budget them with tokens_per_day",
        )
    ]


def run_checks(home: Path, port: int) -> list[Finding]:
    findings, cfg = check_config(home)
    running = gateway_healthy(port, timeout=0.5)
    findings += check_token(home, running)
    findings += check_audit_mode(home)
    findings += check_env_mode(home)
    findings += check_daemon_files(home)
    findings += check_port(home, port)
    if cfg is not None:
        findings += check_keys(cfg)
        findings += check_ollama(cfg)
        findings += check_prices(cfg)
    findings += check_spacy(cfg)
    findings += check_disk(home, cfg)
    findings += check_service(home)
    return findings


# ------------------------------------------------------------------ the command

_STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "red"}


def _print(findings: list[Finding]) -> None:
    console = Console(highlight=False)
    for f in findings:
        console.print(
            f"  [{_STYLE[f.severity]}]{f.severity:<7}[/] {f.check:<10} {f.message}", soft_wrap=True
        )
        if f.fixed:
            console.print(f"  {'':<7} {'':<10} [green]fixed:[/] {f.fixed}", soft_wrap=True)
        elif f.fix and f.severity != "ok":
            console.print(f"  {'':<7} {'':<10} fix: {f.fix}", soft_wrap=True)


@click.command("doctor")
@click.option(
    "--fix", "fix_", is_flag=True, help="Apply the safe fixes (file modes, token, default config)."
)
@json_option
@click.option("--port", type=int, default=None, help="Port (default $OPENCLAW_PORT or 18789).")
def cli(fix_: bool, as_json: bool, port: int | None) -> None:
    """Check the installation: config, file modes, token, port, keys, Ollama, spaCy, disk, service.

    Exit code 0 when nothing is an error, 1 otherwise.
    """
    home = home_dir()
    port = daemon_units.gateway_port(port, home)
    findings = run_checks(home, port)
    fixed: dict[str, str] = {}
    if fix_:
        for f in findings:
            if f.apply is not None:
                try:
                    fixed[f.message] = f.apply()
                except OSError as exc:
                    fixed[f.message] = f"could not fix: {exc.strerror or exc}"
        if fixed:
            findings = run_checks(home, port)
            findings += [Finding("fixed", "info", msg, fixed=did) for msg, did in fixed.items()]
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    if as_json:
        body = {
            "home": str(home),
            "errors": errors,
            "warnings": warnings,
            "findings": [f.to_dict() for f in findings],
        }
        echo_json(body)
    else:
        click.echo(f"OpenClaw doctor (home: {home})")
        _print(findings)
        fixable = sum(f.apply is not None for f in findings)
        tail = f"{errors} error(s), {warnings} warning(s)"
        if fixable and not fix_:
            tail += f"; 'openclaw doctor --fix' applies {fixable} safe fix(es)"
        click.echo(tail)
    sys.exit(1 if errors else 0)
