"""``openclaw onboard``: flags and prompts to validated config, keys only as ``${VAR}``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fakes import OllamaUpstream
from openclaw.cli import main
from openclaw.config import CONFIG_FILES, load_config
from openclaw.daemon_units.manager import RunResult, SubprocessRunner, gateway_healthy, set_runner
from openclaw.onboarding.seed import write_default_config

SECRET = "sk-live-THIS-MUST-NEVER-BE-WRITTEN-0123456789"


@pytest.fixture(autouse=True)
def no_local_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point detection at a closed port, so an Ollama on the developer's machine is not seen."""
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")


def onboard(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["onboard", *args], input=input)


def all_text(home: Path) -> str:
    return "".join(p.read_text() for p in home.iterdir() if p.is_file())


@pytest.fixture
def ollama(
    upstream_thread: Callable[[OllamaUpstream], Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[OllamaUpstream]:
    served = upstream_thread(OllamaUpstream(models=["llama3.1:8b", "qwen2.5:7b"]))
    monkeypatch.setenv("OLLAMA_HOST", served.url)
    yield served.fake


@pytest.mark.parametrize(
    ("provider", "env", "extra", "key_var"),
    [
        ("openai", {"OPENAI_API_KEY": SECRET}, [], "OPENAI_API_KEY"),
        ("anthropic", {"ANTHROPIC_API_KEY": SECRET}, [], "ANTHROPIC_API_KEY"),
        (
            "openai_compatible",
            {"MY_LLM_KEY": SECRET},
            ["--base-url", "http://127.0.0.1:8000/v1", "--model", "local-model", "--api-key-env", "MY_LLM_KEY"],
            "MY_LLM_KEY",
        ),
        ("mock", {"OPENAI_API_KEY": SECRET}, [], None),
    ],
)  # fmt: skip
def test_non_interactive_writes_files_that_validate_with_the_key_only_as_a_reference(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    env: dict[str, str],
    extra: list[str],
    key_var: str | None,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = onboard("--non-interactive", "--provider", provider, *extra)
    assert result.exit_code == 0, result.output
    cfg = load_config(openclaw_home)
    general = cfg.models.models["general"].deployments[0]
    assert general.provider == provider
    if key_var:
        assert cfg.models.providers[provider].api_key == "${" + key_var + "}"
    else:
        assert cfg.models.providers == {}
    assert [p.name for p in cfg.policies.policies] == [
        "no_autonomous_actions",
        "sensitive_data_local",
        "audit_everything",
    ]
    assert all(p.enforce for p in cfg.policies.policies)
    assert SECRET not in all_text(openclaw_home)
    assert SECRET not in result.output
    token = openclaw_home / "gateway.token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert "validated: 2 model aliases, 3 policies, 1 channels" in result.output
    assert "openclaw gateway status" in result.output  # what to run next


def test_non_interactive_ollama_uses_a_pulled_model_for_both_aliases(
    openclaw_home: Path, ollama: OllamaUpstream
) -> None:
    result = onboard("--non-interactive", "--provider", "ollama")
    assert result.exit_code == 0, result.output
    models = load_config(openclaw_home).models.models
    assert (models["general"].deployments[0].provider, models["general"].deployments[0].model) == (
        "ollama",
        "llama3.1:8b",
    )
    assert models["sensitive"].deployments[0].model == "llama3.1:8b"
    assert "models pulled: llama3.1:8b, qwen2.5:7b" in result.output


def test_detection_picks_the_key_in_the_environment_and_a_pulled_model_for_sensitive(
    openclaw_home: Path, ollama: OllamaUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    result = onboard("--non-interactive")
    assert result.exit_code == 0, result.output
    models = load_config(openclaw_home).models.models
    assert models["general"].deployments[0].provider == "anthropic"
    sensitive = models["sensitive"].deployments[0]
    assert (sensitive.provider, sensitive.model) == ("ollama", "llama3.1:8b")
    assert "ANTHROPIC_API_KEY: set" in result.output
    assert SECRET not in result.output


def test_an_ollama_without_models_is_told_how_to_pull_one(
    openclaw_home: Path, ollama: OllamaUpstream
) -> None:
    ollama.models = []
    result = onboard("--non-interactive")
    assert result.exit_code == 0, result.output
    assert "no models pulled yet (pull one with: ollama pull llama3.1:8b)" in result.output
    assert load_config(openclaw_home).models.models["sensitive"].deployments[0].provider == "mock"


def test_a_missing_spacy_pipeline_is_reported_with_how_to_install_one(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openclaw.onboarding.machine.spacy_pipelines", lambda: [])
    result = onboard("--non-interactive")
    assert "spaCy English pipeline: none, so PII detection is pattern-only" in result.output
    assert "en_core_web_sm" in result.output


def test_openai_compatible_needs_a_base_url(openclaw_home: Path) -> None:
    result = onboard("--non-interactive", "--provider", "openai_compatible", "--model", "m")
    assert result.exit_code == 2
    assert "needs --base-url" in result.output
    assert not (openclaw_home / "models.yaml").exists()


def test_an_unknown_provider_type_is_refused_with_the_nearest_installed_one(
    openclaw_home: Path,
) -> None:
    result = onboard("--non-interactive", "--provider", "antropic")
    assert result.exit_code == 2
    assert "unknown provider type 'antropic'; did you mean 'anthropic'?" in result.output
    assert not (openclaw_home / "models.yaml").exists()


@pytest.mark.parametrize("key", [None, "OPENAI_API_KEY", "ANTHROPIC_API_KEY"])
def test_a_first_start_writes_exactly_what_onboarding_without_answers_writes(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    if key:
        monkeypatch.setenv(key, SECRET)
    first_start = tmp_path / "first-start"
    written = write_default_config(first_start)
    assert written[0].startswith("models.yaml (general -> ")
    assert onboard("--non-interactive").exit_code == 0
    for name in CONFIG_FILES:
        assert (first_start / name).read_text() == (openclaw_home / name).read_text(), name


def test_a_key_passed_where_a_variable_name_belongs_is_refused_and_not_written(
    openclaw_home: Path,
) -> None:
    result = onboard("--non-interactive", "--provider", "openai", "--api-key-env", SECRET)
    assert result.exit_code == 2
    assert "the key itself is never written to a file" in result.output
    assert not (openclaw_home / "models.yaml").exists()


def test_rerunning_changes_nothing(openclaw_home: Path) -> None:
    assert onboard("--non-interactive").exit_code == 0
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in openclaw_home.iterdir()}
    again = onboard("--non-interactive")
    assert again.exit_code == 0, again.output
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in openclaw_home.iterdir()}
    assert after == before
    assert again.output.count(": unchanged") == 3
    assert "gateway token: kept" in again.output


def test_an_existing_file_is_kept_without_force_and_backed_up_with_it(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert onboard("--non-interactive").exit_code == 0
    mine = (openclaw_home / "models.yaml").read_text() + "# my own note\n"
    (openclaw_home / "models.yaml").write_text(mine)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    kept = onboard("--non-interactive", "--provider", "openai")
    assert kept.exit_code == 0, kept.output
    assert "models.yaml: kept your file" in kept.output
    assert (openclaw_home / "models.yaml").read_text() == mine

    forced = onboard("--non-interactive", "--provider", "openai", "--force")
    assert forced.exit_code == 0, forced.output
    assert "models.yaml: replaced (the previous one is in models.yaml.bak)" in forced.output
    assert (openclaw_home / "models.yaml.bak").read_text() == mine
    assert "provider: openai" in (openclaw_home / "models.yaml").read_text()
    assert not (openclaw_home / "policies.yaml.bak").exists()  # unchanged: no backup


def test_a_kept_file_that_does_not_load_stops_before_anything_is_written(
    openclaw_home: Path,
) -> None:
    (openclaw_home / "models.yaml").write_text("models:\n  general:\n    provder: mock\n")
    result = onboard("--non-interactive")
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert "models.yaml" in result.output
    assert not (openclaw_home / "policies.yaml").exists()
    assert not (openclaw_home / "gateway.token").exists()


def test_interactive_prompts_choose_provider_key_variable_and_policy_modes(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    answers = [
        "gemini",  # not a choice: asked again
        "anthropic",
        "",  # model: the default
        "",  # key variable: ANTHROPIC_API_KEY
        "y",  # no_autonomous_actions enforced
        "n",  # sensitive_data_local in shadow mode
        "y",  # audit_everything enforced
        "n",  # do not install the daemon now
    ]
    result = onboard("--interactive", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Please select one of the available options" in result.output
    cfg = load_config(openclaw_home)
    general = cfg.models.models["general"].deployments[0]
    assert (general.provider, general.model) == ("anthropic", "claude-sonnet-4-20250514")
    assert cfg.models.providers["anthropic"].api_key == "${ANTHROPIC_API_KEY}"
    assert {p.name: p.enforce for p in cfg.policies.policies} == {
        "no_autonomous_actions": True,
        "sensitive_data_local": False,
        "audit_everything": True,
    }
    assert SECRET not in all_text(openclaw_home) + result.output


def test_interactive_offers_the_pulled_ollama_models_for_sensitive(
    openclaw_home: Path, ollama: OllamaUpstream
) -> None:
    answers = ["mock", "", "qwen2.5:7b", "y", "y", "y", "n"]
    result = onboard("--interactive", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "[llama3.1:8b/qwen2.5:7b/none]" in result.output
    sensitive = load_config(openclaw_home).models.models["sensitive"].deployments[0]
    assert (sensitive.provider, sensitive.model) == ("ollama", "qwen2.5:7b")


class NoSystemd:
    """The real runner, except that no service manager answers (as on this project's CI)."""

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> RunResult:
        if argv[0] in ("systemctl", "launchctl", "schtasks"):
            return RunResult(1, "", "Failed to connect to bus: No medium found")
        return SubprocessRunner().run(argv, env=env, timeout=timeout)


def test_install_daemon_without_a_service_manager_ends_with_a_running_gateway(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr("sys.platform", "linux")
    previous = set_runner(NoSystemd())
    try:
        result = onboard("--non-interactive", "--install-daemon", "--port", str(port))
        assert result.exit_code == 0, result.output
        assert result.output.count("No service manager found") == 1
        assert gateway_healthy(port)
        assert f"OpenClaw gateway is running on http://127.0.0.1:{port}" in result.output
    finally:
        set_runner(previous)
        subprocess.run(
            [sys.executable, "-m", "openclaw", "gateway", "stop"],
            env=dict(os.environ, OPENCLAW_HOME=str(openclaw_home)),
            capture_output=True,
            timeout=60,
        )
