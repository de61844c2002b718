"""Every configuration under ``examples/`` loads as written, and builds a gateway.

A folder with a models.yaml is an OpenClaw home: ``OPENCLAW_HOME=examples/<name> openclaw
config validate`` must pass for each, since README and docs/ tell people to copy them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openclaw.assembly import build_gateway
from openclaw.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOMES = sorted(p.parent for p in EXAMPLES.glob("*/models.yaml"))


def test_the_examples_folder_has_config_homes() -> None:
    assert {h.name for h in HOMES} >= {"seed", "limits"}


@pytest.mark.parametrize("home", HOMES, ids=[h.name for h in HOMES])
async def test_an_example_home_loads_and_builds_a_gateway(home: Path, tmp_path: Path) -> None:
    # A copy, so nothing the gateway writes lands in the repository.
    copy = tmp_path / home.name
    shutil.copytree(home, copy)
    # Secrets are ${VAR} references resolved when used; loading needs none of them set.
    config = load_config(copy)
    assert config.models.models, f"{home}/models.yaml has no model aliases"
    # Building the gateway runs the checks that span files (aliases named in policies.yaml).
    gateway = build_gateway(config)
    await gateway.aclose()
    gateway.audit.close()
