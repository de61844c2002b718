"""No service manager: a background process with a pidfile (``openclaw gateway start``).

Used where systemd, launchd and Task Scheduler are all unusable (containers, CI, machines
like this project's own, where ``systemctl`` exists but no systemd runs). The user still ends
with a running gateway; it just does not come back after a crash or a reboot, and the install
says so in one line. Start and stop go through the same :class:`Runner` seam as the real
managers, running this installation's own ``openclaw gateway start|stop``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from openclaw.config import pid_path
from openclaw.daemon_units.manager import ServiceError, ServiceManager, ServiceSpec, ServiceState


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` running? ``os.kill(pid, 0)`` on POSIX; on Windows, where signal 0
    is CTRL_C_EVENT and would interrupt the process, OpenProcess and its exit code."""
    if sys.platform == "win32":
        import ctypes  # Windows only: OpenProcess

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but another user's
    except OSError:
        return False
    return True


def background_pid(home: Path) -> int | None:
    """The pid in the pidfile if that process is alive."""
    try:
        pid = int(pid_path(home).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


class BackgroundProcess(ServiceManager):
    name = "none"
    description = "background process, no service manager"

    def usable(self) -> tuple[bool, str]:
        return True, ""

    def unit_path(self, spec: ServiceSpec) -> None:
        return None

    def render(self, spec: ServiceSpec) -> str:
        return " ".join([*spec.program, "gateway", "start", "--port", str(spec.port)])

    def _gateway(self, spec: ServiceSpec, *args: str) -> list[str]:
        r = self.runner.run(
            [*spec.program, "gateway", *args],
            env={"OPENCLAW_HOME": str(spec.home), "OPENCLAW_PORT": str(spec.port)},
            timeout=90.0,
        )
        lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
        if not r.ok:
            raise ServiceError(
                f"'openclaw gateway {' '.join(args)}' failed: "
                + (lines[-1] if lines else f"exit code {r.returncode}")
            )
        return lines

    def install(self, spec: ServiceSpec) -> list[str]:
        return self._gateway(spec, "start", "--port", str(spec.port))

    def uninstall(self, spec: ServiceSpec) -> list[str]:
        if background_pid(spec.home) is None:
            return []
        return self._gateway(spec, "stop")

    def restart(self, spec: ServiceSpec) -> list[str]:
        lines = self._gateway(spec, "stop") if background_pid(spec.home) is not None else []
        return lines + self._gateway(spec, "start", "--port", str(spec.port))

    def state(self, spec: ServiceSpec) -> ServiceState:
        pid = background_pid(spec.home)
        return ServiceState(self.name, True, "running" if pid else "stopped", None, pid)
