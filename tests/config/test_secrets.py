"""Literal credentials cannot hide in a config file: not in a default, not in a header."""

from __future__ import annotations

import pytest

from openclaw.config.loader import parse_model
from openclaw.config.schema import ModelsFile, PoliciesFile
from openclaw.errors import ConfigError


def models(provider: str) -> str:
    return (
        "providers:\n"
        f"  groq:\n{provider}"
        "models:\n"
        "  general: {provider: groq, model: llama-3.1-8b}\n"
    )


def test_a_secret_reference_with_a_literal_default_is_refused_naming_file_line_and_fix() -> None:
    text = models(
        "    type: openai_compatible\n"
        "    base_url: http://127.0.0.1:1/v1\n"
        '    api_key: "${UNSET_GROQ_KEY:-sk-literal-key}"\n'
    )
    with pytest.raises(ConfigError) as err:
        parse_model(text, ModelsFile, "models.yaml")
    msg = err.value.message
    assert msg.startswith("models.yaml:5: providers.groq.api_key: ")
    assert "may not have a default value" in msg and "write '${UNSET_GROQ_KEY}'" in msg
    assert "sk-literal-key" not in msg


def test_a_secret_reference_with_an_empty_default_still_loads() -> None:
    text = models('    type: openai_compatible\n    api_key: "${UNSET_GROQ_KEY:-}"\n')
    cfg = parse_model(text, ModelsFile, "models.yaml")
    assert cfg.providers["groq"].api_key == "${UNSET_GROQ_KEY:-}"


def test_service_tokens_and_the_state_password_refuse_defaults_too() -> None:
    text = 'state:\n  backend: redis\n  url: redis://127.0.0.1:6379\n  password: "${RP:-hunter2}"\n'
    with pytest.raises(ConfigError, match=r"policies.yaml:4: state.password: .*default value"):
        parse_model(text, PoliciesFile, "policies.yaml")


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "x-api-key",
        "api-key",
        "X-Auth-Token",
        "Ocp-Apim-Subscription-Key",
        "Cookie",
    ],
)
def test_a_literal_value_in_a_credential_header_is_refused(header: str) -> None:
    text = models(f"    type: openai_compatible\n    headers:\n      {header}: Bearer sk-abc123\n")
    with pytest.raises(ConfigError) as err:
        parse_model(text, ModelsFile, "models.yaml")
    msg = err.value.message
    assert msg.startswith(f"models.yaml:5: providers.groq.headers.{header}: ")
    assert "must come from an environment reference" in msg and "gateway.env" in msg
    assert "sk-abc123" not in msg


def test_a_credential_header_with_a_default_in_its_reference_is_refused() -> None:
    text = models('    type: openai_compatible\n    headers:\n      x-api-key: "${K:-abc}"\n')
    with pytest.raises(ConfigError, match="must come from an environment reference"):
        parse_model(text, ModelsFile, "models.yaml")


def test_credential_headers_from_references_and_plain_headers_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROQ_TOKEN", "tok-from-env")
    text = models(
        "    type: openai_compatible\n"
        "    headers:\n"
        '      Authorization: "Bearer ${GROQ_TOKEN}"\n'
        '      x-api-key: "${GROQ_TOKEN}"\n'
        "      OpenAI-Organization: org-1\n"
    )
    headers = parse_model(text, ModelsFile, "models.yaml").providers["groq"].headers
    assert headers == {
        "Authorization": "Bearer tok-from-env",
        "x-api-key": "tok-from-env",
        "OpenAI-Organization": "org-1",
    }
