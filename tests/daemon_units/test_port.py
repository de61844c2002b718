"""Which port CLI commands talk to: flag, then environment, then the installed service."""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.config import DEFAULT_PORT
from openclaw.daemon_units.record import ServiceRecord, gateway_port, write_record


def test_without_flag_env_or_record_the_port_is_the_default(openclaw_home: Path) -> None:
    assert gateway_port() == DEFAULT_PORT


def test_the_port_an_installed_service_runs_on_is_used(openclaw_home: Path) -> None:
    write_record(openclaw_home, ServiceRecord(manager="none", port=18999))
    assert gateway_port() == 18999


def test_the_environment_wins_over_the_record_and_the_flag_over_both(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_record(openclaw_home, ServiceRecord(manager="systemd", port=18999))
    monkeypatch.setenv("OPENCLAW_PORT", "19001")
    assert gateway_port() == 19001
    assert gateway_port(19002) == 19002


def test_a_broken_record_falls_back_to_the_default(openclaw_home: Path) -> None:
    (openclaw_home / "service.json").write_text("{not json")
    assert gateway_port() == DEFAULT_PORT
