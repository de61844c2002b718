"""``skill test`` with every form of models.yaml: it serves each alias from the mock provider
and stays offline, whichever way the user wrote the alias."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from skillkit import POLICIES

from openclaw.cli import main
from openclaw.skills.testing import mock_config

SEED_MODELS = Path(__file__).parent / "data" / "seed" / "models.yaml"

DEPLOYMENTS = """\
models:
  general:
    deployments:
      - {provider: openai, model: gpt-4o-mini}
      - {provider: anthropic, model: claude-3-5-haiku-latest}
    strategy: failover
    use_for: [summarization]
  sensitive:
    provider: ollama
    model: llama3.2
    fallbacks: [general]
default: general
"""


def test_the_seed_models_yaml_verbatim_passes_skill_test(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_bytes(SEED_MODELS.read_bytes())
    (openclaw_home / "policies.yaml").write_text(POLICIES)
    result = CliRunner().invoke(main, ["skill", "test", "pr-review-prep"])
    assert result.exit_code == 0, result.output
    assert "pr-review-prep: all fixtures passed" in result.output
    assert "model step: general via mock" in result.output


@pytest.mark.parametrize("text", [SEED_MODELS.read_text(), DEPLOYMENTS], ids=["short", "long"])
def test_mock_config_keeps_aliases_tasks_and_fallbacks(openclaw_home: Path, text: str) -> None:
    (openclaw_home / "models.yaml").write_text(text)
    models = mock_config(openclaw_home).models
    assert set(models.models) == {"general", "sensitive"}
    for alias, spec in models.models.items():
        assert [(d.provider, d.model) for d in spec.deployments] == [("mock", f"mock-{alias}")]
    assert "summarization" in models.models["general"].use_for
    if text is DEPLOYMENTS:
        assert models.models["sensitive"].fallbacks == ["general"]
        assert models.default == "general"


def test_an_instruction_only_skill_without_fixtures_gets_a_smoke_case(
    openclaw_home: Path,
) -> None:
    folder = openclaw_home / "skills" / "greeter"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        '---\nname: greeter\ndescription: Greets.\nmetadata: {"openclaw": {"emoji": "👋"}}\n'
        "---\n\nGreet the user warmly.\n"
    )
    (openclaw_home / "policies.yaml").write_text(POLICIES)
    result = CliRunner().invoke(main, ["skill", "test", "greeter"])
    assert result.exit_code == 0, result.output
    assert "✓ smoke" in result.output and "model step: general via mock" in result.output
