"""Configuration: the home directory and the three YAML files.

``load_config(home)`` reads ``models.yaml``, ``policies.yaml`` and ``channels.yaml`` into one
immutable :class:`Config`. A missing policies or channels file means none; a missing models
file is an error that says how to create one. ``check`` runs what this package cannot know:
callers that serve or build from the config use
:func:`openclaw.providers.registry.load_checked_config`, which passes the provider
registry's check (each provider's own options).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openclaw.config.loader import load_model, parse_model
from openclaw.config.schema import (
    ChannelsFile,
    ModelAlias,
    ModelsFile,
    PoliciesFile,
    ProviderConfig,
    SecretRef,
)

DEFAULT_PORT = 18789
DEFAULT_HOST = "127.0.0.1"
CONFIG_FILES = ("models.yaml", "policies.yaml", "channels.yaml")

__all__ = [
    "CONFIG_FILES",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ChannelsFile",
    "Config",
    "ModelAlias",
    "ModelsFile",
    "PoliciesFile",
    "ProviderConfig",
    "SecretRef",
    "home_dir",
    "load_config",
    "log_path",
    "parse_model",
    "pid_path",
]


def log_path(home: Path) -> Path:
    """The daemon's own log (not the audit log)."""
    return home / "logs" / "gateway.log"


def pid_path(home: Path) -> Path:
    return home / "gateway.pid"


def home_dir() -> Path:
    """``$OPENCLAW_HOME``, else ``~/.openclaw``."""
    env = os.environ.get("OPENCLAW_HOME")
    return Path(env).expanduser() if env else Path.home() / ".openclaw"


@dataclass(frozen=True)
class Config:
    home: Path
    models: ModelsFile
    policies: PoliciesFile
    channels: ChannelsFile
    files: dict[str, float] = field(default_factory=dict)  # path -> mtime at load

    @property
    def default_alias(self) -> str | None:
        if self.models.default:
            return self.models.default
        return next(iter(self.models.models), None)


def load_config(
    home: Path | None = None, *, check: Callable[[Config], None] | None = None
) -> Config:
    """Read the three files; ``check`` (raising ConfigError) vets the result before it is used."""
    home = home or home_dir()
    models = load_model(home / "models.yaml", ModelsFile, missing_ok=False)
    policies = load_model(home / "policies.yaml", PoliciesFile)
    channels = load_model(home / "channels.yaml", ChannelsFile)
    files = {}
    for name in CONFIG_FILES:
        p = home / name
        if p.exists():
            files[str(p)] = p.stat().st_mtime
    config = Config(home=home, models=models, policies=policies, channels=channels, files=files)
    if check is not None:
        check(config)
    return config
