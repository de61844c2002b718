"""``$OPENCLAW_HOME/gateway.env``: provider keys for a daemon that a service manager starts.

systemd reads the file itself (``EnvironmentFile``), but launchd, Task Scheduler and the
background process cannot, so the daemon reads it too, the same way everywhere: ``KEY=VALUE``
lines, optional ``export``, quotes stripped, ``#`` comments. Only variables the environment
does not already set are taken.

The file holds keys, so on POSIX it must be private: a ``gateway.env`` that group or others
can read is refused with a :class:`ConfigError` (the daemon does not start) rather than
read, because a warning in a log nobody reads leaves the keys exposed.
``openclaw doctor --fix`` sets the mode to 0600.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from openclaw.errors import ConfigError

ENV_FILE = "gateway.env"

log = logging.getLogger("openclaw")


def env_file(home: Path) -> Path:
    return home / ENV_FILE


def exposed_mode(path: Path) -> int | None:
    """The file's mode if group or others may read or write it (POSIX), else ``None``."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def load_env_file(home: Path) -> list[str]:
    """Set variables from ``gateway.env`` that the environment lacks; returns their names.

    Raises :class:`ConfigError` when the file is readable by other users (never its values).
    """
    path = env_file(home)
    mode = exposed_mode(path)
    if mode is not None:
        raise ConfigError(
            f"{path}: mode {mode:04o} lets other users read the keys in it; the gateway "
            f"refuses to read it (fix: chmod 600 {path}, or run 'openclaw doctor --fix')"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    names = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq or not key.replace("_", "").isalnum() or key[0].isdigit():
            log.warning("%s:%d: not KEY=VALUE; line ignored", path, n)
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key not in os.environ:
            os.environ[key] = value
            names.append(key)
    if names:
        log.info("read %s from %s", ", ".join(names), path)
    return names
