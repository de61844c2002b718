"""Where skills are found (home, then skills.yaml's extra_dirs, then the package), and which
of them can run here."""

from __future__ import annotations

from pathlib import Path

import pytest
from skillkit import ECHO_META, MakeSkill

from openclaw.errors import ConfigError
from openclaw.skills.discovery import builtin_dir, discover, find_skill, platform_name
from openclaw.skills.errors import SkillNotFound

SHIPPED = {"pr-review-prep", "incident-summary", "changelog-draft"}


def test_the_shipped_skills_are_found_with_nothing_configured(openclaw_home: Path) -> None:
    skills = discover(openclaw_home)
    assert set(skills) >= SHIPPED
    for name in SHIPPED:
        assert skills[name].source == "builtin"
        assert skills[name].path.parent == builtin_dir()


def test_home_beats_extra_dirs_which_beat_the_package(
    openclaw_home: Path, make_skill: MakeSkill, tmp_path: Path
) -> None:
    team, shared = tmp_path / "team-skills", openclaw_home / "shared"
    (openclaw_home / "skills.yaml").write_text(f"extra_dirs:\n  - {team}\n  - shared\n")
    make_skill("pr-review-prep", version="9.0.0")  # home shadows the shipped one
    make_skill("incident-summary", root=team, version="2.0.0")  # extra shadows the shipped one
    make_skill("echo", root=team, version="1.1.0")
    make_skill("echo", root=shared, version="1.2.0")  # the later extra dir loses
    skills = discover(openclaw_home)
    assert (skills["pr-review-prep"].source, skills["pr-review-prep"].version) == ("home", "9.0.0")
    assert skills["pr-review-prep"].shadowed == [builtin_dir() / "pr-review-prep"]
    assert (skills["incident-summary"].source, skills["incident-summary"].version) == (
        "extra",
        "2.0.0",
    )
    assert (skills["echo"].path, skills["echo"].version) == (team / "echo", "1.1.0")
    assert skills["echo"].shadowed == [shared / "echo"]
    assert skills["changelog-draft"].source == "builtin"
    # find_skill follows the same order without reading every skill.
    assert find_skill(openclaw_home, "echo").version == "1.1.0"
    assert find_skill(openclaw_home, "pr-review-prep").source == "home"


def test_skills_yaml_is_checked_like_every_config_file(openclaw_home: Path) -> None:
    (openclaw_home / "skills.yaml").write_text("extra_dir:\n  - x\n")
    with pytest.raises(
        ConfigError, match=r"skills.yaml:1: extra_dir: unknown key; did you mean 'extra_dirs'\?"
    ):
        discover(openclaw_home)


def test_a_missing_binary_makes_a_skill_ineligible(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    make_skill("needs-tool", {**ECHO_META, "requires": {"bins": ["bash", "openclaw-no-such-tool"]}})
    skill = discover(openclaw_home)["needs-tool"]
    assert skill.valid and not skill.eligible and skill.status == "ineligible"
    assert skill.reasons == ["missing binary 'openclaw-no-such-tool' (not on PATH)"]


def test_a_missing_env_variable_makes_a_skill_ineligible(
    openclaw_home: Path, make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_skill("needs-env", {**ECHO_META, "requires": {"bins": ["bash"], "env": ["JIRA_TOKEN"]}})
    monkeypatch.delenv("JIRA_TOKEN", raising=False)
    assert discover(openclaw_home)["needs-env"].reasons == [
        "missing environment variable JIRA_TOKEN"
    ]
    monkeypatch.setenv("JIRA_TOKEN", "t")
    assert discover(openclaw_home)["needs-env"].eligible


def test_any_bins_and_os_gate_like_the_real_openclaw(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    other = "win32" if platform_name() != "win32" else "linux"
    make_skill(
        "gated",
        {
            **ECHO_META,
            "requires": {"bins": ["bash"], "anyBins": ["openclaw-nope-1", "openclaw-nope-2"]},
            "os": [other],
        },
    )
    reasons = discover(openclaw_home)["gated"].reasons
    assert reasons == [
        f"runs on {other}, not {platform_name()}",
        "needs one of: openclaw-nope-1, openclaw-nope-2 (none on PATH)",
    ]


def test_optional_bins_do_not_gate(openclaw_home: Path, make_skill: MakeSkill) -> None:
    make_skill(
        "optional", {**ECHO_META, "requires": {"bins": ["bash"], "optionalBins": ["openclaw-nope"]}}
    )
    assert discover(openclaw_home)["optional"].eligible


def test_an_invalid_skill_is_listed_with_its_problems(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    make_skill("broken", text="---\nname: broken\n---\n")
    skill = discover(openclaw_home)["broken"]
    assert skill.status == "invalid" and not skill.eligible
    assert any("description: required key is missing" in p for p in skill.problems)
    assert skill.describe()["problems"] == skill.problems


def test_an_unknown_skill_is_a_404_naming_the_known_ones(openclaw_home: Path) -> None:
    with pytest.raises(SkillNotFound) as info:
        find_skill(openclaw_home, "nope")
    assert info.value.status == 404
    assert "no skill named 'nope'" in info.value.message and "pr-review-prep" in info.value.message
