"""``skill install`` from a folder, an archive or a git URL, and ``skill remove``: what the
user is shown before anything is copied, and that nothing of the skill runs meanwhile."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from openclaw.cli import main
from openclaw.skills.discovery import discover

UPSTREAM = Path(__file__).parent / "data" / "upstream"


def skills(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["skills", *args], input=input)


def with_trap(tmp_path: Path) -> Path:
    """A copy of meeting-notes whose script would leave a mark if anything ran it."""
    src = tmp_path / "src" / "meeting-notes"
    shutil.copytree(UPSTREAM / "team" / "writing" / "meeting-notes", src)
    mark = tmp_path / "ran"
    (src / "scripts" / "format.sh").write_text(f"#!/bin/sh\ntouch {mark}\n")
    return src


def test_install_shows_what_the_skill_wants_then_asks(openclaw_home: Path, tmp_path: Path) -> None:
    src = with_trap(tmp_path)
    declined = skills("install", str(src), input="n\n")
    assert declined.exit_code == 1  # click's Abort
    out = declined.output
    assert "lint: ok" in out and "can run here: yes" in out
    assert "binaries: one of: sh, dash" in out
    assert "environment variables: NOTES_API_KEY (optional)" in out
    assert "network: no (nothing of the skill runs" in out
    assert "other executable files: scripts/format.sh" in out
    assert "suggested install (not run): brew notes-cli (provides notes)" in out
    assert "Install 'meeting-notes' into" in out
    assert not (openclaw_home / "skills" / "meeting-notes").exists()
    accepted = skills("install", str(src), input="y\n")
    assert accepted.exit_code == 0, accepted.output
    installed = openclaw_home / "skills" / "meeting-notes"
    assert (installed / "SKILL.md").read_bytes() == (src / "SKILL.md").read_bytes()
    assert (installed / "scripts" / "format.sh").stat().st_mode & 0o111
    assert discover(openclaw_home)["meeting-notes"].source == "home"
    assert not (tmp_path / "ran").exists()


def test_install_from_archives_and_refuses_a_second_copy(
    openclaw_home: Path, tmp_path: Path
) -> None:
    zpath = tmp_path / "tone.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(UPSTREAM / "tone-check" / "SKILL.md", "tone-check/SKILL.md")
    assert skills("install", str(zpath), "--yes").exit_code == 0
    again = skills("install", str(zpath), "--yes")
    assert again.exit_code == 1 and "already installed; --force replaces it" in again.output
    assert skills("install", str(zpath), "--yes", "--force").exit_code == 0
    tpath = tmp_path / "all.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        tf.add(UPSTREAM, arcname="upstream")
    several = skills("install", str(tpath), "--yes")
    assert several.exit_code == 1 and "choose one with --name" in several.output
    one = skills("install", str(tpath), "--yes", "--name", "legacy-jira")
    assert one.exit_code == 0, one.output
    assert (openclaw_home / "skills" / "legacy-jira" / "SKILL.md").is_file()


@pytest.mark.parametrize("member", ["../escape/SKILL.md", "/abs/SKILL.md"])
def test_install_refuses_an_archive_that_leaves_its_folder(
    openclaw_home: Path, tmp_path: Path, member: str
) -> None:
    tpath = tmp_path / "evil.tar"
    data = (UPSTREAM / "tone-check" / "SKILL.md").read_bytes()
    with tarfile.open(tpath, "w") as tf:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    result = skills("install", str(tpath), "--yes")
    assert result.exit_code == 1 and "leaves the archive" in result.output
    assert not (tmp_path / "escape").exists()


def test_install_from_a_git_url(openclaw_home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(UPSTREAM / "legacy-jira", repo / "skills" / "legacy-jira")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "skills"], check=True)
    result = skills("install", f"file://{repo}", "--yes")
    assert result.exit_code == 0, result.output
    assert "environment variables: JIRA_SITE" in result.output
    assert "can run here: no: missing environment variable JIRA_SITE" in result.output
    assert not (openclaw_home / "skills" / "legacy-jira" / ".git").exists()


def test_install_refuses_a_skill_that_does_not_lint(openclaw_home: Path, tmp_path: Path) -> None:
    src = tmp_path / "bad"
    src.mkdir()
    (src / "SKILL.md").write_text("---\nname: Bad Name\ndescription: d\n---\nx\n")
    result = skills("install", str(src), "--yes")
    assert result.exit_code == 1 and "not a valid skill name" in result.output
    assert not (openclaw_home / "skills").exists()


def test_remove_deletes_an_installed_skill_and_refuses_a_shipped_one(
    openclaw_home: Path, tmp_path: Path
) -> None:
    assert skills("install", str(UPSTREAM / "tone-check"), "--yes").exit_code == 0
    removed = skills("remove", "tone-check", "--yes")
    assert removed.exit_code == 0, removed.output
    assert not (openclaw_home / "skills" / "tone-check").exists()
    shipped = skills("remove", "pr-review-prep", "--yes")
    assert shipped.exit_code == 1 and "comes from builtin" in shipped.output
    assert "pr-review-prep" in discover(openclaw_home)
    unknown = skills("remove", "../..", "--yes")
    assert unknown.exit_code == 1 and "not a valid skill name" in unknown.output
