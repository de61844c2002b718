"""``openclaw doctor``: findings with a severity and a fix; ``--fix`` applies the safe ones."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fakes import OllamaUpstream
from openclaw.cli import main
from openclaw.daemon_units.record import ServiceRecord, write_record
from openclaw.onboarding.seed import write_default_config
from openclaw.server.auth import ensure_token

SECRET = "sk-ant-DOCTOR-MUST-NOT-PRINT-THIS-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A free port and no Ollama, whatever runs on the developer's machine."""
    monkeypatch.setenv("OPENCLAW_PORT", str(_free_port()))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")


@pytest.fixture
def healthy_home(openclaw_home: Path) -> Path:
    write_default_config(openclaw_home)
    ensure_token(openclaw_home)
    return openclaw_home


def doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args])


def findings(result: Result) -> dict[str, list[dict[str, Any]]]:
    body = json.loads(result.output)
    out: dict[str, list[dict[str, Any]]] = {}
    for f in body["findings"]:
        out.setdefault(f["check"], []).append(f)
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_default_install_has_no_errors(healthy_home: Path) -> None:
    result = doctor("--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["errors"] == 0
    assert all(f["severity"] in ("ok", "info", "warning", "error") for f in body["findings"])
    assert {f["check"] for f in body["findings"]} >= {
        "config", "token", "audit-mode", "port", "keys", "spacy", "disk", "service",
    }  # fmt: skip


def test_a_world_readable_audit_log_is_an_error_that_fix_repairs(healthy_home: Path) -> None:
    audit = healthy_home / "audit.log"
    audit.write_text('{"ts": "2026-01-01T00:00:00Z"}\n')
    os.chmod(audit, 0o644)
    (healthy_home / "audit.log.1").write_text("")
    os.chmod(healthy_home / "audit.log.1", 0o640)

    found = doctor("--json")
    assert found.exit_code == 1
    bad = findings(found)["audit-mode"]
    assert {f["severity"] for f in bad} == {"error"} and len(bad) == 2
    assert all(f["fixable"] and f["fix"] == "--fix sets mode 0600" for f in bad)

    fixed = doctor("--fix")
    assert fixed.exit_code == 0, fixed.output
    assert mode(audit) == 0o600 and mode(healthy_home / "audit.log.1") == 0o600
    assert f"fixed: chmod 600 {audit}" in fixed.output


def test_a_missing_token_is_an_error_that_fix_creates_with_mode_0600(
    healthy_home: Path,
) -> None:
    (healthy_home / "gateway.token").unlink()
    found = doctor()
    assert found.exit_code == 1
    assert "no gateway token" in found.output
    assert "'openclaw doctor --fix' applies 1 safe fix(es)" in found.output

    fixed = doctor("--fix")
    assert fixed.exit_code == 0, fixed.output
    token = healthy_home / "gateway.token"
    assert token.read_text().strip().startswith("ocw_")
    assert mode(token) == 0o600


def test_a_readable_token_is_fixed_to_0600(healthy_home: Path) -> None:
    os.chmod(healthy_home / "gateway.token", 0o644)
    assert findings(doctor("--json"))["token-mode"][0]["severity"] == "error"
    assert doctor("--fix").exit_code == 0
    assert mode(healthy_home / "gateway.token") == 0o600


def test_missing_config_is_written_from_defaults_by_fix_and_never_overwritten(
    openclaw_home: Path,
) -> None:
    ensure_token(openclaw_home)
    assert doctor().exit_code == 1
    fixed = doctor("--fix")
    assert fixed.exit_code == 0, fixed.output
    assert (openclaw_home / "models.yaml").exists()


def test_an_unset_key_variable_is_named_and_no_secret_is_printed(
    healthy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (healthy_home / "models.yaml").write_text(
        "providers:\n"
        "  openai:\n"
        "    type: openai\n"
        '    api_key: "${OPENAI_API_KEY}"\n'
        "  claude:\n"
        "    type: anthropic\n"
        '    api_key: "${ANTHROPIC_API_KEY}"\n'
        "models:\n"
        "  general:\n"
        "    provider: openai\n"
        "    model: gpt-4o-mini\n"
        "  drafts:\n"
        "    provider: claude\n"
        "    model: claude-sonnet-4-20250514\n"
        "  sensitive:\n"
        "    provider: mock\n"
        "    model: mock-local\n"
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    text = doctor()
    as_json = doctor("--json")
    assert text.exit_code == 1
    assert "reads its key from ${OPENAI_API_KEY}, which is not set" in text.output
    assert "export OPENAI_API_KEY=..." in text.output
    keys = findings(as_json)["keys"]
    assert [f["severity"] for f in keys] == ["error"]  # the set ANTHROPIC key is fine
    assert SECRET not in text.output + as_json.output


def test_a_port_held_by_another_program_is_an_error(healthy_home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = doctor("--json", "--port", str(port))
    port_findings = findings(result)["port"]
    assert port_findings[0]["severity"] == "error"
    assert "in use by another program" in port_findings[0]["message"]


@pytest.fixture
def ollama(
    upstream_thread: Callable[[OllamaUpstream], Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[OllamaUpstream]:
    served = upstream_thread(OllamaUpstream(models=["qwen2.5:7b"]))
    monkeypatch.setenv("OLLAMA_HOST", served.url)
    yield served.fake


def test_a_sensitive_model_that_ollama_has_not_pulled_is_named_with_the_pull_command(
    healthy_home: Path, ollama: OllamaUpstream
) -> None:
    (healthy_home / "models.yaml").write_text(
        "models:\n"
        "  general:\n    provider: mock\n    model: mock-general\n"
        "  sensitive:\n    provider: ollama\n    model: llama3.1:8b\n"
    )
    result = findings(doctor("--json"))["ollama"]
    assert result[0]["severity"] == "error"
    assert result[0]["fix"] == "ollama pull llama3.1:8b"


def test_an_unreachable_ollama_is_an_error(healthy_home: Path) -> None:
    (healthy_home / "models.yaml").write_text(
        "models:\n  sensitive:\n    provider: ollama\n    model: llama3.1:8b\n"
    )
    result = findings(doctor("--json"))["ollama"]
    assert result[0]["severity"] == "error" and "not reachable" in result[0]["message"]


def test_no_spacy_pipeline_is_a_warning_with_how_to_install_one(
    healthy_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openclaw.cli.doctor.spacy_pipelines", lambda: [])
    spacy = findings(doctor("--json"))["spacy"][0]
    assert spacy["severity"] == "warning"
    assert "en_core_web_sm" in spacy["fix"]


def test_a_service_unit_for_another_binary_is_reported(
    healthy_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    unit = tmp_path / ".config/systemd/user/openclaw-gateway.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/old/venv/bin/openclaw gateway run\n")
    write_record(
        healthy_home, ServiceRecord("systemd", 18789, ["/old/venv/bin/openclaw"], str(unit))
    )
    service = findings(doctor("--json"))["service"][0]
    assert service["severity"] == "warning"
    assert "/old/venv/bin/openclaw" in service["message"]
    assert service["fix"].startswith("openclaw gateway install")

    unit.unlink()
    gone = findings(doctor("--json"))["service"][0]
    assert gone["severity"] == "error" and "the file is gone" in gone["message"]


def test_a_model_without_a_known_price_warns_that_dollar_budgets_cannot_see_it(
    healthy_home: Path,
) -> None:
    (healthy_home / "models.yaml").write_text(
        "providers:\n"
        "  corp: {type: openai_compatible, base_url: 'https://llm.corp.example/v1'}\n"
        "models:\n"
        "  general: {provider: corp, model: corp-llm}\n"
        "  cheap: {provider: openai, model: gpt-4o-mini}\n"
    )
    (healthy_home / "policies.yaml").write_text(
        "services:\n  - name: billing\n    budget: {usd_per_day: 5}\n"
    )
    [f] = findings(doctor("--json"))["prices"]
    assert f["severity"] == "warning"
    assert "general (corp/corp-llm)" in f["message"] and "cheap" not in f["message"]
    assert "usd_per_day budgets of billing cannot be enforced" in f["message"]
    assert "cost_per_million_input_tokens" in f["fix"]


def test_the_default_config_has_every_price(healthy_home: Path) -> None:
    [f] = findings(doctor("--json"))["prices"]
    assert f["severity"] == "ok"
