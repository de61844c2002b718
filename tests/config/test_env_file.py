"""``$OPENCLAW_HOME/gateway.env``: provider keys for a daemon that a service manager starts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from openclaw.cli import main
from openclaw.config.envfile import load_env_file
from openclaw.errors import ConfigError


def test_the_daemon_sets_variables_the_environment_lacks_and_keeps_the_rest(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = openclaw_home / "gateway.env"
    env.write_text(
        "# keys for the gateway\n"
        "OPENAI_API_KEY=sk-from-file\n"
        "export ANTHROPIC_API_KEY='sk-ant-quoted'\n"
        'OPENCLAW_TEST_ALREADY="from-file"\n'
        "\n"
        "not a line\n"
    )
    env.chmod(0o600)
    monkeypatch.setenv("OPENCLAW_TEST_ALREADY", "from-env")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    try:
        names = load_env_file(openclaw_home)
        assert names == ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]
        assert os.environ["OPENAI_API_KEY"] == "sk-from-file"
        assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-quoted"
        assert os.environ["OPENCLAW_TEST_ALREADY"] == "from-env"
    finally:
        for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            os.environ.pop(name, None)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_other_users_can_read_is_refused_without_reading_it(
    openclaw_home: Path, mode: int
) -> None:
    env = openclaw_home / "gateway.env"
    env.write_text("OPENCLAW_TEST_SECRET=s3cret-value\n")
    env.chmod(mode)
    with pytest.raises(ConfigError) as err:
        load_env_file(openclaw_home)
    assert "OPENCLAW_TEST_SECRET" not in os.environ
    msg = err.value.message
    assert msg.startswith(f"{env}: mode {mode:04o} lets other users read the keys")
    assert f"chmod 600 {env}" in msg and "openclaw doctor --fix" in msg
    assert "s3cret-value" not in msg


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_doctor_fix_makes_a_readable_env_file_private_and_the_daemon_then_reads_it(
    openclaw_home: Path,
) -> None:
    env = openclaw_home / "gateway.env"
    env.write_text("OPENCLAW_TEST_SECRET=s3cret-value\n")
    env.chmod(0o644)
    runner = CliRunner()
    before = runner.invoke(main, ["doctor", "--json"])
    found = [f for f in _findings(before.output) if f["check"] == "env-mode"]
    assert found and found[0]["severity"] == "error" and found[0]["fixable"]
    assert "s3cret-value" not in before.output

    runner.invoke(main, ["doctor", "--fix"])
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    try:
        assert load_env_file(openclaw_home) == ["OPENCLAW_TEST_SECRET"]
    finally:
        os.environ.pop("OPENCLAW_TEST_SECRET", None)


def test_no_file_sets_nothing(openclaw_home: Path) -> None:
    assert load_env_file(openclaw_home) == []


def _findings(output: str) -> list[dict[str, object]]:
    import json

    data = json.loads(output)
    return list(data["findings"] if isinstance(data, dict) else data)
