"""``openclaw models prices``: the effective price of every deployment and its source."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from openclaw.cli import main
from openclaw.routing.pricing import SOURCE_PACKAGE

MODELS = """\
providers:
  corp: {type: openai_compatible, base_url: "https://llm.corp.example/v1"}
models:
  general:
    provider: anthropic
    model: claude-sonnet-4-20250514
  sensitive:
    provider: ollama
    model: "llama4:8b"
  fast:
    deployments:
      - {provider: openai, model: gpt-4o-mini}
      - {provider: corp, model: corp-llm}
      - {provider: openai, model: gpt-4o, cost_per_million_input_tokens: 2, cost_per_million_output_tokens: 8}
"""


def test_prices_json_gives_each_alias_and_deployment_with_its_source(openclaw_home: Path) -> None:
    (openclaw_home / "models.yaml").write_text(MODELS)
    r = CliRunner().invoke(main, ["models", "prices", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["package"] == SOURCE_PACKAGE
    rows = {(p["alias"], p["model"]): p for p in doc["prices"]}
    assert list(rows) == [
        ("general", "claude-sonnet-4-20250514"),
        ("sensitive", "llama4:8b"),
        ("fast", "gpt-4o-mini"),
        ("fast", "corp-llm"),
        ("fast", "gpt-4o"),
    ]
    general = rows["general", "claude-sonnet-4-20250514"]
    assert general["source"] == SOURCE_PACKAGE
    assert (general["input"]["usd_per_million"], general["output"]["usd_per_million"]) == (3, 15)
    assert rows["sensitive", "llama4:8b"]["source"] == "local"
    unknown = rows["fast", "corp-llm"]
    assert (unknown["source"], unknown["input"], unknown["output"]) == ("unknown", None, None)
    mine = rows["fast", "gpt-4o"]
    assert mine["source"] == "config" and mine["input"]["usd_per_million"] == 2


def test_prices_table_shows_sources_and_says_what_to_do_about_unknown(
    openclaw_home: Path,
) -> None:
    (openclaw_home / "models.yaml").write_text(MODELS)
    r = CliRunner().invoke(main, ["models", "prices"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert SOURCE_PACKAGE in r.stdout and "unknown" in r.stdout and "local" in r.stdout
    assert "1 deployment(s) without a known price" in r.stderr
