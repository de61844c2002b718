"""One source for the unit templates: the package's ``templates/``; the checkout's copies follow.

``openclaw gateway install`` renders what the *package* ships, because a wheel (``install.sh``,
``install.ps1``, pip) carries only files under ``src/openclaw``. The top-level ``systemd/`` and
``launchd/`` folders exist for people reading the repository; these tests make a copy that
drifts, a stray file in those folders, or a template the wheel would not ship, a failure.
"""

from __future__ import annotations

import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from openclaw.daemon_units import templates

REPO = Path(__file__).resolve().parents[2]
PACKAGED = resources.files("openclaw.daemon_units").joinpath("templates")


@pytest.mark.parametrize("folder", sorted(set(templates.CHECKOUT_COPIES.values())))
def test_a_checkout_folder_holds_only_copies_of_packaged_templates(folder: str) -> None:
    mirrored = {name for name, where in templates.CHECKOUT_COPIES.items() if where == folder}
    present = {p.name for p in (REPO / folder).iterdir()}
    assert present == mirrored, (
        f"{folder}/ must hold exactly {sorted(mirrored)}: edit "
        "src/openclaw/daemon_units/templates/ and copy the file here, never the other way round"
    )
    for name in mirrored:
        assert (REPO / folder / name).read_bytes() == PACKAGED.joinpath(name).read_bytes(), (
            f"{folder}/{name} differs from src/openclaw/daemon_units/templates/{name}; "
            f"cp src/openclaw/daemon_units/templates/{name} {folder}/"
        )


def test_every_packaged_template_is_shipped_in_the_wheel() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["openclaw"]
    root = REPO / "src" / "openclaw"
    for path in (root / "daemon_units" / "templates").iterdir():
        relative = path.relative_to(root).as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), f"{relative} is not package data"
