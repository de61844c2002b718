"""What a skill's steps can see on disk and on the network: bubblewrap when it is there.

Every step already gets a scrubbed environment (:mod:`.env`), a fresh temporary ``HOME`` with
its own XDG directories and a temporary working directory. Where ``bwrap`` (bubblewrap,
Linux user namespaces) is installed and works, each step also runs inside it:

- the whole filesystem read-only, with ``/home``, ``/root``, ``/tmp``, ``/run/user`` and the
  OpenClaw home replaced by empty directories, so neither the user's files (``~/.ssh``,
  ``~/.openclaw/gateway.token``, ``gateway.env``) nor other users' files are visible;
- then, mounted back: the skill's own folder (read-only), the Python installation that runs
  ``.py`` steps and the ``PATH`` directories (read-only: ``~/.local/bin`` tools stay
  callable) and the run's temporary directory (read-write, holding the step's ``HOME`` and
  working directory);
- no network (``--unshare-net``) unless the skill declares ``network: true``; its own PID,
  IPC and UTS namespaces; killed with the gateway (``--die-with-parent``).

``skills.yaml`` chooses with ``sandbox:``: ``auto`` (the default: bubblewrap when it works,
else none), ``required`` (refuse to run a step without it, 409) or ``off``. Without it a
step runs as the gateway's user and can read what that user can read; ``skill show`` and
the API say so in the skill's ``isolation`` line. Whether bubblewrap works is probed by
running it once (``bwrap ... true``, a few milliseconds): it can be installed and still be
refused by the kernel (user namespaces disabled, some containers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SandboxMode = Literal["auto", "required", "off"]
_HIDDEN = ("/home", "/root", "/tmp", "/run/user", "/var/tmp")
_PROBE_TIMEOUT = 5.0
_PROBE_ARGS: tuple[str, ...] = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")
_PROBE_ARGS += ("--unshare-pid", "--unshare-net", "--die-with-parent", "--", "true")


@dataclass(frozen=True)
class Isolation:
    """How steps run here: ``bwrap`` is the program when they run inside bubblewrap."""

    mode: SandboxMode = "auto"
    bwrap: str | None = None
    why_not: str = "not checked"  # when bwrap is None: why

    @property
    def available(self) -> bool:
        return self.bwrap is not None

    def describe(self, *, network: bool) -> str:
        if self.bwrap is not None:
            net = "with network (the skill declares network: true)" if network else "no network"
            return (
                "sandboxed (bubblewrap): temporary HOME and working directory, the user's and "
                f"OpenClaw's files not mounted, {net}"
            )
        return (
            "runs as your user (no sandbox: "
            f"{self.why_not}): temporary HOME and working directory and a scrubbed "
            "environment, but it can read any file you can read and use the network"
        )

    def wrap(
        self,
        argv: list[str],
        *,
        skill_dir: Path,
        run_dir: Path,
        openclaw_home: Path | None,
        network: bool,
        path: str = "",
    ) -> list[str]:
        """``argv`` run inside bubblewrap (unchanged when there is none)."""
        if self.bwrap is None:
            return argv
        cmd = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        hidden = [p for p in _HIDDEN if Path(p).is_dir()]
        if openclaw_home is not None:
            hidden.append(str(openclaw_home))
        for hide in hidden:
            cmd += ["--tmpfs", hide]
        shown = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent}
        shown |= {Path(d) for d in path.split(os.pathsep) if d and Path(d).is_dir()}
        for d in sorted(shown):
            if openclaw_home is not None and d.resolve().is_relative_to(openclaw_home.resolve()):
                continue  # nothing under the OpenClaw home comes back
            cmd += ["--ro-bind", str(d), str(d)]
        cmd += ["--ro-bind", str(skill_dir), str(skill_dir)]
        cmd += ["--bind", str(run_dir), str(run_dir)]
        cmd += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        if not network:
            cmd.append("--unshare-net")
        return [*cmd, "--", *argv]


def probe(bwrap: str) -> str | None:
    """None when ``bwrap`` runs a command in the namespaces we use; else why not."""
    try:
        proc = subprocess.run(
            [bwrap, *_PROBE_ARGS],
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not start: {exc}"
    if proc.returncode != 0:
        first = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        return f"bwrap is installed but refused: {first[0] if first else proc.returncode}"
    return None


def isolation(mode: SandboxMode = "auto", path: str | None = None) -> Isolation:
    """What this machine offers for ``mode`` (blocking: call it off the event loop)."""
    if mode == "off":
        return Isolation(mode, None, "sandbox: off in skills.yaml")
    bwrap = shutil.which("bwrap", path=path)
    if bwrap is None:
        return Isolation(mode, None, "bubblewrap (bwrap) is not installed")
    why = probe(bwrap)
    if why is not None:
        return Isolation(mode, None, why)
    return Isolation(mode, bwrap)
