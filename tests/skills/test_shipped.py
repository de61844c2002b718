"""The shipped skills: one copy (the repository's ``skills/``), clean, tested without ``gh``
or the network, and present in a non-editable build of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openclaw.assembly import Shared, build_gateway
from openclaw.audit import AuditLog
from openclaw.cli import main
from openclaw.skills.discovery import builtin_dir, discover, find_skill
from openclaw.skills.errors import SkillStepFailed
from openclaw.skills.runner import SkillRunner
from openclaw.skills.testing import mock_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("changelog-draft", "incident-summary", "pr-review-prep")


def test_the_repository_skills_folder_is_the_only_copy() -> None:
    # An editable install reads skills/ where it is; setup.py maps it into wheels.
    assert builtin_dir() == REPO / "skills"
    assert sorted(p.name for p in (REPO / "skills").iterdir() if p.is_dir()) == list(SHIPPED)
    assert not (REPO / "src" / "openclaw" / "skills" / "builtin").exists()


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_skill_lints_clean_and_can_run_here(openclaw_home: Path, name: str) -> None:
    skill = discover(openclaw_home)[name]
    assert skill.problems == [] and skill.reasons == []
    assert skill.source == "builtin"


def poisoned_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A PATH directory whose gh and git record that they ran and fail."""
    bindir, marker = tmp_path / "poisoned-bin", tmp_path / "called"
    bindir.mkdir()
    for tool in ("gh", "git"):
        script = bindir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{marker}"\nexit 97\n')
        script.chmod(0o755)
    return bindir, marker


def test_pr_review_prep_tests_need_neither_gh_nor_git(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir, marker = poisoned_bin(tmp_path)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(main, ["skill", "test", "pr-review-prep"])
    assert result.exit_code == 0, result.output
    assert "pr-review-prep: all fixtures passed" in result.output
    assert not marker.exists(), marker.read_text()


async def test_pr_review_prep_reads_the_pr_from_gh_when_no_files_are_given(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir, calls = tmp_path / "bin", tmp_path / "gh-calls"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(
        f'#!/bin/sh\necho "$*" >> "{calls}"\n'
        "printf '40\\t2\\tdb/migrate/1_add.rb\\n3\\t0\\tconfig/application.yml\\n'\n"
    )
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    # The fake gh records its calls in tmp_path, which a sandboxed step cannot write to.
    (openclaw_home / "skills.yaml").write_text("sandbox: off\n")
    gw = build_gateway(mock_config(openclaw_home), Shared(audit=AuditLog(tmp_path / "audit.log")))
    skill = find_skill(openclaw_home, "pr-review-prep")
    result = await SkillRunner(gw).run(skill, {"pr_number": 7, "repo": "acme/shop"})
    await gw.aclose()
    assert calls.read_text().startswith("pr view 7 --repo acme/shop --json files")
    assert result.outputs["risk_flags"] == [
        "flag:config-change — review environment variable overrides",
        "flag:db-migration — verify rollback plan exists",
        "flag:insufficient-test-coverage — consider adding tests",
    ]
    assert result.steps["collect-changes"].lines == [
        "3\t0\tconfig/application.yml",
        "40\t2\tdb/migrate/1_add.rb",
    ]


async def test_pr_review_prep_says_where_changes_could_come_from(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "only-basics"
    bindir.mkdir()
    for tool in ("bash", "awk", "sort", "cat", "cut", "grep", "tr"):
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bindir))  # no gh, no git
    skill = find_skill(openclaw_home, "pr-review-prep")
    with pytest.raises(SkillStepFailed) as info:
        await SkillRunner(None).run(skill, {"pr_number": 7, "repo": "acme/shop"})
    assert "step 'collect-changes' exited with status 2" in info.value.message
    assert "no changed_files or diff_stat input, and neither gh" in info.value.message


def test_a_non_editable_build_carries_the_shipped_skills(tmp_path: Path) -> None:
    """What ``pip install .`` copies: build_py of a clean copy of the source, then the CLI
    from that build (not the editable tree) finds and passes the shipped skills."""
    # The build backend is a build-time dependency; Python 3.12+ venvs do not include it.
    pytest.importorskip("setuptools", reason="setuptools (the build backend) is not installed")
    src = tmp_path / "project"
    shutil.copytree(
        REPO / "src", src / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    shutil.copytree(REPO / "skills", src / "skills")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    out = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_py",
            "--build-lib",
            str(out),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    for name in SHIPPED:
        assert (out / "openclaw" / "skills" / "builtin" / name / "SKILL.md").is_file()
    assert (
        out / "openclaw" / "skills" / "builtin" / "pr-review-prep" / "test" / "expected"
    ).is_dir()
    env = {**os.environ, "PYTHONPATH": str(out), "OPENCLAW_HOME": str(tmp_path / "home")}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from openclaw.skills.discovery import builtin_dir; print(builtin_dir())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == str(out / "openclaw" / "skills" / "builtin"), probe.stderr
    run = subprocess.run(
        [sys.executable, "-m", "openclaw", "skill", "test", "pr-review-prep"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pr-review-prep: all fixtures passed" in run.stdout
