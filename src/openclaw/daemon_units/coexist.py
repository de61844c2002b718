"""Living beside the upstream OpenClaw project on one machine.

The upstream project (the Node.js OpenClaw) uses the same home (``~/.openclaw``) and the same
unit names: the systemd user unit ``openclaw-gateway.service``, the LaunchAgent
``ai.openclaw.gateway``, the scheduled task ``OpenClaw Gateway``. Installing over its unit
would silently replace the user's other gateway; removing it would break that gateway. So:

- every unit this project writes carries :data:`MANAGED_MARK` (a comment in the systemd unit,
  the plist and the launcher, the task's description); units written before the mark existed
  are recognised by the ``OPENCLAW_SERVICE_MANAGER`` variable every one of them sets (or, for
  the task, by running our launcher);
- :func:`install_problem` is why ``gateway install`` / ``onboard --install-daemon`` must
  refuse: the home holds upstream's ``openclaw.json``, or a unit with our name exists and is
  not ours. The message lists the ways out;
- :func:`foreign_unit` is what ``gateway uninstall`` checks before touching a unit: one that
  is not ours is left alone, and the uninstall says so.
"""

from __future__ import annotations

from pathlib import Path

from openclaw.daemon_units.manager import MANAGER_ENV, WINDOWS_TASK, ServiceManager, ServiceSpec

MANAGED_MARK = "managed-by: openclaw-local-gateway"
UPSTREAM_CONFIG = "openclaw.json"  # the upstream project's config file, in its home


def ours(text: str, *, launcher: Path | None = None) -> bool:
    if MANAGED_MARK in text or MANAGER_ENV in text:
        return True
    return launcher is not None and str(launcher) in text


def foreign_unit(mgr: ServiceManager, spec: ServiceSpec) -> str | None:
    """The unit with our name that this project did not write, or None."""
    if mgr.name == "none":
        return None
    if mgr.name == "schtasks":
        r = mgr.run("schtasks", "/Query", "/TN", WINDOWS_TASK, "/XML")
        if not r.ok or not r.stdout.strip():
            return None  # no such task (or nothing to judge it by)
        launcher = getattr(mgr, "launcher_path", None)
        mine = ours(r.stdout, launcher=launcher(spec) if launcher else None)
        return None if mine else f'the scheduled task "{WINDOWS_TASK}"'
    path = mgr.unit_path(spec)
    if path is None or not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None if ours(text) else str(path)


def foreign_home(home: Path) -> str | None:
    config = home / UPSTREAM_CONFIG
    return str(config) if config.exists() else None


def install_problem(home: Path, mgr: ServiceManager, spec: ServiceSpec) -> str | None:
    """Why installing here would clobber the upstream project's gateway (None: it would not)."""
    config = foreign_home(home)
    unit = foreign_unit(mgr, spec)
    if config is None and unit is None:
        return None
    what = (
        f"{config} exists: this home belongs to the upstream OpenClaw (openclaw.json is its config)"
        if config is not None
        else f"{unit} exists and was not written by this gateway (it runs another program, "
        "probably the upstream OpenClaw)"
    )
    return (
        f"not installing: {what}. Nothing was changed. Choose one:\n"
        "  - another home: OPENCLAW_HOME=~/.openclaw-gateway openclaw onboard --install-daemon\n"
        "  - another port, if both gateways should run: openclaw gateway install --port 18790 "
        "(with another home: they cannot share one)\n"
        "  - another unit name: not available from this installer; run this gateway without a "
        "unit instead (openclaw gateway install --manager none), or remove the other "
        "project's unit with its own uninstaller first"
    )
