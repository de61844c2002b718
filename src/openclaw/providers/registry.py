"""Provider types register here, the built-in ones exactly as a third party's would."""

from __future__ import annotations

import os
from importlib import import_module

from openclaw.config.schema import ModelsFile, ProviderConfig
from openclaw.errors import ConfigError
from openclaw.providers.base import Provider

_TYPES: dict[str, type[Provider]] = {}
_builtins_loaded = False
DEFAULT_PROVIDERS = (
    "openclaw.providers.openai",
    "openclaw.providers.anthropic",
    "openclaw.providers.ollama",
    "openclaw.providers.mock",
)


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make a provider type available to ``providers:`` entries."""
    _TYPES[cls.type] = cls
    return cls


def provider_types() -> dict[str, type[Provider]]:
    global _builtins_loaded
    if not _builtins_loaded:
        # A flag, not "is the table empty": a plugin registering first must not hide these.
        for mod in DEFAULT_PROVIDERS:
            import_module(mod)
        _builtins_loaded = True
    return dict(_TYPES)


def builtin_config(type_: str) -> ProviderConfig:
    """The defaults a bare ``provider: openai`` means (official URL, key from the env)."""
    if type_ == "openai":
        return ProviderConfig(type="openai", api_key="${OPENAI_API_KEY}")  # type: ignore[arg-type]
    if type_ == "anthropic":
        return ProviderConfig(type="anthropic", api_key="${ANTHROPIC_API_KEY}")  # type: ignore[arg-type]
    if type_ == "ollama":
        host = os.environ.get("OLLAMA_HOST", "http://localhost:11434")
        if "://" not in host:
            host = f"http://{host}"
        return ProviderConfig(type="ollama", base_url=host)
    if type_ == "openai_compatible":
        return ProviderConfig(type="openai_compatible", base_url="http://127.0.0.1:8000/v1")
    return ProviderConfig(type="mock")


def build_providers(models: ModelsFile) -> dict[str, Provider]:
    """One adapter instance per provider name used or declared in ``models.yaml``."""
    types = provider_types()
    out: dict[str, Provider] = {}
    names = set(models.providers)
    for alias in models.models.values():
        names.update(d.provider for d in alias.deployments)
    for name in sorted(names):
        cfg = models.providers.get(name) or builtin_config(name)
        cls = types.get(cfg.type)
        if cls is None:
            raise ConfigError(f"models.yaml: providers.{name}: unknown type '{cfg.type}'")
        out[name] = cls(name, cfg)
    return out
