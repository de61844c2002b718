"""The environment a skill's scripts see: an allowlist, never the gateway's own secrets.

A step starts from an empty environment, not a copy of the daemon's. It gets the variables
a program needs to behave (``PATH``, ``HOME``, locale, ``TZ``...), the variables its skill
declares in ``requires.env`` / ``requires.optionalEnv``, and ``OPENCLAW_*`` variables
describing the run (the inputs, the skill's folder). Provider keys and the gateway token are
never passed, even when a skill declares them: by name (the built-in providers' variables,
every ``${VAR}`` the loaded config references for a secret, the gateway token variable) and
by value (any declared variable whose value *is* a provider key or the gateway token).

This keeps secrets out of scripts' environments, their crash reports and their children. It
is not a sandbox: a step runs as the daemon's user, with the real ``HOME`` (``gh`` and
``git`` read their credentials there), and could read files that user can read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openclaw.skills.values import as_env

#: Passed through from the daemon's environment when set.
BASE_VARS = (
    "PATH",
    "HOME",
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
    def of(cls, config: Any | None = None, token: str | None = None) -> Secrets:
        """Names and values from the provider registry, a loaded config and the gateway token."""
        from openclaw.providers.registry import ProviderRegistry

        names: set[str] = set()
        values: set[str] = set()
        registry = ProviderRegistry.from_entry_points()
        for type_ in registry.names():
            if key_env_var := registry.get(type_).key_env_var:
                names.add(key_env_var)
        if config is not None:
            for ref in _secret_refs(config):
                var = ref.var
                if var:
                    names.add(var)
                value = ref.resolve()
                if value:
                    values.add(value)
        for name in names | PROTECTED_VARS:
            value = os.environ.get(name)
            if value:
                values.add(value)
        if token:
            values.add(token)
        return cls(names, values)

    def allows(self, name: str, value: str) -> bool:
        return name not in self.names and value not in self.values


def _secret_refs(config: Any) -> list[Any]:
    from openclaw.config.schema import SecretRef

    refs: list[Any] = []
    for prov in config.models.providers.values():
        if prov.api_key is not None:
            refs.append(prov.api_key)
    for channel in config.channels.channels:
        for field in ("bot_token", "app_token", "signing_secret", "secret"):
            ref = getattr(channel, field, None)
            if isinstance(ref, SecretRef):
                refs.append(ref)
    return refs


def env_name(input_name: str) -> str:
    return "OPENCLAW_INPUT_" + input_name.upper()


def step_env(
    *,
    declared: Iterable[str],
    secrets: Secrets,
    inputs: Mapping[str, Any],
    workdir: Path,
    extra: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of one step (see the module docstring)."""
    source = os.environ if environ is None else environ
    env: dict[str, str] = {}
    for name in (*BASE_VARS, *declared):
        value = source.get(name)
        if value is not None and secrets.allows(name, value):
            env[name] = value
    for name, value in inputs.items():
        env[env_name(name)] = as_env(value)
    env.update(extra)
    env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(workdir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # scripts may live in a read-only install
    env["PYTHONIOENCODING"] = "utf-8"
    # An input named like a secret variable must not smuggle one in either.
    return {k: v for k, v in env.items() if k not in secrets.names}
