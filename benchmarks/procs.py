"""Processes the harness starts: CPU pinning, start and stop, CPU time and RSS from ``/proc``.

Every process is started in its own session so that stopping it (SIGTERM, then SIGKILL after a
grace period) reaches the workers it forked, and nothing else. CPU time and RSS are read for
the whole process tree (LiteLLM with ``--num_workers 2`` is three processes), from
``/proc/<pid>/stat`` (utime + stime) and ``/proc/<pid>/status`` (VmRSS).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def log(msg: str) -> None:
    """Progress goes to stderr, so stdout stays free for a caller's pipe."""
    print(msg, file=sys.stderr, flush=True)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Pinning:
    """Which CPU each role runs on; ``None`` everywhere when pinning is off or impossible."""

    system: int | None = None  # the gateway or peer under test
    load: int | None = None  # upstream, load generator and this harness
    note: str = ""
    taskset: str | None = None

    @classmethod
    def detect(cls, enabled: bool = True) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        taskset = shutil.which("taskset")
        if not enabled:
            return cls(note="off (--no-pin)")
        if len(cpus) < 2:
            return cls(note=f"off: only {len(cpus) or 1} CPU available")
        if taskset is None:
            return cls(note="off: taskset not found")
        system, load = cpus[0], cpus[1]
        return cls(
            system=system,
            load=load,
            taskset=taskset,
            note=f"system under test on CPU {system}; upstream, load generator and harness on CPU {load}",
        )

    def prefix(self, role: str) -> list[str]:
        cpu = self.system if role == "system" else self.load
        if cpu is None or self.taskset is None:
            return []
        return [self.taskset, "-c", str(cpu)]

    def pin_self(self) -> None:
        if self.load is not None:
            os.sched_setaffinity(0, {self.load})

    def to_dict(self) -> dict[str, object]:
        return {"system_cpu": self.system, "load_cpu": self.load, "note": self.note}


@dataclass
class Proc:
    """A started process (and its children)."""

    name: str
    argv: Sequence[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, stdout_pipe: bool = False) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(
            list(self.argv),
            stdout=subprocess.PIPE if stdout_pipe else logf,
            stderr=logf,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        logf.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL it. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        # Workers that outlived their parent are still in the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return self.popen.returncode

    # -- measurements --------------------------------------------------------------------
    def tree(self) -> list[int]:
        return process_tree(self.pid)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p) for p in self.tree())

    def rss_bytes(self) -> int:
        return sum(rss_bytes(p) for p in self.tree())

    def pss_bytes(self) -> int:
        """The memory the process tree really holds: shared pages counted once."""
        return sum(pss_bytes(p) for p in self.tree())


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    return raw[raw.rfind(b")") + 2 :].decode().split()


def cpu_seconds(pid: int) -> float:
    f = _stat_fields(pid)
    if f is None:
        return 0.0
    return (int(f[11]) + int(f[12])) / _TICK  # utime, stime


def cpu_busy_seconds(cpu: int | None) -> float:
    """Busy time of one CPU (or all, for None) from ``/proc/stat``: everything but idle/iowait."""
    name = "cpu" if cpu is None else f"cpu{cpu}"
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            f = line.split()
            if f and f[0] == name:
                v = [int(x) for x in f[1:9]]
                return (sum(v) - v[3] - v[4]) / _TICK  # minus idle and iowait
    except (OSError, ValueError):
        pass
    return 0.0


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: pages shared with other processes (a fork server's preloaded
    modules, in its workers) count once across them, split evenly."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        f = _stat_fields(int(entry.name))
        if f is not None:
            children.setdefault(int(f[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, proc: Proc, timeout: float, headers: dict[str, str] | None = None) -> None:
    """Poll ``url`` until it answers < 500; raise with the log's tail if the process dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.tail()}")
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with _opener.open(req, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise RuntimeError(
        f"{proc.name} did not answer {url} within {timeout:g}s ({last}):\n{proc.tail()}"
    )


# Loopback only: never let a proxy from the environment in between.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()
