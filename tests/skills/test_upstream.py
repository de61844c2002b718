"""Skills written in the upstream OpenClaw format load, list, gate and run as written.

The fixtures in ``data/upstream/`` are written for these tests in that format: one-line and
multi-line JSON ``metadata`` (trailing commas included), JSON5 text in a YAML string, the
``clawdbot`` alias, nested folders, instruction-only bodies, ``install`` specs, ``os`` gating,
no ``version``. The model is a fake OpenAI upstream on loopback, so each test can see exactly
what reached it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from skillkit import POLICIES

from fakes import OpenAIUpstream
from openclaw.assembly import Shared, build_gateway
from openclaw.audit import AuditLog
from openclaw.cli import main
from openclaw.config import load_config
from openclaw.skills.discovery import discover, find_skill
from openclaw.skills.errors import SkillInputError
from openclaw.skills.runner import SkillRunner

UPSTREAM = Path(__file__).parent / "data" / "upstream"


def fake_models(fake: OpenAIUpstream) -> str:
    return f"""\
providers:
  fake: {{type: openai_compatible, base_url: "{fake.url}"}}
models:
  general: {{provider: fake, model: gpt-fake, use_for: [summarization]}}
  sensitive: {{provider: mock, model: mock-local, use_for: [customer_data]}}
default: general
"""


@pytest.fixture
def upstream_home(openclaw_home: Path) -> Path:
    shutil.copytree(UPSTREAM, openclaw_home / "skills")
    return openclaw_home


def test_every_upstream_skill_lists_as_valid_with_its_front_matter_name(
    upstream_home: Path,
) -> None:
    skills = discover(upstream_home)
    mine = {n: s for n, s in skills.items() if s.source == "home"}
    assert set(mine) == {
        "tone-check",
        "meeting-notes",
        "legacy-jira",
        "mac-dictation",
        "json5-text",
    }
    for skill in mine.values():
        assert skill.valid, skill.problems
        assert skill.instruction_only
    assert mine["meeting-notes"].path == upstream_home / "skills/team/writing/meeting-notes"
    assert mine["meeting-notes"].version == "0.3.1" and mine["tone-check"].version is None
    assert "buried" not in skills  # six folders down: deeper than discovery looks


def test_unknown_metadata_keys_are_notes_and_typos_of_ours_are_errors(
    upstream_home: Path, openclaw_home: Path
) -> None:
    tone = discover(upstream_home)["tone-check"]
    assert any(
        "metadata.openclaw.capabilities: not used here, ignored" in n for n in tone.plan.notes
    )
    lint = CliRunner().invoke(main, ["skill", "lint", "tone-check"])
    assert lint.exit_code == 0, lint.output
    assert "note: metadata.openclaw.capabilities" in lint.output
    typo = openclaw_home / "skills" / "typo"
    typo.mkdir()
    (typo / "SKILL.md").write_text(
        "---\nname: typo\ndescription: d\nmetadata: {openclaw: {requries: {bins: [sh]}}}\n---\nx\n"
    )
    (problem,) = discover(openclaw_home)["typo"].problems
    assert problem.endswith(":4: metadata.openclaw.requries: unknown key; did you mean 'requires'?")


def test_clawdbot_alias_json5_text_and_trailing_commas_are_read(
    upstream_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skills = discover(upstream_home)
    legacy = skills["legacy-jira"]
    assert legacy.front is not None and legacy.front.metadata.key == "clawdbot"
    assert legacy.meta.requires.env == ["JIRA_SITE"]
    assert legacy.reasons == ["missing environment variable JIRA_SITE"]
    monkeypatch.setenv("JIRA_SITE", "acme.atlassian.invalid")
    assert discover(upstream_home)["legacy-jira"].eligible
    assert skills["json5-text"].meta.requires.bins == ["sh"]
    assert skills["json5-text"].meta.emoji == "🧪"
    notes = skills["meeting-notes"].meta
    assert notes.requires.anyBins == ["sh", "dash"] and notes.requires.config == ["notes.enabled"]


def test_os_gating_and_install_specs_show_in_skill_show(upstream_home: Path) -> None:
    mac = discover(upstream_home)["mac-dictation"]
    assert mac.reasons[0] == "runs on darwin, not linux"
    shown = mac.describe(detail=True, public=True)
    assert shown["install"] == ["brew say-helper (provides say)"]
    notes = discover(upstream_home)["meeting-notes"].describe(detail=True, public=True)
    assert notes["install"] == [
        "brew notes-cli (provides notes)",
        "node @example/notes-cli (provides notes)",
    ]
    assert notes["primary_env"] == "NOTES_API_KEY"
    assert notes["path"] == "home:team/writing/meeting-notes"
    assert notes["inputs"] == [
        {"name": "input", "type": "string", "required": True, "description": "the user's request"}
    ]
    out = CliRunner().invoke(main, ["skill", "info", "meeting-notes"])
    assert out.exit_code == 0, out.output
    assert "install (not run by OpenClaw)" in out.output
    assert "node @example/notes-cli (provides notes)" in out.output
    assert "primary env: NOTES_API_KEY" in out.output


async def test_an_instruction_only_skill_runs_with_its_body_as_the_system_prompt(
    upstream_home: Path, openai_upstream: OpenAIUpstream, tmp_path: Path
) -> None:
    (upstream_home / "models.yaml").write_text(fake_models(openai_upstream))
    (upstream_home / "policies.yaml").write_text(POLICIES)
    openai_upstream.enqueue(text="Can we move the deadline to Friday?")
    gw = build_gateway(load_config(upstream_home), Shared(audit=AuditLog(tmp_path / "audit.log")))
    try:
        skill = find_skill(upstream_home, "tone-check")
        result = await SkillRunner(gw).run(skill, {"input": "MOVE THE DEADLINE. NOW."})
    finally:
        await gw.aclose()
        gw.audit.close()
    sent = openai_upstream.last.json["messages"]
    assert sent[0]["role"] == "system"
    assert sent[0]["content"].startswith("# Tone check\n\nWhen the user gives you a message")
    assert sent[1] == {"role": "user", "content": "MOVE THE DEADLINE. NOW."}
    assert result.draft is True
    assert "Can we move the deadline to Friday?" in result.outputs["answer"]
    (line,) = (tmp_path / "audit.log").read_text().splitlines()
    record = json.loads(line)
    assert record["skill"]["name"] == "tone-check" and record["skill"]["version"] is None


async def test_an_instruction_only_skill_needs_its_input(upstream_home: Path) -> None:
    skill = find_skill(upstream_home, "tone-check")
    with pytest.raises(SkillInputError, match=r"inputs\.input: required string is missing"):
        await SkillRunner(None).run(skill, {})
