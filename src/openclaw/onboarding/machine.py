"""What this machine offers the gateway: provider keys, a local Ollama, a spaCy pipeline.

``openclaw onboard`` uses it to choose a configuration and ``openclaw doctor`` to check one.
Only the *presence* of a key is ever looked at; its value is never read into a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from openclaw.config.defaults import ollama_models

#: provider type -> the environment variable its official client reads the key from
KEY_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
#: what to suggest pulling when Ollama has no model yet
SUGGESTED_LOCAL_MODEL = "llama3.1:8b"
SPACY_INSTALL_HINT = (
    "python -m pip install en_core_web_sm (or: python -m spacy download en_core_web_sm)"
)


def ollama_url() -> str:
    url = os.environ.get("OLLAMA_HOST", "http://localhost:11434")
    return url if "://" in url else f"http://{url}"


def key_is_set(var: str) -> bool:
    return bool(os.environ.get(var, "").strip())


def spacy_pipelines() -> list[str]:
    """Installed English spaCy pipeline packages, best first (nothing is loaded)."""
    try:
        from openclaw.policies.pii.nlp import installed_pipelines
    except ImportError:  # spaCy itself missing: PII detection is pattern-only
        return []
    return installed_pipelines("en")


def pulled(model: str, models: list[str]) -> bool:
    """Is ``model`` among Ollama's pulled models (``llama3`` means ``llama3:latest``)?"""
    name = model if ":" in model else f"{model}:latest"
    return model in models or name in models


@dataclass
class Machine:
    keys: dict[str, bool] = field(default_factory=dict)  # env var -> set?
    ollama_url: str = ""
    ollama: list[str] | None = None  # pulled models, None when Ollama does not answer
    spacy: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = []
        for var, present in self.keys.items():
            lines.append(f"{var}: {'set' if present else 'not set'}")
        if self.ollama is None:
            lines.append(f"Ollama: not reachable at {self.ollama_url}")
        elif self.ollama:
            lines.append(f"Ollama: {self.ollama_url}, models pulled: {', '.join(self.ollama)}")
        else:
            lines.append(
                f"Ollama: {self.ollama_url}, no models pulled yet "
                f"(pull one with: ollama pull {SUGGESTED_LOCAL_MODEL})"
            )
        if self.spacy:
            lines.append(f"spaCy English pipeline for PII names: {self.spacy[0]}")
        else:
            lines.append(
                "spaCy English pipeline: none, so PII detection is pattern-only "
                f"(names are not found); install one with: {SPACY_INSTALL_HINT}"
            )
        return lines


def probe(*, with_spacy: bool = True) -> Machine:
    url = ollama_url()
    return Machine(
        keys={var: key_is_set(var) for var in KEY_VARS.values()},
        ollama_url=url,
        ollama=ollama_models(url),
        spacy=spacy_pipelines() if with_spacy else [],
    )
