"""macOS: a LaunchAgent, ``~/Library/LaunchAgents/ai.openclaw.gateway.plist``.

Loaded into the user's GUI domain with ``launchctl bootstrap gui/$UID`` (the modern verbs;
``load``/``unload`` are deprecated). ``KeepAlive.SuccessfulExit = false`` restarts the
gateway when it fails but leaves it stopped after a clean ``SIGTERM``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from xml.sax.saxutils import escape

from openclaw.daemon_units import templates
from openclaw.daemon_units.manager import (
    LAUNCHD_LABEL,
    ServiceError,
    ServiceManager,
    ServiceSpec,
    ServiceState,
    write_if_changed,
)


def _uid() -> int:
    getuid = getattr(os, "getuid", None)
    return int(getuid()) if getuid else 0


class LaunchdManager(ServiceManager):
    name = "launchd"
    description = "launchd LaunchAgent"

    @property
    def domain(self) -> str:
        return f"gui/{_uid()}"

    @property
    def target(self) -> str:
        return f"{self.domain}/{LAUNCHD_LABEL}"

    def usable(self) -> tuple[bool, str]:
        r = self.run("launchctl", "print", self.domain, timeout=10.0)
        if r.ok:
            return True, ""
        return False, f"launchctl print {self.domain}: {r.why()}"

    def unit_path(self, spec: ServiceSpec) -> Path:
        return self.user_home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def render(self, spec: ServiceSpec) -> str:
        args = "\n".join(f"    <string>{escape(a)}</string>" for a in spec.argv)
        return templates.render(
            templates.LAUNCHD_PLIST,
            {
                "program_arguments": args,
                "home": escape(str(spec.home)),
                "port": str(spec.port),
                "console_log": escape(str(spec.console_log)),
            },
        )

    def _loaded(self) -> bool:
        return self.run("launchctl", "print", self.target).ok

    def install(self, spec: ServiceSpec) -> list[str]:
        path = self.unit_path(spec)
        spec.console_log.parent.mkdir(parents=True, exist_ok=True)
        loaded = self._loaded()
        changed = write_if_changed(path, self.render(spec))
        lines = [f"{'wrote' if changed else 'unchanged:'} {path}"]
        if loaded and not changed:
            # Already registered with this plist: make sure it runs (no-op when it does).
            self.run("launchctl", "kickstart", self.target)
            lines.append(f"{LAUNCHD_LABEL} is loaded in {self.domain}")
            return lines
        if loaded:
            self.run("launchctl", "bootout", self.target, timeout=60.0)
        self.run("launchctl", "enable", self.target)
        self._bootstrap(path)
        lines.append(f"loaded {LAUNCHD_LABEL} with launchctl bootstrap {self.domain}")
        return lines

    def _bootstrap(self, path: Path) -> None:
        # Right after a bootout launchd may still be tearing the old job down and answer
        # "5: Input/output error"; it settles within a second or two.
        r = self.run("launchctl", "bootstrap", self.domain, str(path), timeout=60.0)
        for _ in range(4):
            if r.ok:
                return
            time.sleep(0.5)
            r = self.run("launchctl", "bootstrap", self.domain, str(path), timeout=60.0)
        if not r.ok:
            raise ServiceError(
                f"'launchctl bootstrap {self.domain} {path}' failed: {r.why()}; "
                "check the plist with: plutil -lint " + str(path)
            )

    def uninstall(self, spec: ServiceSpec) -> list[str]:
        path = self.unit_path(spec)
        lines = []
        if self.run("launchctl", "bootout", self.target, timeout=60.0).ok:
            lines.append(f"stopped and unloaded {LAUNCHD_LABEL}")
        if path.exists():
            path.unlink()
            lines.append(f"removed {path}")
        return lines

    def restart(self, spec: ServiceSpec) -> list[str]:
        if not self._loaded():
            return self.install(spec)
        # -k: kill the running instance first; launchd then starts it again.
        r = self.run("launchctl", "kickstart", "-k", self.target, timeout=60.0)
        if not r.ok:
            raise ServiceError(f"'launchctl kickstart -k {self.target}' failed: {r.why()}")
        return [f"restarted {LAUNCHD_LABEL} (launchctl kickstart -k)"]

    def state(self, spec: ServiceSpec) -> ServiceState:
        path = self.unit_path(spec)
        r = self.run("launchctl", "print", self.target)
        if not r.ok:
            return ServiceState(self.name, path.exists(), "not loaded", str(path))
        state, pid = "unknown", None
        for line in r.stdout.splitlines():
            key, _, value = line.strip().partition(" = ")
            if key == "state":
                state = value.strip()
            elif key == "pid" and value.strip().isdigit():
                pid = int(value)
        state = {"not running": "stopped"}.get(state, state)
        return ServiceState(self.name, path.exists(), state, str(path), pid)
