"""``openclaw skill run`` beside a running daemon: the daemon writes the record, one chain."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harness import serve_gateway
from openclaw.cli import main
from openclaw.skills.scaffold import create_skill


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


async def test_skill_run_goes_through_the_running_daemon_and_the_chain_verifies(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_skill("word-stats", openclaw_home / "skills")
    gw = await serve_gateway(openclaw_home)
    monkeypatch.setenv("OPENCLAW_PORT", str(gw.server.port))
    daemon_log = gw.state.gateway.audit
    try:
        ran = await asyncio.to_thread(
            invoke, "skill", "run", "word-stats", "-i", "text=alpha beta gamma", "--json"
        )
        assert ran.exit_code == 0, ran.output
        body = json.loads(ran.output)
        assert body["outputs"]["word_count"] == 3 and body["request_id"].startswith("req_")
        bad = await asyncio.to_thread(invoke, "skill", "run", "word-stats", "-i", "nope=1")
        assert bad.exit_code == 1 and "inputs.nope: unknown input" in bad.output
    finally:
        await gw.close()
    # The daemon's own writer wrote the skill's record: its head is the log's head.
    records = gw.audit()
    (rec,) = [r for r in records if (r.get("skill") or {}).get("name") == "word-stats"]
    assert rec["service"] == "skills" and rec["request_id"] == body["request_id"]
    assert daemon_log.last_hash == records[-1]["hash"] and daemon_log.last_seq == len(records)
    verified = invoke("audit", "verify", "--anchor")
    assert verified.exit_code == 0 and f"OK {len(records)} records" in verified.output


def test_without_a_daemon_skill_run_writes_under_the_file_lock_and_continues_the_chain(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness import MOCK_MODELS

    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    create_skill("word-stats", openclaw_home / "skills")
    monkeypatch.setenv("OPENCLAW_PORT", "9")  # nothing listens on the discard port
    for text in ("one two", "three four five"):
        ran = invoke("skill", "run", "word-stats", "-i", f"text={text}", "--json")
        assert ran.exit_code == 0, ran.output
    verified = invoke("audit", "verify", "--anchor")
    assert verified.exit_code == 0 and "OK 2 records" in verified.output
