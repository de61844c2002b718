"""``openclaw policy list`` and ``policy check``: the dry run a developer reaches for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import MOCK_MODELS, SEED_POLICIES
from openclaw.cli import main


@pytest.fixture
def seeded(openclaw_home: Path) -> Path:
    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    (openclaw_home / "policies.yaml").write_text(SEED_POLICIES)
    return openclaw_home


def test_policy_list_in_order_with_mode(seeded: Path) -> None:
    (seeded / "policies.yaml").write_text(
        SEED_POLICIES.replace("enforce: true\n  - name: audit", "enforce: false\n  - name: audit")
    )
    r = CliRunner().invoke(main, ["policy", "list", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [(x["name"], x["mode"]) for x in rows] == [
        ("no_autonomous_actions", "enforce"),
        ("sensitive_data_local", "shadow"),
        ("audit_everything", "enforce"),
    ]
    human = CliRunner().invoke(main, ["policy", "list"])
    assert "sensitive_data_local" in human.output and "shadow" in human.output


def test_policy_check_reports_entities_positions_and_model(seeded: Path) -> None:
    text = "Refund 4111 1111 1111 1111 to jane@example.com"
    r = CliRunner().invoke(main, ["policy", "check", text, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    types = {e["type"]: e for e in out["entities"]}
    assert {"CREDIT_CARD", "EMAIL_ADDRESS"} <= set(types)
    card = types["CREDIT_CARD"]
    assert text[card["start"] : card["end"]] == "4111 1111 1111 1111" and card["score"] > 0
    assert out["model"] == "sensitive" and out["requested_model"] == "general"
    assert out["local_only"] is True and out["draft"] is True
    fired = {d["policy"]: d["outcome"] for d in out["policies"]}
    assert fired["sensitive_data_local"] == "applied"
    assert (
        not (seeded / "audit.log").exists() or (seeded / "audit.log").read_text() == ""
    )  # dry run


def test_policy_check_clean_text_stays_on_requested_model(seeded: Path) -> None:
    r = CliRunner().invoke(main, ["policy", "check", "Summarise the sprint", "--task", "drafting"])
    assert r.exit_code == 0, r.output
    assert "entities found: none" in r.output
    assert "would be served by: general" in r.output


def test_policy_check_shows_refusal(seeded: Path) -> None:
    (seeded / "policies.yaml").write_text(
        "policies:\n  - name: nope\n    rule: deny\n    params: {if_contains: [secret]}\n"
    )
    r = CliRunner().invoke(main, ["policy", "check", "the secret plan"])
    assert r.exit_code == 0
    assert "refused" in r.output and "policy_violation" in r.output
