"""The environment a skill's scripts see: an allowlist, never the gateway's own secrets.

A step starts from an empty environment, not a copy of the daemon's. It gets the variables
a program needs to behave (``PATH``, locale, ``TZ``...), a fresh temporary ``HOME`` and XDG
directories of its own (the caller makes them, see :mod:`.runner`), the variables its skill
declares in ``requires.env`` / ``requires.optionalEnv`` / ``primaryEnv``, and ``OPENCLAW_*``
variables describing the run (the inputs, the skill's folder). Secrets are never passed, even
when a skill declares them:

- by name: the built-in providers' key variables, every ``${VAR}`` reference in any YAML
  file of ``$OPENCLAW_HOME`` (provider keys, ``services[].token``, ``state.password``,
  channel tokens, whatever a later file adds: the files are read as text, so no field can be
  forgotten), every variable set in ``gateway.env``, and the gateway's own variables;
- by value: the resolved value of every ``SecretRef`` in the loaded config, of each name
  above, and the gateway token (a declared variable holding one of them is dropped too).

This keeps secrets out of scripts' environments, their crash reports and their children.
What a script can *read on disk* is :mod:`.sandbox`'s business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from openclaw.config.schema import SecretRef
from openclaw.providers.registry import ProviderRegistry
from openclaw.skills.values import as_env

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE)
ENV_FILE = "gateway.env"  # the daemon's key file (openclaw.daemon reads it)

#: Passed through from the daemon's environment when set (HOME is not: a step gets its own).
BASE_VARS = (
    "PATH",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TZ",
    # Windows needs these to start almost anything.
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "COMSPEC",
    "PATHEXT",
    "WINDIR",
)

#: Never passed to a step, whatever the skill declares.
PROTECTED_VARS = frozenset(
    {
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENCLAW_GATEWAY_TOKEN",
        "OPENCLAW_HOME",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
    }
)


class Secrets:
    """What must not reach a step: variable names and secret values (compared, never logged)."""

    def __init__(self, names: Iterable[str] = (), values: Iterable[str] = ()) -> None:
        self.names = set(PROTECTED_VARS) | set(names)
        self.values = {v for v in values if v and len(v) >= 8}

    @classmethod
    def of(
        cls, config: Any | None = None, token: str | None = None, home: Path | None = None
    ) -> Secrets:
        """Names and values from the provider registry, the config (loaded and as files in
        ``home``, the config's own home when not given), ``gateway.env`` and the token."""
        names: set[str] = set()
        values: set[str] = set()
        registry = ProviderRegistry.from_entry_points()
        for type_ in registry.names():
            if key_env_var := registry.get(type_).key_env_var:
                names.add(key_env_var)
        if config is not None:
            for ref in secret_refs(config):
                var = ref.var
                if var:
                    names.add(var)
                value = ref.resolve()
                if value:
                    values.add(value)
            home = home or getattr(config, "home", None)
        if home is not None:
            names |= referenced_names(home)
        for name in names | PROTECTED_VARS:
            value = os.environ.get(name)
            if value:
                values.add(value)
        if token:
            values.add(token)
        return cls(names, values)

    def allows(self, name: str, value: str) -> bool:
        return name not in self.names and value not in self.values


def _walk(value: Any, depth: int = 0) -> Iterator[SecretRef]:
    if depth > 20:
        return
    if isinstance(value, SecretRef):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name, None), depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v, depth + 1)


def secret_refs(config: Any) -> list[SecretRef]:
    """Every ``SecretRef`` anywhere in a loaded config (its models, policies and channels)."""
    refs: list[SecretRef] = []
    for part in ("models", "policies", "channels"):
        refs.extend(_walk(getattr(config, part, None)))
    return refs


def referenced_names(home: Path) -> set[str]:
    """Variables named by ``${VAR}`` in any YAML file of ``home`` and set in gateway.env."""
    names: set[str] = set()
    try:
        files = sorted(home.glob("*.y*ml"))
    except OSError:
        files = []
    for path in files:
        try:
            names.update(_ENV_REF.findall(path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    try:
        names.update(_ENV_LINE.findall((home / ENV_FILE).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        pass
    return names


#: A step's XDG directories, below its temporary HOME.
XDG_DIRS = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "XDG_RUNTIME_DIR": ".run",
}


def env_name(input_name: str) -> str:
    return "OPENCLAW_INPUT_" + input_name.upper()


def step_env(
    *,
    declared: Iterable[str],
    secrets: Secrets,
    inputs: Mapping[str, Any],
    workdir: Path,
    home: Path,
    extra: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of one step (see the module docstring). ``home`` is the step's
    own temporary ``HOME``; its XDG directories are set below it (the caller creates it)."""
    source = os.environ if environ is None else environ
    env: dict[str, str] = {}
    for name in (*BASE_VARS, *declared):
        value = source.get(name)
        if value is not None and secrets.allows(name, value):
            env[name] = value
    for name, value in inputs.items():
        env[env_name(name)] = as_env(value)
    env.update(extra)
    env["HOME"] = env["USERPROFILE"] = str(home)
    for var, sub in XDG_DIRS.items():
        env[var] = str(home / sub)
    env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(workdir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # scripts may live in a read-only install
    env["PYTHONIOENCODING"] = "utf-8"
    # An input named like a secret variable must not smuggle one in either.
    return {k: v for k, v in env.items() if k not in secrets.names}
