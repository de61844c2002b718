"""``openclaw gateway start / status / stop`` from a shell, as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def oc(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openclaw", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def env(openclaw_home: Path) -> dict[str, str]:
    e = dict(os.environ)
    e["OPENCLAW_HOME"] = str(openclaw_home)
    e["OPENCLAW_PORT"] = str(free_port())
    e["OLLAMA_HOST"] = "http://127.0.0.1:9"  # no Ollama here: onboarding falls back to mock
    return e


def test_start_status_stop(env: dict[str, str], openclaw_home: Path) -> None:
    r = oc("gateway", "status", env=env)
    assert r.returncode == 1 and "not running" in r.stdout

    r = oc("gateway", "start", env=env)
    try:
        assert r.returncode == 0, r.stderr
        assert "started" in r.stdout
        assert (openclaw_home / "models.yaml").exists()  # a working default config was written

        again = oc("gateway", "start", env=env)
        assert again.returncode == 0 and "already running" in again.stdout

        status = oc("gateway", "status", "--json", env=env)
        assert status.returncode == 0, status.stdout
        data = json.loads(status.stdout)
        assert data["running"] is True and data["pid"] > 0
        assert data["mock_only"] is True  # said plainly: no key, no Ollama
        assert set(data["models"]) == {"general", "sensitive"}
        assert data["address"].endswith(env["OPENCLAW_PORT"])

        human = oc("gateway", "status", env=env)
        assert human.returncode == 0
        assert "mock provider" in human.stdout
        # The config files are listed (rich once took "[models.yaml, ...]" for markup), and
        # where limits and the cache keep their state.
        assert "[models.yaml, policies.yaml, channels.yaml]" in " ".join(human.stdout.split())
        assert "state: memory" in human.stdout
        token = (openclaw_home / "gateway.token").read_text().strip()
        assert token not in human.stdout and token not in status.stdout
    finally:
        stop = oc("gateway", "stop", env=env)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    r = oc("gateway", "status", env=env)
    assert r.returncode == 1


def test_version_and_help(env: dict[str, str]) -> None:
    r = oc("--version", env=env)
    assert r.returncode == 0 and "openclaw" in r.stdout
    for cmd in (
        ["gateway", "--help"],
        ["gateway", "run", "--help"],
        ["models", "list", "--help"],
        ["config", "validate", "--help"],
    ):
        h = oc(*cmd, env=env)
        assert h.returncode == 0 and "Usage:" in h.stdout


def test_config_validate_reports_typo_with_line(env: dict[str, str], openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(
        "models:\n  general:\n    provder: mock\n    model: m\n"
    )
    r = oc("config", "validate", env=env)
    assert r.returncode == 1
    assert (
        "models.yaml:3: models.general.provder: unknown key; did you mean 'provider'?" in r.stderr
    )


def test_models_list_json(env: dict[str, str], openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(
        "models:\n  a: {provider: mock, model: m1, use_for: [x]}\n"
    )
    r = oc("models", "list", "--json", env=env)
    assert r.returncode == 0
    assert json.loads(r.stdout) == [
        {
            "alias": "a",
            "default": True,
            "strategy": "failover",
            "deployments": ["mock/m1"],
            "use_for": ["x"],
            "fallbacks": [],
        }
    ]
