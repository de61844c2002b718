"""``openclaw skill ...`` through click's CliRunner, with the real command group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from skillkit import MakeSkill

from openclaw.cli import main


def skill(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["skill", *args], input=input)


def test_new_then_test_passes_at_once(openclaw_home: Path) -> None:
    created = skill("new", "x")
    assert created.exit_code == 0, created.output
    assert (openclaw_home / "skills" / "x" / "SKILL.md").is_file()
    assert skill("lint", "x").exit_code == 0
    result = skill("test", "x")
    assert result.exit_code == 0, result.output
    assert "PASS x 0.1.0" in result.output and "x: all fixtures passed" in result.output


def test_new_refuses_bad_names_and_existing_folders(openclaw_home: Path) -> None:
    bad = skill("new", "Bad_Name")
    assert bad.exit_code == 1 and "not a valid skill name" in bad.output
    assert skill("new", "x").exit_code == 0
    again = skill("new", "x")
    assert again.exit_code == 1 and "already exists" in again.output


def test_new_into_another_directory(tmp_path: Path) -> None:
    result = skill("new", "team-skill", "--dir", str(tmp_path))
    assert result.exit_code == 0 and (tmp_path / "team-skill" / "scripts" / "count.py").is_file()


def test_list_json_and_eligible(make_skill: MakeSkill) -> None:
    make_skill("echo")
    make_skill("broken", text="---\nname: broken\n---\n")
    listed = json.loads(skill("list", "--json").output)
    by_name = {s["name"]: s for s in listed}
    assert by_name["echo"]["status"] == "eligible" and by_name["broken"]["status"] == "invalid"
    assert by_name["pr-review-prep"]["source"] == "builtin"
    eligible = {s["name"] for s in json.loads(skill("list", "--eligible", "--json").output)}
    assert "echo" in eligible and "broken" not in eligible
    table = skill("list")
    assert table.exit_code == 0 and "pr-review-prep" in table.output


def test_show_prints_the_contract_and_the_docs() -> None:
    result = skill("show", "pr-review-prep")
    assert result.exit_code == 0
    for part in (
        "pr-review-prep 1.2.0",
        "pr_number: integer",
        "risk_flags: array  <- steps.risk-scan.lines",
        "## Usage",
    ):
        assert part in result.output
    missing = skill("show", "nope")
    assert missing.exit_code == 1 and "no skill named 'nope'" in missing.output


def test_lint_names_the_file_and_line_and_fails(make_skill: MakeSkill) -> None:
    make_skill("echo")
    folder = make_skill(
        "typo",
        text="---\nname: typo\ndescription: d\nversion: 1.0.0\nmetadata:\n  openclaw:\n    inputs:\n      - n: int\n---\n",
    )
    result = skill("lint")
    assert result.exit_code == 1
    assert (
        f"{folder / 'SKILL.md'}:8: metadata.openclaw.inputs[0].type: Value error, unknown type 'int'; did you mean 'integer'?"
        in result.output
    )
    assert "ok  echo 1.0.0" in result.output and "ok  pr-review-prep 1.2.0" in result.output
    assert "1 skill(s) with lint problems" in result.output


def test_run_with_inputs_prints_json(home: Path, make_skill: MakeSkill, tmp_path: Path) -> None:
    make_skill("echo")
    note = tmp_path / "note.txt"
    note.write_text("from a file")
    result = skill("run", "echo", "--input", f"text=@{note}", "-i", "n=3", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["outputs"]["shout"] == "FROM A FILE" and body["draft"] is True
    human = skill("run", "echo", "-i", "text=@@home", "-i", "n=3")
    assert human.exit_code == 0 and "@HOME" in human.output and "draft" in human.output


def test_run_reports_input_errors_on_one_line(home: Path, make_skill: MakeSkill) -> None:
    make_skill("echo")
    result = skill("run", "echo", "-i", "text=a", "-i", "n=three")
    assert result.exit_code == 1
    assert "Error: inputs.n: expected integer, got string 'three'" in result.output
    assert skill("run", "echo", "-i", "oops").exit_code == 1


def test_test_all_shows_a_summary_and_passes(openclaw_home: Path) -> None:
    result = skill("test", "--all")
    assert result.exit_code == 0, result.output
    assert "skill test" in result.output
    for name in ("pr-review-prep", "incident-summary", "changelog-draft"):
        assert name in result.output
    assert "passed" in result.output


def test_test_fails_on_a_changed_step_output(make_skill: MakeSkill, openclaw_home: Path) -> None:
    folder = make_skill("echo")
    (folder / "test" / "fixtures").mkdir(parents=True)
    (folder / "test" / "fixtures" / "hello.json").write_text('{"inputs": {"text": "hello"}}')
    missing = skill("test", "echo")
    assert missing.exit_code == 1
    assert "no test/expected/hello/upper.out (run with --update to record it)" in missing.output
    recorded = skill("test", "echo", "--update")
    assert recorded.exit_code == 0 and "recorded test/expected/hello/upper.out" in recorded.output
    assert (folder / "test" / "expected" / "hello" / "upper.out").read_text() == "HELLO\n"
    (folder / "test" / "expected" / "hello" / "upper.out").write_text("HI\n")
    changed = skill("test", "echo")
    assert changed.exit_code == 1
    assert "-HI" in changed.output and "+HELLO" in changed.output
    summary = skill("test", "--all")
    assert summary.exit_code == 1 and "1 skill(s) failed: echo" in summary.output


def test_test_skips_an_ineligible_skill(make_skill: MakeSkill) -> None:
    from skillkit import ECHO_META

    make_skill("needs-tool", {**ECHO_META, "requires": {"bins": ["bash", "openclaw-no-such-tool"]}})
    result = skill("test", "needs-tool", "--json")
    (report,) = json.loads(result.output)
    assert result.exit_code == 0 and report["status"] == "skipped"
    assert "openclaw-no-such-tool" in report["skipped"]


@pytest.mark.parametrize("args", [(), ("x", "--all")])
def test_test_needs_a_name_or_all(args: tuple[str, ...]) -> None:
    result = skill("test", *args)
    assert result.exit_code == 2 and "give a skill NAME or --all" in result.output
