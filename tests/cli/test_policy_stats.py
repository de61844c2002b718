"""``openclaw policy stats``: what made the PII policy fire, masked unless asked on a terminal.

A real gateway with the PII policy in shadow mode writes the audit log; the CLI reads it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner

from harness import MOCK_MODELS, serve_gateway
from openclaw.cli import main

SHADOW = """\
pii: {spacy_model: none}
policies:
  - name: sensitive_data_local
    rule: if_context_contains_pii_use_sensitive_model
    enforce: false
    params: {record_values: RECORD}
"""


async def run_requests(home: Path, record: bool) -> None:
    gw = await serve_gateway(
        home, models=MOCK_MODELS, policies=SHADOW.replace("RECORD", str(record).lower())
    )
    try:
        client = openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)
        for text in (
            "Mail jane.doe@example.com the notes.",
            "Ask jane.doe@example.com again.",
            "Did JANE.DOE@example.com answer?",
            "Copy bob@example.com in.",
            "Summarise the release notes.",
        ):
            await client.chat.completions.create(
                model="general", messages=[{"role": "user", "content": text}]
            )
    finally:
        await gw.close()


async def test_stats_counts_values_masked_and_keeps_them_out_of_the_log(
    openclaw_home: Path,
) -> None:
    await run_requests(openclaw_home, record=False)
    log = (openclaw_home / "audit.log").read_text()
    assert "jane.doe" not in log.lower() and "bob@" not in log
    rec = json.loads(log.splitlines()[0])
    [sighting] = rec["pii_entities"]
    assert sighting["masked"] == "j***" and sighting["type"] == "EMAIL_ADDRESS"
    assert len(sighting["digest"]) == 16
    assert stat.S_IMODE(os.stat(openclaw_home / "pii.key").st_mode) == 0o600
    assert not (openclaw_home / "pii-values.jsonl").exists()

    r = CliRunner().invoke(main, ["policy", "stats", "--json"])
    assert r.exit_code == 0, r.output
    [policy] = json.loads(r.output)["policies"]
    assert policy["outcomes"] == {"would_apply": 4, "pass": 1}
    top = policy["top_values"]
    # Case does not split a value: three requests named the same address.
    assert [(v["masked"], v["requests"]) for v in top] == [("j***", 3), ("b***", 1)]

    human = CliRunner().invoke(main, ["policy", "stats"])
    assert human.exit_code == 0, human.output
    assert "sensitive_data_local" in human.output and "j***" in human.output
    assert "jane" not in human.output


def test_show_values_refuses_a_pipe(openclaw_home: Path) -> None:
    r = CliRunner().invoke(main, ["policy", "stats", "--show-values"])
    assert r.exit_code == 2
    assert "only to a terminal" in r.output


async def test_show_values_on_a_terminal_reads_the_value_book(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_requests(openclaw_home, record=True)
    book = openclaw_home / "pii-values.jsonl"
    assert stat.S_IMODE(os.stat(book).st_mode) == 0o600
    assert len(book.read_text().splitlines()) == 2  # one line per distinct value
    monkeypatch.setattr("openclaw.cli.policy._is_terminal", lambda: True)
    r = CliRunner().invoke(main, ["policy", "stats", "--show-values"])
    assert r.exit_code == 0, r.output
    assert "jane.doe@example.com" in r.output and "bob@example.com" in r.output


async def test_show_values_without_a_book_says_how_to_get_one(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_requests(openclaw_home, record=False)
    monkeypatch.setattr("openclaw.cli.policy._is_terminal", lambda: True)
    r = CliRunner().invoke(main, ["policy", "stats", "--show-values"])
    assert r.exit_code == 0, r.output
    assert "record_values: true" in r.output and "j***" in r.output


def test_help_names_the_knobs() -> None:
    r = CliRunner().invoke(main, ["policy", "stats", "--help"])
    assert r.exit_code == 0
    assert "--show-values" in r.output and "allow_names" in r.output
