"""Config files load as the seed writes them, and broken ones say file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.config import load_config
from openclaw.config.loader import interpolate, parse_model
from openclaw.config.schema import ChannelsFile, ModelsFile, PoliciesFile
from openclaw.errors import ConfigError

SEED_MODELS = """\
# models.yaml
models:
  general:
    provider: anthropic
    model: claude-sonnet-4-20250514
    use_for: [summarization, drafting, general_queries]
 
  sensitive:
    provider: ollama
    model: llama4:8b
    use_for: [customer_data, financial_records, internal_docs]
"""

SEED_CHANNELS = """\
# channels.yaml
channels:
  - type: cli
    name: developer_terminal
  - type: slack
    name: team_notifications
    workspace: your-workspace
"""

SEED_POLICIES = """\
# policies.yaml
policies:
  - name: no_autonomous_actions
    rule: all_outputs_are_drafts
    enforce: true
 
  - name: sensitive_data_local
    rule: if_context_contains_pii_use_sensitive_model
    enforce: true
 
  - name: audit_everything
    rule: log_all_requests_and_responses
    enforce: true
"""


def test_seed_files_load_verbatim(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(SEED_MODELS)
    (openclaw_home / "channels.yaml").write_text(SEED_CHANNELS)
    (openclaw_home / "policies.yaml").write_text(SEED_POLICIES)
    cfg = load_config(openclaw_home)
    general = cfg.models.models["general"]
    assert general.deployments[0].provider == "anthropic"
    assert general.deployments[0].model == "claude-sonnet-4-20250514"
    assert cfg.models.models["sensitive"].deployments[0].model == "llama4:8b"
    assert cfg.default_alias == "general"
    assert [p.rule for p in cfg.policies.policies] == [
        "all_outputs_are_drafts",
        "if_context_contains_pii_use_sensitive_model",
        "log_all_requests_and_responses",
    ]
    assert [c.name for c in cfg.channels.channels] == ["developer_terminal", "team_notifications"]


def test_missing_policies_and_channels_mean_none(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(SEED_MODELS)
    cfg = load_config(openclaw_home)
    assert cfg.policies.policies == [] and cfg.channels.channels == []


def test_missing_models_file_says_how_to_create_one(openclaw_home: Path) -> None:
    with pytest.raises(ConfigError, match="openclaw onboard"):
        load_config(openclaw_home)


def test_typo_names_file_line_and_nearest_key() -> None:
    text = "models:\n  general:\n    provider: anthropic\n    modle: claude\n"
    with pytest.raises(ConfigError) as info:
        parse_model(text, ModelsFile, "models.yaml")
    assert (
        "models.yaml:4: models.general.modle: unknown key; did you mean 'model'?"
        in info.value.message
    )


def test_typo_in_a_channel_suggests_the_channel_key() -> None:
    text = SEED_CHANNELS + "    notfy: true\n"
    with pytest.raises(ConfigError) as info:
        parse_model(text, ChannelsFile, "channels.yaml")
    assert (
        "channels.yaml:8:" in info.value.message and "did you mean 'notify'?" in info.value.message
    )


def test_typo_in_a_policy_key() -> None:
    text = "policies:\n  - name: a\n    rule: deny\n    enforced: true\n"
    with pytest.raises(ConfigError) as info:
        parse_model(text, PoliciesFile, "policies.yaml")
    assert (
        "policies.yaml:4:" in info.value.message and "did you mean 'enforce'?" in info.value.message
    )


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_model("models:\n  general: [unclosed\n  x: 1\n", ModelsFile, "models.yaml")
    assert info.value.message.startswith("models.yaml:")
    assert "YAML syntax error" in info.value.message


def test_unknown_provider_is_named() -> None:
    with pytest.raises(ConfigError, match="provider 'antropic'"):
        parse_model("models:\n  g: {provider: antropic, model: x}\n", ModelsFile, "models.yaml")


def test_wrong_type_names_the_key_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_model(
            "models:\n  g:\n    provider: mock\n    model: m\n    use_for: 7\n",
            ModelsFile,
            "models.yaml",
        )
    assert "models.yaml:5: models.g.use_for:" in info.value.message


def test_env_interpolation_with_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMSTUDIO_URL", "http://127.0.0.1:1234/v1")
    text = (
        "providers:\n"
        "  lm: {type: openai_compatible, base_url: '${LMSTUDIO_URL}'}\n"
        "  other: {type: openai_compatible, base_url: '${NOT_SET_ANYWHERE:-http://127.0.0.1:8000/v1}'}\n"
        "models:\n  g: {provider: lm, model: m}\n"
    )
    m = parse_model(text, ModelsFile, "models.yaml")
    assert m.providers["lm"].base_url == "http://127.0.0.1:1234/v1"
    assert m.providers["other"].base_url == "http://127.0.0.1:8000/v1"


def test_unset_variable_without_default_names_file_line_and_variable() -> None:
    text = (
        "providers:\n  lm: {type: openai_compatible, base_url: '${NOT_SET_ANYWHERE}'}\nmodels: {}\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_model(text, ModelsFile, "models.yaml")
    assert (
        "models.yaml:2:" in info.value.message
        and "NOT_SET_ANYWHERE is not set" in info.value.message
    )


def test_literal_secret_is_refused_and_not_echoed() -> None:
    text = "providers:\n  o: {type: openai, api_key: sk-live-abcdef123}\nmodels: {}\n"
    with pytest.raises(ConfigError) as info:
        parse_model(text, ModelsFile, "models.yaml")
    assert "environment reference" in info.value.message
    assert "sk-live-abcdef123" not in info.value.message


def test_secret_reference_is_kept_unresolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-value")
    m = parse_model(
        "providers:\n  o: {type: openai, api_key: '${MY_KEY}'}\nmodels: {}\n",
        ModelsFile,
        "models.yaml",
    )
    key = m.providers["o"].api_key
    assert key == "${MY_KEY}" and key is not None
    assert key.resolve() == "sk-secret-value"
    assert key.describe() == "${MY_KEY} (set)"
    assert "sk-secret-value" not in m.model_dump_json()


def test_interpolate_empty_value_uses_default() -> None:
    assert interpolate("${A:-x}", "f", {"A": ""}) == "x"
    assert interpolate("a-${B}-c", "f", {"B": "b"}) == "a-b-c"


def test_long_form_deployments_and_short_form_are_exclusive() -> None:
    text = "models:\n  g:\n    provider: mock\n    model: m\n    deployments: [{provider: mock, model: n}]\n"
    with pytest.raises(ConfigError, match="either provider/model or deployments"):
        parse_model(text, ModelsFile, "models.yaml")
