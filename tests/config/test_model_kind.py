"""``kind: chat | embedding`` on a model alias (issue 15): chat unless the alias says so."""

from __future__ import annotations

import pytest

from openclaw.config.loader import parse_model
from openclaw.config.schema import ModelsFile
from openclaw.errors import ConfigError

MODELS = """\
models:
  general:             {provider: anthropic, model: claude-sonnet-4-20250514}
  embed:               {provider: openai, model: text-embedding-3-small, kind: embedding}
  sensitive_embedding: {provider: ollama, model: nomic-embed-text, kind: embedding}
"""


def test_aliases_are_chat_unless_they_say_embedding() -> None:
    models = parse_model(MODELS, ModelsFile, "models.yaml").models
    assert {name: alias.kind for name, alias in models.items()} == {
        "general": "chat",
        "embed": "embedding",
        "sensitive_embedding": "embedding",
    }


def test_an_unknown_kind_names_the_line_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        parse_model(
            MODELS.replace("kind: embedding}", "kind: vectors}", 1), ModelsFile, "models.yaml"
        )
    message = str(info.value)
    assert "models.yaml:3" in message and "kind" in message and "embedding" in message
