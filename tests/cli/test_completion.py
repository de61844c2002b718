"""``openclaw completion bash|zsh|fish`` prints click's completion script for openclaw."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from openclaw.cli import main


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _openclaw_completion openclaw"),
        ("zsh", "#compdef openclaw"),
        ("fish", "complete --no-files --command openclaw"),
    ],
)
def test_completion_prints_the_script_for_each_shell(shell: str, marker: str) -> None:
    r = CliRunner().invoke(main, ["completion", shell])
    assert r.exit_code == 0, r.output
    assert marker in r.output
    assert "_OPENCLAW_COMPLETE" in r.output


def test_completion_refuses_an_unknown_shell() -> None:
    r = CliRunner().invoke(main, ["completion", "tcsh"])
    assert r.exit_code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in r.output


def test_the_script_completes_real_subcommands() -> None:
    # What the bash script asks the program for when the user types 'openclaw models <TAB>'.
    env = {
        **os.environ,
        "_OPENCLAW_COMPLETE": "bash_complete",
        "COMP_WORDS": "openclaw models ",
        "COMP_CWORD": "2",
    }
    r = CliRunner().invoke(main, [], env=env, prog_name="openclaw")
    assert "plain,list" in r.output.splitlines()
    assert "plain,prices" in r.output.splitlines()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_accepts_the_script() -> None:
    script = CliRunner().invoke(main, ["completion", "bash"]).output
    r = subprocess.run(
        ["bash", "-c", script + "\ncomplete -p openclaw"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert "_openclaw_completion" in r.stdout
