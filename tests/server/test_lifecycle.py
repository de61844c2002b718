"""The daemon as a process: reload on SIGHUP and on file change, drain on SIGTERM, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakes import OpenAIUpstream, start_in_thread
from openclaw.config import log_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    def __init__(self, home: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.home, self.port, self.proc = home, port, proc
        self.token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    self.token = (self.home / "gateway.token").read_text().strip()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"daemon not healthy: {self.log()}")

    def log(self) -> str:
        p = self.home / "logs" / "gateway.log"
        return p.read_text() if p.exists() else ""

    def audit(self) -> list[dict[str, Any]]:
        p = self.home / "audit.log"
        if not p.exists():
            return []
        out = []
        for line in p.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out


def models_yaml(url: str, model: str = "model-a") -> str:
    return f'providers:\n  up: {{type: openai_compatible, base_url: "{url}"}}\nmodels:\n  general: {{provider: up, model: {model}}}\n'


@pytest.fixture
def upstream() -> Iterator[tuple[str, OpenAIUpstream]]:
    with start_in_thread(OpenAIUpstream()) as (url, fake, _stop):
        yield url, fake


@pytest.fixture
def daemon(openclaw_home: Path, upstream: tuple[str, OpenAIUpstream]) -> Iterator[Daemon]:
    (openclaw_home / "models.yaml").write_text(models_yaml(upstream[0]))
    (openclaw_home / "policies.yaml").write_text(
        "policies:\n  - name: audit_everything\n    rule: log_all_requests_and_responses\n    params: {content: hashes}\n"
    )
    port = free_port()
    env = dict(os.environ, OPENCLAW_HOME=str(openclaw_home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    d = Daemon(openclaw_home, port, proc)
    try:
        d.wait_healthy()
        yield d
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def chat(
    s: aiohttp.ClientSession, d: Daemon, text: str = "hi"
) -> tuple[int, str | None, dict[str, Any]]:
    async with s.post(
        d.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {d.token}"},
        json={"messages": [{"role": "user", "content": text}]},
    ) as r:
        body = await r.json()
        return r.status, r.headers.get("X-OpenClaw-Request-Id"), body


async def wait_for(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_sighup_with_a_broken_config_keeps_the_old_one_serving(daemon: Daemon) -> None:
    (daemon.home / "models.yaml").write_text("models:\n  general:\n    provder: up\n")
    daemon.proc.send_signal(signal.SIGHUP)
    async with aiohttp.ClientSession() as s:
        await wait_for(lambda: "rejected" in daemon.log())
        status, _, body = await chat(s, daemon)
        assert status == 200 and body["openclaw"]["provider_model"] == "model-a"
        async with s.get(
            daemon.url + "/v1/openclaw/status", headers={"Authorization": f"Bearer {daemon.token}"}
        ) as r:
            st = await r.json()
        assert st["last_reload"]["ok"] is False
        assert "did you mean 'provider'" in st["last_reload"]["error"]


async def test_editing_a_model_switches_without_dropping_a_request(
    daemon: Daemon, upstream: tuple[str, OpenAIUpstream]
) -> None:
    results: list[tuple[int, str]] = []
    stop = asyncio.Event()

    async def load(s: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            status, _, body = await chat(s, daemon)
            results.append((status, body.get("openclaw", {}).get("provider_model", "?")))

    async with aiohttp.ClientSession() as s:
        workers = [asyncio.create_task(load(s)) for _ in range(4)]
        await wait_for(lambda: len(results) > 20)
        (daemon.home / "models.yaml").write_text(models_yaml(upstream[0], model="model-b"))
        await wait_for(lambda: any(m == "model-b" for _, m in results[-4:]), timeout=10)
        stop.set()
        await asyncio.gather(*workers)
    assert all(status == 200 for status, _ in results), {st for st, _ in results}
    models = [m for _, m in results]
    assert models[0] == "model-a" and models[-1] == "model-b"
    assert "config reloaded (file changed)" in daemon.log()


async def test_sigterm_drains_in_flight_requests_and_exits_0(
    daemon: Daemon, upstream: tuple[str, OpenAIUpstream]
) -> None:
    upstream[1].enqueue("hang:0.6")  # a slow answer still in flight at SIGTERM
    async with aiohttp.ClientSession() as s:
        task = asyncio.create_task(chat(s, daemon, "slow one"))
        await asyncio.sleep(0.2)
        daemon.proc.send_signal(signal.SIGTERM)
        status, rid, _ = await task
    assert status == 200
    assert await asyncio.to_thread(daemon.proc.wait, 10) == 0
    assert rid in {r["request_id"] for r in daemon.audit()}
    assert not (daemon.home / "gateway.pid").exists()


async def test_kill_9_under_load_loses_no_record_of_a_completed_response(daemon: Daemon) -> None:
    completed: list[str] = []

    async def worker(s: aiohttp.ClientSession) -> None:
        while True:
            try:
                status, rid, _ = await chat(s, daemon)
            except (TimeoutError, aiohttp.ClientError):
                return
            if status == 200 and rid:
                completed.append(rid)

    async with aiohttp.ClientSession() as s:
        workers = [asyncio.create_task(worker(s)) for _ in range(8)]
        await wait_for(lambda: len(completed) > 150, timeout=20)
        daemon.proc.kill()  # SIGKILL: no shutdown code runs
        await asyncio.gather(*workers)
    audited = {r["request_id"] for r in daemon.audit()}
    missing = [rid for rid in completed if rid not in audited]
    assert missing == [], (
        f"{len(missing)} of {len(completed)} completed responses have no audit record"
    )
    from openclaw.audit.verify import verify

    report = verify(daemon.home / "audit.log")
    assert report.ok, report.problems  # the hash chain is intact after the kill


@pytest.mark.parametrize("to_stderr", [True, False])
def test_the_daemon_log_reaches_stderr_in_a_container(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, to_stderr: bool
) -> None:
    # stderr is not a terminal under pytest, as in a container: OPENCLAW_LOG_STDERR decides.
    code = (
        "import logging, pathlib, sys\n"
        "from openclaw.daemon import setup_logging\n"
        "setup_logging(pathlib.Path(sys.argv[1]))\n"
        "logging.getLogger('openclaw.test').warning('to the container log')\n"
    )
    env = {**os.environ, "OPENCLAW_LOG_STDERR": "1" if to_stderr else "0"}
    r = subprocess.run(
        [sys.executable, "-c", code, str(openclaw_home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert ("to the container log" in r.stderr) is to_stderr
    assert "to the container log" in log_path(openclaw_home).read_text()
