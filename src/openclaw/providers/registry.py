"""Provider types: the one place that knows what a type is.

A type is an adapter class (a :class:`~openclaw.providers.base.Provider` subclass) that
declares its facts as class attributes, in simonw/llm's style: ``type``, ``default_base_url``
(and ``base_url_env``), ``key_env_var``, an ``Options`` model with ``extra="forbid"`` for its
keys in ``providers:``, its capabilities, and ``discover()`` for onboarding's probe.

Types are installed through the entry-point group ``openclaw.providers``. The built-in ones
are declared in pyproject.toml exactly as a third party's package declares its own, and
nothing registers itself when imported. A :class:`ProviderRegistry` is a plain object read
from that group when it is built; it imports a type only when a config names it, so a broken
plugin breaks only the configurations that use it. Config sits below providers and cannot
ask about a type, so :meth:`ProviderRegistry.check` is the hook ``load_config`` runs:
callers that serve or build from a config load it with :func:`load_checked_config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openclaw.config import Config, load_config
from openclaw.config.loader import (
    did_you_mean,
    dotted,
    format_validation_error,
    located,
    part_error,
)
from openclaw.config.schema import PROVIDER_TYPES_GROUP, ModelsFile, ProviderConfig
from openclaw.errors import ConfigError
from openclaw.providers.base import Provider

#: Keys every type shares (``openclaw models types`` lists only a type's own beyond these).
COMMON_KEYS = frozenset(ProviderConfig.model_fields)


class ProviderRegistry:
    """The installed provider types, by name; each is imported on first use."""

    def __init__(self, types: Mapping[str, type[Provider] | EntryPoint]) -> None:
        self._types: dict[str, type[Provider] | EntryPoint] = dict(types)
        self._loaded: dict[str, type[Provider]] = {}

    @classmethod
    def from_entry_points(cls, group: str = PROVIDER_TYPES_GROUP) -> ProviderRegistry:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=group):
            seen = found.setdefault(ep.name, ep)
            if seen.value != ep.value:
                raise ConfigError(
                    f"provider type '{ep.name}' is installed twice: {_origin(seen)} and "
                    f"{_origin(ep)}; uninstall one of the two packages"
                )
        return cls(found)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, type_: object) -> bool:
        return type_ in self._types

    def get(self, type_: str) -> type[Provider]:
        """The adapter class of ``type_`` (ConfigError, with the nearest name, if unknown)."""
        loaded = self._loaded.get(type_)
        if loaded is not None:
            return loaded
        entry = self._types.get(type_)
        if entry is None:
            raise ConfigError(f"unknown provider type '{type_}'; {self.hint(type_)}")
        loaded = self._loaded[type_] = _load(entry) if isinstance(entry, EntryPoint) else entry
        return loaded

    def hint(self, type_: str) -> str:
        """'did you mean' for an unknown type name."""
        if not self._types:
            return (
                f"no provider type is installed (the '{PROVIDER_TYPES_GROUP}' entry-point group "
                "is empty): reinstall openclaw ('pip install -e .' in a checkout)"
            )
        return did_you_mean(type_, self.names())

    # -- what a name in models.yaml means --------------------------------------------------
    def default_config(self, type_: str) -> ProviderConfig:
        """What a bare ``provider: <type>`` means: the type's URL and key variable."""
        cls = self.get(type_)
        base_url = cls.default_base_url
        if cls.base_url_env and (env := os.environ.get(cls.base_url_env, "").strip()):
            base_url = env if "://" in env else f"http://{env}"
        data: dict[str, Any] = {"type": type_, "base_url": base_url}
        if cls.key_env_var:
            data["api_key"] = f"${{{cls.key_env_var}}}"
        return cls.Options.model_validate(data)

    def provider_config(self, models: ModelsFile, name: str) -> ProviderConfig:
        """Provider ``name``'s settings: its ``providers:`` entry, else the type's defaults."""
        entry = models.providers.get(name)
        if entry is None:
            return self.default_config(name)
        options = self.get(entry.type).Options
        try:
            return entry.narrowed(options)
        except ValidationError as exc:  # a config built in code, not loaded through check()
            at = ("providers", name)
            raise ConfigError(format_validation_error(exc, options, None, "models", at)) from None

    def used_names(self, models: ModelsFile) -> list[str]:
        """Every provider declared in ``providers:`` or named by a deployment."""
        names = set(models.providers)
        names.update(d.provider for a in models.models.values() for d in a.deployments)
        return sorted(names)

    # -- checking and building ---------------------------------------------------------------
    def validate(self, models: ModelsFile, path: Path) -> None:
        """Refuse unknown types and keys a type does not take, naming ``path``'s line and the
        nearest valid type or key; every problem is reported at once."""
        problems: list[str] = []
        for name, entry in models.providers.items():
            at = ("providers", name, "type")
            if entry.type not in self:
                problems.append(
                    f"{located(path, at)}: {dotted(at)}: unknown provider type "
                    f"'{entry.type}'; {self.hint(entry.type)}"
                )
                continue
            try:
                options = self.get(entry.type).Options
            except ConfigError as exc:
                problems.append(f"{located(path, at)}: {dotted(at)}: {exc.message}")
                continue
            try:
                entry.narrowed(options)
            except ValidationError as exc:
                problems.append(part_error(path, exc, options, ("providers", name)).message)
        for alias, spec in models.models.items():
            for dep in spec.deployments:
                if dep.provider not in models.providers and dep.provider not in self:
                    problems.append(
                        f"{located(path, ('models', alias))}: models.{alias}: provider '{dep.provider}' is "
                        "neither in 'providers:' nor an installed provider type; "
                        f"{self.hint(dep.provider)}"
                    )
        if problems:
            raise ConfigError("\n".join(problems))

    def check(self, config: Config) -> None:
        """The ``check`` hook of :func:`openclaw.config.load_config`."""
        self.validate(config.models, config.home / "models.yaml")

    def build_providers(self, models: ModelsFile) -> dict[str, Provider]:
        """One adapter instance per provider name used or declared in ``models.yaml``."""
        out: dict[str, Provider] = {}
        for name in self.used_names(models):
            config = self.provider_config(models, name)
            out[name] = self.get(config.type)(name, config)
        return out

    def describe(self, type_: str) -> dict[str, Any]:
        """A type's declared facts, for ``openclaw models types``."""
        cls = self.get(type_)
        entry = self._types[type_]
        package = entry.dist.name if isinstance(entry, EntryPoint) and entry.dist else None
        return {
            "type": type_,
            "package": package or cls.__module__.partition(".")[0],
            "adapter": f"{cls.__module__}:{cls.__qualname__}",
            "default_base_url": self.default_config(type_).base_url,
            "key_env_var": cls.key_env_var,
            "options": sorted(set(cls.Options.model_fields) - COMMON_KEYS),
            "can_stream": cls.can_stream,
            "can_embed": cls.can_embed,
            "vision": cls.vision,
            "multiple_choices": cls.multiple_choices,
        }


def load_checked_config(
    home: Path | None = None, registry: ProviderRegistry | None = None
) -> Config:
    """:func:`openclaw.config.load_config` with the provider registry's check: what every
    caller that serves, builds or reports on a config uses."""
    registry = registry or ProviderRegistry.from_entry_points()
    return load_config(home, check=registry.check)


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist.name if ep.dist is not None else "an unknown distribution"
    return f"{ep.value} (from {dist})"


def _load(ep: EntryPoint) -> type[Provider]:
    try:
        loaded = ep.load()
    except Exception as exc:  # a plugin's import error, whatever it is, names the plugin
        raise ConfigError(
            f"provider type '{ep.name}' cannot be imported from {_origin(ep)}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
        raise ConfigError(
            f"provider type '{ep.name}' from {_origin(ep)} is not a Provider subclass"
        )
    if loaded.type != ep.name:
        raise ConfigError(
            f"provider type '{ep.name}' from {_origin(ep)} declares type = '{loaded.type}'; "
            "the entry point's name and the class's type must be the same"
        )
    return loaded
