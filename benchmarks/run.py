"""The run: start the upstream, check it, measure every point, soak, stop everything, report.

For each point: an unmeasured warm-up, then CPU time of the system's process tree and of the
upstream is read, the load runs, and CPU time and RSS are read again. Points are grouped by
system, so each gateway config starts once (as ``openclaw gateway run``), serves its points
and is stopped before the next one starts. The upstream runs for the whole run, on the load
generator's CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fnmatch import fnmatch
from itertools import groupby
from pathlib import Path
from typing import Any

from benchmarks import profile, wrk
from benchmarks.loadgen import LoadResult, rounded
from benchmarks.payloads import PAYLOADS, Template, prompt_chars
from benchmarks.procs import cpu_busy_seconds, log
from benchmarks.scenarios import Point, plan
from benchmarks.soak import run_soak
from benchmarks.systems import (
    GATEWAY_VARIANTS,
    Context,
    Direct,
    Gateway,
    LiteLLM,
    System,
    Upstream,
    template_for,
    url_for,
)

MB = 1024 * 1024


#: A system has settled when its processes use less than this share of a CPU over a second.
_SETTLED = 0.05
_SETTLE_MAX_S = 90.0


def settle(system: Any) -> float:
    """Wait until the system's processes are idle; the seconds that took.

    A server that answers its health check may still be initialising in the background:
    LiteLLM's workers burn a CPU for some seconds after the first answer, and measuring then
    measured their start-up against the gateway's steady state.
    """
    start = time.monotonic()
    before = system.cpu_seconds()
    while time.monotonic() - start < _SETTLE_MAX_S:
        time.sleep(1.0)
        now = system.cpu_seconds()
        if now - before < _SETTLED:
            break
        before = now
    return round(time.monotonic() - start, 1)


@dataclass
class Options:
    out: Path
    quick: bool = False
    with_litellm: bool = False
    generator: str = "auto"  # auto | wrk | asyncio
    duration: float = 4.0
    warmup: float = 1.0
    soak_requests: int = 100_000
    soak_warmup: float = 5.0
    only: set[str] | None = None
    connections: tuple[int, ...] | None = None
    pin: bool = True
    install: bool = True
    profile: list[str] = field(default_factory=list)
    keep_work: bool = False


class Runner:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        from benchmarks.procs import Pinning

        self.work = opts.out / "work"
        self.ctx = Context(self.work, Pinning.detect(opts.pin), install=opts.install)
        self.wrk: str | None = None
        self.py_spy: str | None = None
        self.upstream = Upstream()
        self.points: list[dict[str, object]] = []
        self.systems: dict[str, dict[str, object]] = {}
        self.skipped: list[dict[str, str]] = []
        self.counter = 0

    # -- generators -------------------------------------------------------------------
    def choose_generator(self) -> None:
        if self.opts.generator == "asyncio":
            return
        exe = wrk.find()
        if exe is None and self.opts.install:
            exe = install_wrk()
        if exe is None and self.opts.generator == "wrk":
            raise SystemExit(
                "wrk is not installed (apt-get install wrk), and --generator wrk was given"
            )
        if exe is None:
            self.ctx.notes.append("wrk not found: the built-in asyncio generator was used")
        self.wrk = exe

    def load(
        self,
        system: System,
        template: Template,
        *,
        connections: int,
        duration: float,
        stream: bool,
        label: str,
        max_requests: int | None = None,
        ids_dir: Path | None = None,
        vary: bool = True,
        url: str | None = None,
    ) -> LoadResult:
        url = url or system.url
        start_number = random.randrange(32**6, 32**7)  # a fresh tag range: no PII cache hits
        prefix = self.ctx.pinning.prefix("load")
        if self.wrk is not None and not stream and max_requests is None:
            script = self.work / "lua" / f"{label}.lua"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(
                wrk.script(
                    template,
                    path=_path(url),
                    token=system.token,
                    start_number=start_number,
                    ids_prefix=None if ids_dir is None else ids_dir / "ids-",
                    vary=vary,
                )
            )
            return wrk.run(
                self.wrk,
                url,
                script,
                connections=connections,
                duration=duration,
                prefix=prefix,
            )
        spec = self.work / "templates" / f"{label}.json"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(
            json.dumps({"prefix": template.prefix.decode(), "suffix": template.suffix.decode()})
        )
        argv = [
            *prefix,
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--url",
            url,
            "--template",
            str(spec),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--start-number",
            str(start_number),
        ]
        if system.token:
            argv += ["--token", system.token]
        if max_requests is not None:
            argv += ["--requests", str(max_requests)]
        if not vary:
            argv.append("--same-tag")
        if ids_dir is not None:
            argv += ["--ids-out", str(ids_dir / "ids-0.txt")]
        budget = duration + 120 if max_requests is None else 3600
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=budget)
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed: {proc.stderr.strip()[-500:]}")
        return LoadResult(**json.loads(proc.stdout.strip().splitlines()[-1]))

    # -- one point --------------------------------------------------------------------
    def measure(self, system: System, pt: Point, total: int) -> dict[str, object]:
        opts = self.opts
        stream = pt.scenario.stream
        api = pt.scenario.api
        template = template_for(pt.payload, stream, api)
        url = url_for(system.url, api)
        label = f"{pt.scenario.key}-{pt.payload}-c{pt.connections}"
        if opts.warmup > 0:
            self.load(
                system,
                template,
                connections=pt.connections,
                duration=opts.warmup,
                stream=stream,
                label=label + "-warmup",
                vary=not pt.scenario.repeat,
                url=url,
            )
        pid_spec = f"{pt.scenario.key}:{pt.payload}:{pt.connections}"
        prof = None
        if system.proc is not None and any(fnmatch(pid_spec, p) for p in opts.profile):
            if self.py_spy is None:
                self.py_spy = profile.find_py_spy()
            if self.py_spy is not None:
                raw = opts.out / "profiles" / f"{label}.raw"
                prof = (
                    profile.start(
                        self.py_spy,
                        system.proc.pid,
                        opts.duration,
                        raw,
                        self.ctx.pinning.prefix("load"),
                    ),
                    raw,
                )
        sys_cpu = self.ctx.pinning.system
        cpu0, up0, t0 = system.cpu_seconds(), self.upstream.cpu_seconds(), time.monotonic()
        busy0 = cpu_busy_seconds(sys_cpu)
        res = self.load(
            system,
            template,
            connections=pt.connections,
            duration=opts.duration,
            stream=stream,
            label=label,
            vary=not pt.scenario.repeat,
            url=url,
        )
        wall = time.monotonic() - t0
        cpu1, up1 = system.cpu_seconds(), self.upstream.cpu_seconds()
        busy1 = cpu_busy_seconds(sys_cpu)
        # Time the system's CPU spent on anything but the system under test: other programs
        # on a shared machine. (Without pinning it is the whole machine, and includes us.)
        foreign = max(0.0, (busy1 - busy0) - (cpu1 - cpu0)) / wall if wall > 0 else None
        rss = system.rss_bytes()
        profile_note = None
        if prof is not None:
            summary = prof[1].with_suffix(".txt")
            profile_note = profile.finish(prof[0], prof[1], summary) or str(summary)
        payload = PAYLOADS[pt.payload]
        point: dict[str, object] = {
            "scenario": pt.scenario.key,
            "number": pt.scenario.number,
            "title": pt.scenario.title,
            "system": system.key,
            "payload": pt.payload,
            "payload_title": payload.title,
            "prompt_chars": prompt_chars(payload),
            "connections": pt.connections,
            "stream": stream,
            "api": api,
            "generator": res.generator,
            "requests": res.requests,
            "ok": res.ok,
            "errors": res.errors,
            "error_detail": res.error_detail,
            "duration_s": round(res.duration_s, 3),
            "rps": round(res.rps, 1),
            "latency_ms": rounded(res.latency_ms),
            "ttft_ms": rounded(res.ttft_ms) if res.ttft_ms else None,
            "cpu_s_per_1k": round((cpu1 - cpu0) / res.requests * 1000, 4) if res.requests else None,
            "rss_mb": round(rss / MB, 1),
            "upstream_busy": round((up1 - up0) / wall, 3) if wall > 0 else None,
            "foreign_busy": None if foreign is None or sys_cpu is None else round(foreign, 3),
            "profile": profile_note,
        }
        self.counter += 1
        lat = res.latency_ms
        extra = f" ttft p50 {res.ttft_ms['p50']:.3f} ms" if res.ttft_ms else ""
        log(
            f"[{self.counter}/{total}] {pt.label}: {res.rps:,.0f} req/s, p50 {lat['p50']:.3f} ms, "
            f"p99 {lat['p99']:.3f} ms{extra}, errors {res.errors}"
        )
        return point

    # -- systems ----------------------------------------------------------------------
    def make_system(self, key: str) -> tuple[System | None, str | None]:
        kind, _, arg = key.partition(":")
        if kind == "direct":
            return Direct(self.upstream), None
        if kind == "gateway":
            variant = GATEWAY_VARIANTS[arg]
            reason = variant.prepare(self.ctx) if variant.prepare else None
            return (None, reason) if reason else (Gateway(variant), None)
        if kind == "litellm":
            return LiteLLM(int(arg), self.opts.out), None
        raise ValueError(f"unknown system {key!r}")

    def run_points(self) -> None:
        opts = self.opts
        points = plan(
            quick=opts.quick,
            with_litellm=opts.with_litellm,
            only=opts.only,
            connections=opts.connections,
        )
        for key, group in groupby(points, key=lambda p: p.scenario.system):
            pts = list(group)
            system, reason = self.make_system(key)
            if system is not None:
                try:
                    log(f"starting {key}...")
                    system.start(self.ctx)
                except Exception as exc:
                    system.stop()
                    reason = f"{type(exc).__name__}: {exc}"
                    system = None
            if system is None:
                log(f"skipping {key}: {reason}")
                self.skipped += [{"point": p.label, "reason": str(reason)} for p in pts]
                continue
            self.systems[key] = {
                "title": system.title,
                "rss_after_start_mb": round(system.rss_after_start / MB, 1),
                "pss_after_start_mb": round(system.pss_after_start / MB, 1),
                "settle_s": settle(system),
                **system.info,
            }
            try:
                for pt in pts:
                    self.points.append(self.measure(system, pt, len(points)))
                # The processes the system started (the PII pool's workers): RSS of each.
                self.systems[key]["children_rss_mb"] = system.children_rss_mb()
            finally:
                system.stop()

    def pool_scaling(self) -> dict[str, object] | None:
        """The NER pool alone with 1 and then 2 workers, on both CPUs (the gateway points pin
        the system under test to one, where a second worker has no core to run on).

        ``python -m openclaw.policies.pii.bench --pool``: unique texts that each name a person,
        200 characters and 4 KB, 32 scans in flight. Only in full runs of the headline.
        """
        if not self._headline_extras():
            return None
        cpus = sorted(os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))
        log(f"NER pool scaling, 1 and 2 workers, on CPUs {cpus}...")
        result = _json_from(
            ["-m", "openclaw.policies.pii.bench", "--pool", "--runs", "60"],
            timeout=900,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
        if "error" not in result:
            result["cpus"] = cpus
        return result

    def pii_precision(self) -> dict[str, object] | None:
        """Precision and recall of the default install's PII rule (``benchmarks.precision``)."""
        if not self._headline_extras():
            return None
        log("PII precision and recall on the corpora...")
        return _json_from(["-m", "benchmarks.precision"], timeout=600)

    def _headline_extras(self) -> bool:
        """Whether this run measures what goes beside the headline points (full runs only)."""
        return not self.opts.quick and (self.opts.only is None or "seed-default" in self.opts.only)

    def self_check(self) -> dict[str, object]:
        """The upstream's own throughput at 32 connections, before anything else."""
        direct = Direct(self.upstream)
        direct.start(self.ctx)
        seconds = 1.0 if self.opts.quick else 3.0
        template = template_for("clean-200", False)
        cpu0, t0 = self.upstream.cpu_seconds(), time.monotonic()
        res = self.load(
            direct, template, connections=32, duration=seconds, stream=False, label="selfcheck"
        )
        busy = (self.upstream.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        log(f"upstream self-check: {res.rps:,.0f} req/s at 32 connections ({res.generator})")
        return {
            "rps": round(res.rps, 1),
            "p50_ms": round(res.latency_ms["p50"], 3),
            "errors": res.errors,
            "generator": res.generator,
            "upstream_busy": round(busy, 3),
        }

    # -- the whole run ----------------------------------------------------------------
    def run(self) -> dict[str, object]:
        opts = self.opts
        started = time.monotonic()
        opts.out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.ctx.pinning.pin_self()
        load_before = _loadavg()
        self.choose_generator()
        if opts.install and not opts.quick:
            _ensure_matplotlib()
        log(f"pinning: {self.ctx.pinning.note}; generator: {'wrk' if self.wrk else 'asyncio'}")
        self.upstream.start(self.ctx)
        soak: dict[str, object] | None = None
        try:
            check = self.self_check()
            self.run_points()
            pool = self.pool_scaling()
            precision = self.pii_precision()
            if opts.only is None or "soak" in opts.only:
                try:
                    soak = run_soak(self)
                except Exception as exc:
                    log(f"soak failed: {type(exc).__name__}: {exc}")
                    soak = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            self.upstream.stop()
            for cleanup in self.ctx.cleanups:
                cleanup()
        if not opts.keep_work:
            shutil.rmtree(self.work / "homes", ignore_errors=True)
        foreign = [p["foreign_busy"] for p in self.points if p.get("foreign_busy") is not None]
        if load_before > 0.5 or (foreign and max(foreign) > 0.1):
            self.ctx.notes.append(
                f"the machine was not quiet: 1-minute load average {load_before:.1f} before the "
                "run started; other programs took up to "
                f"{max(foreign, default=0) * 100:.0f}% of the system-under-test CPU during a point "
                f"(mean {sum(foreign) / max(len(foreign), 1) * 100:.0f}%). Figures are noisier "
                "and lower than on a quiet machine"
            )
        return {
            "loadavg_before": load_before,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "elapsed_s": round(time.monotonic() - started, 1),
            "mode": "quick" if opts.quick else "full",
            "options": {
                "duration_s": opts.duration,
                "warmup_s": opts.warmup,
                "soak_requests": opts.soak_requests,
                "with_litellm": opts.with_litellm,
            },
            "machine": machine_info(),
            "versions": self.versions(),
            "pinning": self.ctx.pinning.to_dict(),
            "generator": "wrk" if self.wrk else "asyncio",
            "upstream_self_check": check,
            "systems": self.systems,
            "points": self.points,
            "skipped": self.skipped,
            "soak": soak,
            "pool_scaling": pool,
            "pii_precision": precision,
            "notes": self.ctx.notes,
        }

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        out = {"python": platform.python_version(), "openclaw": version("openclaw")}
        for dist in ("aiohttp", "presidio-analyzer", "spacy", "orjson"):
            with contextlib.suppress(Exception):
                out[dist] = version(dist)
        out["uvloop"] = "yes" if _importable("uvloop") else "no (asyncio default loop)"
        if self.wrk:
            out["wrk"] = wrk.version(self.wrk)
        git = _git_describe()
        if git:
            out["git"] = git
        for sys_info in self.systems.values():
            if "version" in sys_info:
                out["litellm"] = str(sys_info["version"])
        return out


def _json_from(args: list[str], *, timeout: float, **kwargs: Any) -> dict[str, object]:
    """Run ``python <args>`` (in its own process, so what it loads stays out of the harness)
    and parse the one JSON object it prints; a failure becomes ``{"error": ...}``."""
    try:
        out = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            **kwargs,
        )
        result: dict[str, object] = json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError) as exc:
        log(f"{' '.join(args)} failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    return result


def run(opts: Options) -> dict[str, object]:
    return Runner(opts).run()


# ----------------------------------------------------------------------------- helpers


def _ensure_matplotlib() -> None:
    """The chart needs matplotlib (the ``bench`` extra); install it once if it is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is not None:
        return
    log("installing matplotlib for the chart (once)...")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "matplotlib>=3.8"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        log(f"could not install matplotlib: {r.stderr.strip()[-300:]}")
    importlib.invalidate_caches()


def _loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _git_describe() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def install_wrk() -> str | None:
    """``apt-get install wrk`` where that is possible (root, Debian); None if it is not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    log("wrk not found: installing it with apt-get...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    for attempt in range(2):
        if attempt == 1:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        r = subprocess.run(cmd, env=env, capture_output=True)
        if r.returncode == 0 and wrk.find():
            return wrk.find()
    return None


def machine_info() -> dict[str, object]:
    info: dict[str, object] = {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "arch": platform.machine(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip('"')
    return info
