"""Fuzz every documented route of a real daemon with schemathesis, for a bounded time.

The daemon runs as ``openclaw gateway run`` in a subprocess with the seed's policies and
the mock provider; schemathesis generates requests from ``GET /openapi.json``'s document
(valid and invalid bodies, odd strings, huge numbers). Pass means, for every request:
no 5xx that the document does not list, no hang (each call has a timeout), no traceback,
no absolute path of this machine in an error body, and every model request whose answer carried a
request id has that id in the audit log: no record lost.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from harness import MOCK_MODELS, SEED_POLICIES
from openclaw.server import openapi
from openclaw.server.ingress import MODEL_PATHS

SCHEMA = schemathesis.openapi.from_dict(openapi.document())
#: Examples per route: enough to reach the odd corners, few enough for CI (well under a minute).
EXAMPLES = int(os.environ.get("OPENCLAW_FUZZ_EXAMPLES", "25"))


class Daemon:
    def __init__(self, home: Path) -> None:
        self.home = home
        (home / "models.yaml").write_text(MOCK_MODELS)
        (home / "policies.yaml").write_text(
            SEED_POLICIES + "security:\n  auth_throttle: {enabled: false}\n"
        )
        self.port = free_port()
        env = {**os.environ, "OPENCLAW_HOME": str(home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openclaw", "gateway", "run", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            self.stop()
            pytest.fail("the daemon did not start")
        self.token = (home / "gateway.token").read_text().strip()
        self.request_ids: list[str] = []
        self.calls: dict[int, int] = {}  # status -> count, for docs/security.md's figures

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def audit_ids(self) -> set[str]:
        text = (self.home / "audit.log").read_text()
        return {json.loads(x).get("request_id") for x in text.splitlines() if x.strip()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("fuzz-home")
    d = Daemon(home)
    yield d
    d.stop()


def check_answer(case: Any, response: Any, daemon: Daemon) -> None:
    documented = set(case.operation.definition.raw.get("responses", {}))
    status = response.status_code
    daemon.calls[status] = daemon.calls.get(status, 0) + 1
    if status >= 500:
        assert str(status) in documented, f"undocumented {status} on {case.method} {case.path}"
    body = response.text
    assert "Traceback" not in body, (case.method, case.path)
    if status >= 400:  # status pages show the admin their own home; errors show nobody
        for place in (str(daemon.home), os.path.expanduser("~"), sys.prefix):
            assert place not in body, f"a local path in the error body of {case.path}"
    # schemathesis' headers: lower-cased names, each with a list of values
    rid = next(iter(response.headers.get("x-openclaw-request-id") or []), None)
    if case.method.upper() == "POST" and case.path in MODEL_PATHS and rid:
        daemon.request_ids.append(rid)


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_route_survives_fuzzing(case: Any, daemon: Daemon) -> None:
    response = case.call(
        base_url=daemon.url, headers={"Authorization": f"Bearer {daemon.token}"}, timeout=30
    )
    check_answer(case, response, daemon)


def test_no_audit_record_was_lost_and_no_crash_was_logged(daemon: Daemon) -> None:
    """Runs after the fuzzing (file order): every answered model request has its record,
    and the daemon logged no unhandled error (each would have been a 500)."""
    assert daemon.request_ids, "the fuzzing made no model request"
    print(f"fuzzed {sum(daemon.calls.values())} requests: {sorted(daemon.calls.items())}")
    missing = set(daemon.request_ids) - daemon.audit_ids()
    assert not missing, f"{len(missing)} answered requests have no audit record"
    log = (daemon.home / "logs" / "gateway.log").read_text()
    assert "unhandled error" not in log and "Traceback" not in log
