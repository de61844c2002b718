"""The seam between OpenClaw and the machine's service manager.

Everything that installs, removes or inspects the daemon's service goes through a
:class:`Runner`: one method that runs a command and returns its exit code and output. The
real one wraps :mod:`subprocess`; tests swap in a fake with :func:`set_runner` and then see
every ``systemctl``, ``launchctl`` and ``schtasks`` call as a list of argv lists, the way
httpx tests see requests through a ``MockTransport``.

A :class:`ServiceManager` is one way of keeping the gateway running: a systemd user unit, a
launchd LaunchAgent, a Windows Scheduled Task, or (when none of those is usable) a plain
background process started by ``openclaw gateway start``. Each says whether it can be used
here (:meth:`ServiceManager.usable`), renders its unit, installs, uninstalls and reports state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from openclaw.config import DEFAULT_HOST, log_path
from openclaw.errors import OpenClawError

SERVICE_NAME = "openclaw-gateway"
LAUNCHD_LABEL = "ai.openclaw.gateway"
WINDOWS_TASK = "OpenClaw Gateway"
#: Set in every unit's environment so the daemon can say who manages it (``gateway status``).
MANAGER_ENV = "OPENCLAW_SERVICE_MANAGER"


class ServiceError(OpenClawError):
    """Installing, removing or starting the service failed; the message says what to do."""

    code = "service_error"


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def why(self) -> str:
        """The first line of what the command said, for one-line messages."""
        text = (self.stderr or self.stdout).strip()
        return text.splitlines()[0] if text else f"exit code {self.returncode}"


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> RunResult: ...


class SubprocessRunner:
    """Runs commands for real. A missing program is exit code 127, like a shell says."""

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> RunResult:
        full_env = dict(os.environ, **env) if env else None
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                env=full_env,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            return RunResult(127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return RunResult(124, "", f"{argv[0]} did not finish within {timeout:g}s")
        return RunResult(proc.returncode, proc.stdout, proc.stderr)


_runner: Runner = SubprocessRunner()


def get_runner() -> Runner:
    return _runner


def set_runner(runner: Runner) -> Runner:
    """Replace the process-wide runner (tests); returns the previous one."""
    global _runner
    previous, _runner = _runner, runner
    return previous


def openclaw_program() -> list[str]:
    """How a unit should start this installation of OpenClaw.

    The console script beside the running interpreter (``<venv>/bin/openclaw``) is what the
    install scripts put on PATH; without one, ``python -m openclaw`` from this interpreter.
    """
    bindir = Path(sys.executable).parent
    for name in ("openclaw", "openclaw.exe"):
        candidate = bindir / name
        if candidate.is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "openclaw"]


@dataclass(frozen=True)
class ServiceSpec:
    """What every unit needs: which program, which home, which port, where logs go."""

    home: Path
    port: int
    program: list[str] = field(default_factory=openclaw_program)
    host: str = DEFAULT_HOST

    @property
    def argv(self) -> list[str]:
        return [*self.program, "gateway", "run"]

    @property
    def log_file(self) -> Path:
        return log_path(self.home)

    @property
    def console_log(self) -> Path:
        """Raw stdout/stderr of the daemon: where a crash before logging starts lands."""
        return self.log_file.with_name("gateway.console.log")

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self, manager: str) -> dict[str, str]:
        return {
            "OPENCLAW_HOME": str(self.home),
            "OPENCLAW_PORT": str(self.port),
            MANAGER_ENV: manager,
        }


@dataclass(frozen=True)
class ServiceState:
    """What a manager says about the gateway's unit right now."""

    manager: str
    installed: bool
    state: str  # "running", "stopped", "failed", "not installed", "unknown: ..."
    unit: str | None = None
    pid: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "manager": self.manager,
            "installed": self.installed,
            "state": self.state,
            "unit": self.unit,
            "pid": self.pid,
        }


class ServiceManager(ABC):
    """One way of keeping the gateway running. Subclasses are small; see systemd.py."""

    name: str
    description: str

    def __init__(self, runner: Runner | None = None, user_home: Path | None = None) -> None:
        self.runner = runner or get_runner()
        self.user_home = user_home or Path.home()

    @abstractmethod
    def usable(self) -> tuple[bool, str]:
        """(usable here, why not) without changing anything."""

    @abstractmethod
    def unit_path(self, spec: ServiceSpec) -> Path | None:
        """Where the rendered unit lives (None: nothing on disk)."""

    @abstractmethod
    def render(self, spec: ServiceSpec) -> str:
        """The unit text for ``spec``."""

    @abstractmethod
    def install(self, spec: ServiceSpec) -> list[str]:
        """Write the unit, register it and start it. Returns lines to show the user."""

    @abstractmethod
    def uninstall(self, spec: ServiceSpec) -> list[str]:
        """Stop and remove the unit. Safe when nothing is installed."""

    @abstractmethod
    def state(self, spec: ServiceSpec) -> ServiceState: ...

    @abstractmethod
    def restart(self, spec: ServiceSpec) -> list[str]:
        """Stop the running gateway and start it again (after an upgrade, say); start it if
        it was not running. Returns lines to show the user."""

    def run(self, *argv: str, timeout: float = 30.0) -> RunResult:
        return self.runner.run(list(argv), timeout=timeout)


def write_if_changed(path: Path, text: str, mode: int = 0o644, encoding: str = "utf-8") -> bool:
    """Write ``text`` atomically unless the file already holds it. True if it changed."""
    try:
        if path.read_text(encoding=encoding) == text:
            return False
    except (OSError, UnicodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding=encoding, newline="")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def gateway_healthy(port: int, host: str = DEFAULT_HOST, timeout: float = 1.0) -> bool:
    try:
        r = httpx.get(f"http://{host}:{port}/healthz", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return r.status_code == 200
