"""Unit templates and the one way they are filled in.

The templates inside the package (``openclaw/daemon_units/templates/``) are the one source: a
wheel carries only files under the package, and a symlink from there to the checkout's
folders would be a plain text file in a Windows checkout (``install.ps1`` installs from one).
The checkout's top-level ``systemd/`` and ``launchd/`` hold copies for people who read the
repository; ``tests/daemon_units/test_templates.py`` fails when a copy drifts. A field is
``{{name}}``; each manager passes values already escaped for its format, and a template
that names a field nobody filled in is an error rather than a unit with a hole in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

SYSTEMD_UNIT = "openclaw-gateway.service"
LAUNCHD_PLIST = "ai.openclaw.gateway.plist"
WINDOWS_TASK_XML = "openclaw-gateway-task.xml"
WINDOWS_LAUNCHER = "openclaw-gateway.cmd"
#: template file -> top-level folder of the checkout that holds a copy
CHECKOUT_COPIES = {SYSTEMD_UNIT: "systemd", LAUNCHD_PLIST: "launchd"}

_FIELD = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def template_text(name: str) -> str:
    return resources.files("openclaw.daemon_units").joinpath("templates", name).read_text("utf-8")


def render(name: str, values: Mapping[str, str]) -> str:
    text = template_text(name)
    missing = sorted({m.group(1) for m in _FIELD.finditer(text)} - set(values))
    if missing:
        raise KeyError(f"template {name} needs {', '.join(missing)}")
    return _FIELD.sub(lambda m: values[m.group(1)], text)
