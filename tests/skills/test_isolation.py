"""What a skill's steps can reach (issue 16): their own temporary HOME, XDG directories and
working directory; no secret named anywhere in the config or gateway.env; and, inside
bubblewrap where it works, neither the OpenClaw home nor the user's files nor the network
unless the skill declares it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from skillkit import MakeSkill

from openclaw.cli import main
from openclaw.config import load_config
from openclaw.skills.discovery import discover, find_skill
from openclaw.skills.env import Secrets
from openclaw.skills.runner import SkillRunner
from openclaw.skills.sandbox import isolation

BWRAP = isolation()
needs_bwrap = pytest.mark.skipif(not BWRAP.available, reason=f"no sandbox: {BWRAP.why_not}")


def step_meta(run: str = "scripts/probe.sh", **extra: Any) -> dict[str, Any]:
    return {
        "requires": {"bins": ["bash"]},
        "inputs": [{"name": "x", "type": "string", "required": False, "default": ""}],
        "outputs": [{"name": "out", "type": "array", "from": "steps.probe.lines"}],
        "steps": [{"name": "probe", "run": run}],
        **extra,
    }


async def run_probe(home: Path, make_skill: MakeSkill, script: str, **extra: Any) -> list[str]:
    make_skill("probe", step_meta(**extra), scripts={"probe.sh": script})
    skill = find_skill(home, "probe")
    result = await SkillRunner(None, home=home).run(skill, {})
    out: list[str] = result.outputs["out"]
    return out


async def test_steps_get_their_own_home_xdg_dirs_and_working_directory(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    script = 'echo "$HOME"; echo "$XDG_CONFIG_HOME"; echo "$XDG_CACHE_HOME"; pwd\n'
    script += 'test -d "$XDG_CONFIG_HOME" && test -d "$XDG_STATE_HOME" && echo dirs-ok\n'
    home, config, cache, cwd, ok = await run_probe(openclaw_home, make_skill, script)
    assert home != str(Path.home()) and Path(home).name == "home"
    assert config == f"{home}/.config" and cache == f"{home}/.cache"
    assert cwd != home and Path(cwd).name == "work" and ok == "dirs-ok"
    assert not Path(home).exists()  # removed after the run


def test_secrets_named_anywhere_in_the_config_or_gateway_env_are_withheld(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (openclaw_home / "models.yaml").write_text("models:\n  g: {provider: mock, model: m}\n")
    (openclaw_home / "policies.yaml").write_text(
        "services:\n  - {name: billing, token: '${BILLING_SERVICE_TOKEN}'}\n"
        "state: {backend: redis, url: 'redis://127.0.0.1:6379/0', password: '${REDIS_PW}'}\n"
    )
    (openclaw_home / "channels.yaml").write_text("# later: '${SOME_FUTURE_SECRET}'\n")
    (openclaw_home / "gateway.env").write_text("export LOCAL_ONLY_KEY=abc\nOTHER_KEY='x'\n")
    monkeypatch.setenv("BILLING_SERVICE_TOKEN", "billing-token-value")
    monkeypatch.setenv("REDIS_PW", "redis-password-value")
    secrets = Secrets.of(load_config(openclaw_home))
    assert {
        "BILLING_SERVICE_TOKEN",
        "REDIS_PW",
        "SOME_FUTURE_SECRET",
        "LOCAL_ONLY_KEY",
        "OTHER_KEY",
    } <= secrets.names
    assert {"billing-token-value", "redis-password-value"} <= secrets.values
    # A skill declaring one gets nothing, under its own name or another.
    assert not secrets.allows("BILLING_SERVICE_TOKEN", "anything")
    assert not secrets.allows("MY_VAR", "redis-password-value")


def test_lint_flags_scripts_that_read_the_gateway_home(make_skill: MakeSkill) -> None:
    make_skill("snoop", step_meta(), scripts={"probe.sh": "cat ~/.openclaw/gateway.token\n"})
    make_skill("snoop2", step_meta(), scripts={"probe.sh": 'grep KEY "$H/gateway.env"\n'})
    skills = discover(Path(make_skill("x").parent.parent))
    for name in ("snoop", "snoop2"):
        (problem,) = skills[name].problems
        assert "scripts/probe.sh:1: mentions" in problem and "must not read" in problem


@needs_bwrap
async def test_in_the_sandbox_the_openclaw_home_and_user_files_are_not_there(
    openclaw_home: Path, make_skill: MakeSkill, tmp_path: Path
) -> None:
    (openclaw_home / "gateway.token").write_text("ocw_secret_token")
    elsewhere = tmp_path / "private.txt"
    elsewhere.write_text("private")
    script = (
        # Split so that lint (which flags scripts naming the token file) lets the probe run.
        f'test -e "{openclaw_home}/gateway."token && echo token-visible || echo token-hidden\n'
        f'test -e "{elsewhere}" && echo tmp-visible || echo tmp-hidden\n'
        'ls /home | wc -l | tr -d " "\n'
        'test -r "$OPENCLAW_SKILL_DIR/SKILL.md" && echo skill-visible\n'
        'touch "$OPENCLAW_SKILL_DIR/new" 2>/dev/null && echo skill-writable || echo skill-ro\n'
    )
    out = await run_probe(openclaw_home, make_skill, script)
    assert out == ["token-hidden", "tmp-hidden", "0", "skill-visible", "skill-ro"]


@needs_bwrap
@pytest.mark.parametrize("declared", [False, True])
async def test_in_the_sandbox_the_network_needs_a_declaration(
    openclaw_home: Path, make_skill: MakeSkill, declared: bool
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        script = (
            f"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected || echo refused\n"
        )
        out = await run_probe(openclaw_home, make_skill, script, network=declared)
    finally:
        listener.close()
    assert out == ["connected" if declared else "refused"]


def test_show_says_how_a_skill_runs(openclaw_home: Path, make_skill: MakeSkill) -> None:
    make_skill("probe", step_meta(), scripts={"probe.sh": "true\n"})
    (openclaw_home / "skills.yaml").write_text("sandbox: off\n")
    off = CliRunner().invoke(main, ["skill", "show", "probe"])
    assert "runs: runs as your user (no sandbox: sandbox: off in skills.yaml)" in off.output
    assert "it can read any file you can read" in off.output
    if BWRAP.available:
        (openclaw_home / "skills.yaml").write_text("sandbox: auto\n")
        on = CliRunner().invoke(main, ["skill", "show", "probe"])
        assert "runs: sandboxed (bubblewrap)" in on.output and "no network" in on.output


async def test_sandbox_required_refuses_steps_without_bubblewrap(
    openclaw_home: Path, make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_skill("probe", step_meta(), scripts={"probe.sh": "true\n"})
    (openclaw_home / "skills.yaml").write_text("sandbox: required\n")
    skill = find_skill(openclaw_home, "probe")
    skill.isolation = isolation("required", path="/nonexistent")
    with pytest.raises(Exception, match="sandbox: required") as err:
        await SkillRunner(None, home=openclaw_home).run(skill, {})
    assert getattr(err.value, "status", None) == 409


@needs_bwrap
async def test_a_sandboxed_step_that_times_out_leaves_nothing_running(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    meta = step_meta()
    meta["steps"][0]["timeout"] = 0.5
    make_skill("probe", meta, scripts={"probe.sh": "sleep 31.4159 &\nwait\n"})
    skill = find_skill(openclaw_home, "probe")
    with pytest.raises(Exception, match=r"timed out after 0\.5s"):
        await SkillRunner(None, home=openclaw_home).run(skill, {})

    def sleepers() -> list[str]:
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if b"31.4159" in cmdline.read_bytes():
                    found.append(cmdline.parent.name)
            except OSError:
                continue
        return found

    for _ in range(50):
        if not sleepers():
            break
        await asyncio.sleep(0.02)
    assert sleepers() == []
