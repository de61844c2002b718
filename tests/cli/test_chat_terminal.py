"""``openclaw chat`` in a pseudo-terminal and ``openclaw ask`` through a pipe, against a daemon.

The daemon is a real ``openclaw gateway run`` subprocess on a free port with the mock
provider and the seed's policies and channels; the CLI runs as a user would start it.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

MODELS = """\
models:
  general:
    provider: mock
    model: mock-general
    use_for: [summarization, drafting, general_queries]
  sensitive:
    provider: mock
    model: mock-local
    use_for: [customer_data, financial_records, internal_docs]
default: general
"""
POLICIES = """\
policies:
  - name: no_autonomous_actions
    rule: all_outputs_are_drafts
    enforce: true
  - name: sensitive_data_local
    rule: if_context_contains_pii_use_sensitive_model
    enforce: true
  - name: audit_everything
    rule: log_all_requests_and_responses
    enforce: true
pii:
  spacy_model: none
"""
CHANNELS = """\
channels:
  - type: cli
    name: developer_terminal
  - type: slack
    name: team_notifications
    workspace: your-workspace
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    home: Path
    env: dict[str, str]

    def audit(self) -> list[dict[str, Any]]:
        lines = (self.home / "audit.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("chat-home")
    (home / "models.yaml").write_text(MODELS)
    (home / "policies.yaml").write_text(POLICIES)
    (home / "channels.yaml").write_text(CHANNELS)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "ANTHROPIC_", "OPENCLAW_"))
        and "PROXY" not in k.upper()
    }
    port = free_port()
    env.update(OPENCLAW_HOME=str(home), OPENCLAW_PORT=str(port), COLUMNS="200", NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the gateway exited during start-up"
            assert time.monotonic() < deadline, "the gateway did not become healthy"
            time.sleep(0.1)
        yield Daemon(home, env)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def oc(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openclaw", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Terminal:
    """A child process on a pseudo-terminal; ``expect`` reads until a text shows up."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execvpe(argv[0], argv, env)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in ANSI.sub("", self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; screen so far:\n{ANSI.sub('', self.seen)}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        return ANSI.sub("", self.seen)

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.seen += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the chat did not exit")


def test_chat_in_a_terminal_streams_marks_drafts_and_shows_reroutes(daemon: Daemon) -> None:
    before = len(daemon.audit()) if (daemon.home / "audit.log").exists() else 0
    term = Terminal([sys.executable, "-m", "openclaw", "chat"], {**daemon.env, "TERM": "xterm"})
    term.expect("you>")
    assert "channel developer_terminal" in term.seen

    term.type("explain **drafts** briefly")
    screen = term.expect("draft: review before acting")
    assert "mock-general received: explain drafts briefly" in screen  # Markdown rendered
    assert "model general (mock/mock-general)" in screen
    term.expect("you>", timeout=10)

    term.type("write to jane.doe@example.com about the refund")
    screen = term.expect("because personal data was found (EMAIL_ADDRESS)")
    assert "policy sensitive_data_local rerouted general -> sensitive" in screen
    assert "model sensitive (mock/mock-local)" in screen

    term.type("/exit")
    assert term.wait() == 0

    records = daemon.audit()[before:]
    assert [r["channel"] for r in records] == ["developer_terminal", "developer_terminal"]
    assert all(r["service"] == "cli:developer_terminal" and r["stream"] for r in records)
    assert [r["model"] for r in records] == ["general", "sensitive"]
    # the second turn carried the first as history
    assert records[1]["prompt_tokens"] > records[0]["prompt_tokens"]


def test_ask_reads_piped_stdin_and_keeps_stdout_clean(daemon: Daemon) -> None:
    before = len(daemon.audit()) if (daemon.home / "audit.log").exists() else 0
    r = subprocess.run(
        f"echo hi | {sys.executable} -m openclaw ask 'review this'",
        shell=True,
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[mock] mock-general received: review this  hi"
    assert "draft: review before acting · model general (mock/mock-general)" in r.stderr
    (rec,) = daemon.audit()[before:]
    assert rec["channel"] == "developer_terminal" and rec["status"] == 200


def test_ask_with_a_task_and_no_question_at_all(daemon: Daemon) -> None:
    r = oc("ask", "--task", "customer_data", "look up the account", env=daemon.env)
    assert r.returncode == 0 and "mock-local received: look up the account" in r.stdout
    assert daemon.audit()[-1]["task"] == "customer_data"
    r = oc("ask", env=daemon.env, stdin="")
    assert r.returncode == 2 and "give a question" in r.stderr


def test_a_gateway_error_is_one_line(daemon: Daemon) -> None:
    r = oc("ask", "--model", "no-such-alias", "hello", env=daemon.env)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "model 'no-such-alias' is not configured" in r.stderr


def test_without_a_daemon_both_commands_say_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(OPENCLAW_HOME=str(tmp_path), OPENCLAW_PORT=str(free_port()))
    for args in (["ask", "hello"], ["chat"]):
        r = oc(*args, env=env, stdin="")
        assert r.returncode == 1
        line = r.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "OpenClaw gateway is not running" in line and "openclaw gateway start" in line


def test_channels_status_and_list_show_state_and_last_error(daemon: Daemon) -> None:
    r = oc("channels", "status", "--json", env=daemon.env)
    assert r.returncode == 2  # the seed's Slack channel has no tokens here
    by_name = {c["name"]: c for c in json.loads(r.stdout)["channels"]}
    assert by_name["developer_terminal"]["state"] == "running"
    slack = by_name["team_notifications"]
    assert slack["state"] == "error"
    assert "needs bot_token ${SLACK_BOT_TOKEN} (unset)" in slack["last_error"]

    human = oc("channels", "status", env=daemon.env)
    assert "team_notifications" in human.stdout and "error" in human.stdout
    assert "SLACK_BOT_TOKEN" in human.stdout

    listed = json.loads(oc("channels", "list", "--json", env=daemon.env).stdout)
    assert [(c["name"], c["type"], c["state"]) for c in listed] == [
        ("developer_terminal", "cli", "running"),
        ("team_notifications", "slack", "error"),
    ]


def test_channels_commands_without_a_daemon(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(MODELS)
    (tmp_path / "channels.yaml").write_text(CHANNELS)
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(OPENCLAW_HOME=str(tmp_path), OPENCLAW_PORT=str(free_port()), COLUMNS="200")
    r = oc("channels", "status", env=env)
    assert r.returncode == 1 and "not running" in r.stderr
    r = oc("channels", "list", "--json", env=env)
    assert r.returncode == 0
    assert {c["state"] for c in json.loads(r.stdout)} == {"not running"}
