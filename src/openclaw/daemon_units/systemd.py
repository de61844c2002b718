"""Linux: a systemd *user* unit, ``~/.config/systemd/user/openclaw-gateway.service``.

Usable only when the user's systemd instance answers ``systemctl --user show-environment``:
containers, WSL without systemd and machines where ``/usr/bin/systemctl`` exists but no
systemd runs all fail that, and fall back to a background process.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from openclaw.daemon_units import templates
from openclaw.daemon_units.manager import (
    SERVICE_NAME,
    ServiceError,
    ServiceManager,
    ServiceSpec,
    ServiceState,
    write_if_changed,
)

UNIT = f"{SERVICE_NAME}.service"
_NEEDS_QUOTES = frozenset(" \t\"\\'$%;")


def _escape(value: str) -> str:
    """A value inside double quotes: specifiers (%) and quotes escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def exec_start(argv: list[str]) -> str:
    """``ExecStart=`` arguments; systemd expands ``$`` and ``%`` there, so both are escaped."""
    out = []
    for arg in argv:
        if arg and not (set(arg) & _NEEDS_QUOTES):
            out.append(arg)
        else:
            out.append('"' + _escape(arg).replace("$", "$$") + '"')
    return " ".join(out)


def environment(name: str, value: str) -> str:
    return f'"{name}={_escape(value)}"'


class SystemdManager(ServiceManager):
    name = "systemd"
    description = "systemd user unit"

    def usable(self) -> tuple[bool, str]:
        r = self.run("systemctl", "--user", "show-environment", timeout=10.0)
        if r.ok:
            return True, ""
        return False, f"systemctl --user: {r.why()}"

    def unit_dir(self) -> Path:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg else self.user_home / ".config"
        return base / "systemd" / "user"

    def unit_path(self, spec: ServiceSpec) -> Path:
        return self.unit_dir() / UNIT

    def render(self, spec: ServiceSpec) -> str:
        env = spec.environment(self.name)
        return templates.render(
            templates.SYSTEMD_UNIT,
            {
                "address": spec.address,
                "exec_start": exec_start(spec.argv),
                "env_home": environment("OPENCLAW_HOME", env["OPENCLAW_HOME"]),
                "env_port": environment("OPENCLAW_PORT", env["OPENCLAW_PORT"]),
                "env_manager": environment("OPENCLAW_SERVICE_MANAGER", self.name),
                "env_file": str(spec.home / "gateway.env").replace("%", "%%"),
                "log_file": str(spec.log_file),  # in a comment: no specifiers there
            },
        )

    def _active(self) -> bool:
        return self.run("systemctl", "--user", "is-active", "--quiet", UNIT).ok

    def install(self, spec: ServiceSpec) -> list[str]:
        path = self.unit_path(spec)
        was_active = self._active()
        changed = write_if_changed(path, self.render(spec))
        lines = [f"{'wrote' if changed else 'unchanged:'} {path}"]
        if changed:
            self._must("daemon-reload")
        self._must("enable", "--now", UNIT)
        if changed and was_active:
            self._must("restart", UNIT)
            lines.append(f"restarted {UNIT} with the new unit")
        else:
            lines.append(f"enabled and started {UNIT} (systemctl --user)")
        linger = self.run("loginctl", "show-user", getpass.getuser(), "--property=Linger")
        if linger.ok and linger.stdout.strip() == "Linger=no":
            lines.append(
                "note: user services stop when you log out; to keep the gateway running, "
                f"run: loginctl enable-linger {getpass.getuser()}"
            )
        return lines

    def _must(self, *args: str) -> None:
        r = self.run("systemctl", "--user", *args, timeout=60.0)
        if not r.ok:
            raise ServiceError(
                f"'systemctl --user {' '.join(args)}' failed: {r.why()} "
                f"(see: journalctl --user -u {UNIT})"
            )

    def uninstall(self, spec: ServiceSpec) -> list[str]:
        path = self.unit_path(spec)
        lines = []
        r = self.run("systemctl", "--user", "disable", "--now", UNIT, timeout=60.0)
        if r.ok:
            lines.append(f"stopped and disabled {UNIT}")
        if path.exists():
            path.unlink()
            lines.append(f"removed {path}")
            self.run("systemctl", "--user", "daemon-reload")
        return lines

    def restart(self, spec: ServiceSpec) -> list[str]:
        self._must("restart", UNIT)
        return [f"restarted {UNIT} (systemctl --user restart)"]

    def state(self, spec: ServiceSpec) -> ServiceState:
        path = self.unit_path(spec)
        installed = path.exists()
        r = self.run(
            "systemctl", "--user", "show", UNIT,
            "--property=ActiveState", "--property=SubState", "--property=MainPID",
        )  # fmt: skip
        if not r.ok:
            return ServiceState(self.name, installed, f"unknown ({r.why()})", str(path))
        props = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        active = props.get("ActiveState", "unknown")
        state = {"active": "running", "inactive": "stopped", "activating": "starting"}.get(
            active, active
        )
        pid = int(props["MainPID"]) if props.get("MainPID", "0").isdigit() else 0
        return ServiceState(self.name, installed, state, str(path), pid or None)
