"""Windows: a Scheduled Task named "OpenClaw Gateway", started at logon, restarted on failure.

The task runs a small launcher script (``openclaw-gateway.cmd`` in ``$OPENCLAW_HOME/service``)
because a task action cannot set environment variables: the script sets ``OPENCLAW_HOME``
and sends the daemon's raw output to ``logs/gateway.console.log``. Both files are rendered
from the package's templates; ``install.ps1`` calls ``openclaw gateway install`` rather than
defining a task of its own, so there is one definition.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from xml.sax.saxutils import escape

from openclaw.daemon_units import templates
from openclaw.daemon_units.manager import (
    WINDOWS_TASK,
    ServiceError,
    ServiceManager,
    ServiceSpec,
    ServiceState,
    write_if_changed,
)


def _cmd(value: str) -> str:
    return value.replace("%", "%%")


def _user() -> str:
    domain = os.environ.get("USERDOMAIN")
    user = os.environ.get("USERNAME") or getpass.getuser()
    return f"{domain}\\{user}" if domain else user


class WindowsTaskManager(ServiceManager):
    name = "schtasks"
    description = "Windows Scheduled Task"

    def usable(self) -> tuple[bool, str]:
        r = self.run("schtasks", "/Query", "/FO", "CSV", "/NH", timeout=20.0)
        if r.ok:
            return True, ""
        return False, f"schtasks /Query: {r.why()}"

    def unit_path(self, spec: ServiceSpec) -> Path:
        return spec.home / "service" / templates.WINDOWS_TASK_XML

    def launcher_path(self, spec: ServiceSpec) -> Path:
        return spec.home / "service" / templates.WINDOWS_LAUNCHER

    def render(self, spec: ServiceSpec) -> str:
        return templates.render(
            templates.WINDOWS_TASK_XML,
            {
                "address": spec.address,
                "user": escape(_user()),
                "launcher": escape(str(self.launcher_path(spec))),
            },
        )

    def render_launcher(self, spec: ServiceSpec) -> str:
        command = " ".join(f'"{_cmd(a)}"' for a in spec.program)
        text = templates.render(
            templates.WINDOWS_LAUNCHER,
            {
                "home": _cmd(str(spec.home)),
                "port": str(spec.port),
                "log_dir": _cmd(str(spec.console_log.parent)),
                "console_log": _cmd(str(spec.console_log)),
                "command": command,
            },
        )
        return text.replace("\n", "\r\n")  # cmd.exe scripts want CRLF line ends

    def _registered(self) -> bool:
        return self.run("schtasks", "/Query", "/TN", WINDOWS_TASK).ok

    def install(self, spec: ServiceSpec) -> list[str]:
        xml_path = self.unit_path(spec)
        changed = write_if_changed(self.launcher_path(spec), self.render_launcher(spec))
        # Task Scheduler reads task XML as UTF-16, as the file's declaration says.
        changed = write_if_changed(xml_path, self.render(spec), encoding="utf-16") or changed
        lines = [f"{'wrote' if changed else 'unchanged:'} {xml_path}"]
        if changed or not self._registered():
            r = self.run("schtasks", "/Create", "/TN", WINDOWS_TASK, "/XML", str(xml_path), "/F")
            if not r.ok:
                raise ServiceError(f"'schtasks /Create /TN \"{WINDOWS_TASK}\"' failed: {r.why()}")
            lines.append(f"registered scheduled task '{WINDOWS_TASK}' (starts at logon)")
        if self.state(spec).state != "running":
            r = self.run("schtasks", "/Run", "/TN", WINDOWS_TASK)
            if not r.ok:
                raise ServiceError(f"'schtasks /Run /TN \"{WINDOWS_TASK}\"' failed: {r.why()}")
            lines.append(f"started scheduled task '{WINDOWS_TASK}'")
        return lines

    def uninstall(self, spec: ServiceSpec) -> list[str]:
        lines = []
        if self._registered():
            self.run("schtasks", "/End", "/TN", WINDOWS_TASK)
            r = self.run("schtasks", "/Delete", "/TN", WINDOWS_TASK, "/F")
            if r.ok:
                lines.append(f"removed scheduled task '{WINDOWS_TASK}'")
        for path in (self.unit_path(spec), self.launcher_path(spec)):
            if path.exists():
                path.unlink()
                lines.append(f"removed {path}")
        return lines

    def restart(self, spec: ServiceSpec) -> list[str]:
        if not self._registered():
            return self.install(spec)
        self.run("schtasks", "/End", "/TN", WINDOWS_TASK)  # fails harmlessly if not running
        r = self.run("schtasks", "/Run", "/TN", WINDOWS_TASK)
        if not r.ok:
            raise ServiceError(f"'schtasks /Run /TN \"{WINDOWS_TASK}\"' failed: {r.why()}")
        return [f"restarted scheduled task '{WINDOWS_TASK}'"]

    def state(self, spec: ServiceSpec) -> ServiceState:
        path = str(self.unit_path(spec))
        r = self.run("schtasks", "/Query", "/TN", WINDOWS_TASK, "/FO", "LIST")
        if not r.ok:
            return ServiceState(self.name, False, "not installed", path)
        status = "unknown"
        for line in r.stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "status":
                status = value.strip().lower()
        state = {"ready": "stopped", "disabled": "disabled"}.get(status, status)
        return ServiceState(self.name, True, state, path)
