"""What this machine offers the gateway: provider keys, a local Ollama, a spaCy pipeline.

``openclaw onboard`` and a first start use it to choose a configuration, and ``openclaw
doctor`` to check one. What to look for comes from the provider registry: every installed
type's key variable, and Ollama's own ``discover`` at its default URL (``$OLLAMA_HOST``).
Only the *presence* of a key is ever looked at; its value is never read into a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from openclaw.providers.registry import ProviderRegistry

SPACY_INSTALL_HINT = (
    "python -m pip install en_core_web_sm (or: python -m spacy download en_core_web_sm)"
)
#: The type whose local server holds the 'sensitive' alias's model.
LOCAL_TYPE = "ollama"


def key_is_set(var: str) -> bool:
    return bool(os.environ.get(var, "").strip())


def spacy_pipelines() -> list[str]:
    """Installed English spaCy pipeline packages, best first (nothing is loaded)."""
    try:
        # spaCy's package metadata helpers: only a probe that looks for pipelines pays.
        from openclaw.policies.pii.pipeline import installed_pipelines
    except ImportError:  # spaCy itself missing: PII detection is pattern-only
        return []
    return installed_pipelines("en")


def pulled(model: str, models: list[str]) -> bool:
    """Is ``model`` among Ollama's pulled models (``llama3`` means ``llama3:latest``)?"""
    name = model if ":" in model else f"{model}:latest"
    return model in models or name in models


def suggested_local_model(registry: ProviderRegistry) -> str:
    """What to tell people to pull when Ollama has no model yet."""
    return registry.get(LOCAL_TYPE).suggested_model or ""


@dataclass
class Machine:
    keys: dict[str, bool] = field(default_factory=dict)  # env var -> set?
    ollama_url: str = ""
    ollama: list[str] | None = None  # pulled models, None when Ollama does not answer
    spacy: list[str] = field(default_factory=list)
    suggested_local_model: str = ""

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
                f"(pull one with: ollama pull {self.suggested_local_model})"
            )
        if self.spacy:
            lines.append(f"spaCy English pipeline for PII names: {self.spacy[0]}")
        else:
            lines.append(
                "spaCy English pipeline: none, so PII detection is pattern-only "
                f"(names are not found); install one with: {SPACY_INSTALL_HINT}"
            )
        return lines


def probe(registry: ProviderRegistry, *, with_spacy: bool = True) -> Machine:
    """Ask the machine what each installed provider type would need."""
    key_vars = [registry.get(t).key_env_var for t in registry.names()]
    local = registry.get(LOCAL_TYPE)
    url = registry.default_config(LOCAL_TYPE).base_url or ""
    return Machine(
        keys={var: key_is_set(var) for var in key_vars if var},
        ollama_url=url,
        ollama=local.discover(url),
        spacy=spacy_pipelines() if with_spacy else [],
        suggested_local_model=suggested_local_model(registry),
    )
