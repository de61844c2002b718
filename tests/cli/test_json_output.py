"""One JSON convention: every command that reads state takes --json and prints one document."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from harness import MOCK_MODELS
from openclaw.cli import ALIASES, main
from openclaw.cli.output import JSON_HELP

# Commands that act (start, write, change, stream to a terminal) rather than read state.
ACTIONS = {
    "gateway install",
    "gateway uninstall",
    "gateway restart",
    "gateway run",
    "gateway start",
    "gateway stop",
    "audit export",  # has its own --format jsonl|csv
    "onboard",
    "skill new",
    "dashboard",
    "chat",
    "ask",
    "service add",
    "service rotate",
    "service remove",
    "completion",
    "skill install",
    "skill remove",
}

# --json with a help of its own: JSON Lines for a stream, or a report the skills code owns.
OWN_HELP = {
    "audit tail",
    "logs",
    "skill list",
    "skill show",
    "skill info",
    "skill run",
    "skill test",
    "policy stats",  # its values stay masked in JSON too
}


def leaves(cmd: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    if isinstance(cmd, click.Group):
        return [
            leaf
            for name, sub in cmd.commands.items()
            if not (not path and name in ALIASES)  # `skills` is `skill` under another name
            for leaf in leaves(sub, (*path, name))
        ]
    return [(" ".join(path), cmd)]


def json_flag(cmd: click.Command) -> click.Option | None:
    return next((p for p in cmd.params if isinstance(p, click.Option) and "--json" in p.opts), None)


def test_every_state_reading_command_has_json_with_the_shared_help() -> None:
    missing, other_help = [], []
    for name, cmd in leaves(main):
        if name in ACTIONS:
            continue
        opt = json_flag(cmd)
        if opt is None:
            missing.append(name)
        elif opt.help != JSON_HELP and name not in OWN_HELP:
            other_help.append(name)
    assert missing == []
    assert other_help == []


def test_the_action_list_names_only_real_commands() -> None:
    assert {name for name, _ in leaves(main)} >= ACTIONS


def test_config_validate_json_when_valid(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    r = CliRunner().invoke(main, ["config", "validate", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["models"] == 2 and doc["policies"] == 0
    assert doc["files"]["models.yaml"] == str(openclaw_home / "models.yaml")
    assert doc["files"]["channels.yaml"] is None


def test_config_validate_json_names_the_error_and_exits_1(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text("models:\n  general:\n    provder: mock\n")
    r = CliRunner().invoke(main, ["config", "validate", "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    assert "models.yaml:3" in doc["error"] and "provider" in doc["error"]


def test_config_path_json(openclaw_home: Path) -> None:
    r = CliRunner().invoke(main, ["config", "path", "--json"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["home"] == str(openclaw_home)
    assert doc["files"]["policies.yaml"] == str(openclaw_home / "policies.yaml")


def write_skill(home: Path, name: str, front: str) -> None:
    folder = home / "skills" / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\n{front}---\n\n# {name}\n")


@pytest.mark.parametrize("broken", [False, True])
def test_skill_lint_json_lists_each_skill_with_its_problems(
    openclaw_home: Path, broken: bool
) -> None:
    if broken:
        write_skill(openclaw_home, "bad-skill", "name: bad-skill\nversoin: 1\n")
    r = CliRunner().invoke(main, ["skill", "lint", "--json"])
    doc = json.loads(r.stdout)
    assert doc["ok"] is not broken
    assert r.exit_code == (1 if broken else 0)
    by_name = {s["name"]: s for s in doc["skills"]}
    assert by_name and all(set(s) == {"name", "version", "path", "problems"} for s in doc["skills"])
    if broken:
        assert by_name["bad-skill"]["problems"]
        assert all(not s["problems"] for n, s in by_name.items() if n != "bad-skill")
