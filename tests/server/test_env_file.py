"""``$OPENCLAW_HOME/gateway.env``: provider keys for a daemon that a service manager starts."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from openclaw.daemon import load_env_file


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


def test_a_readable_file_is_warned_about_without_its_values(
    openclaw_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = openclaw_home / "gateway.env"
    env.write_text("OPENCLAW_TEST_SECRET=s3cret-value\n")
    env.chmod(0o644)
    caplog.set_level(logging.INFO, logger="openclaw")
    try:
        assert load_env_file(openclaw_home) == ["OPENCLAW_TEST_SECRET"]
    finally:
        os.environ.pop("OPENCLAW_TEST_SECRET", None)
    assert "chmod 600" in caplog.text
    assert "s3cret-value" not in caplog.text


def test_no_file_sets_nothing(openclaw_home: Path) -> None:
    assert load_env_file(openclaw_home) == []
