"""A real ``redis-server`` on loopback for the shared-state tests.

CI installs the binary (``.ci/run``: ``apt-get install redis-server``). Without it the tests
that need it fail with a message saying so, rather than being skipped: a silently skipped
Redis suite would let the multi-instance guarantees rot unnoticed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed; the shared-state tests need it "
                "(apt-get install redis-server; .ci/run installs it)"
            )
        self.binary = binary
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode} on port {self.port}")
            time.sleep(0.02)
        pytest.fail(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def state_yaml(url: str, *, prefix: str | None = None, **extra: object) -> str:
    """A ``state:`` section for policies.yaml with a key prefix of its own per test."""
    lines = [
        "state:",
        "  backend: redis",
        f"  url: {url}",
        f"  prefix: 't{uuid.uuid4().hex[:12]}:'" if prefix is None else f"  prefix: '{prefix}'",
        "  recheck_ms: 50",
    ]
    # Generous unless a test is about timeouts: on a loaded 2-core CI machine a burst of
    # connections can take longer than the 250 ms default, and the fail_open fallback would
    # then turn a shared-limit test into two local limits.
    extra.setdefault("timeout_ms", 2000)
    for k, v in extra.items():
        lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"
