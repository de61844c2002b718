"""Steps: timeout kills the process group, non-zero exit carries stderr, output is capped,
the environment is an allowlist without provider keys, and each run has its own temp dir."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from skillkit import MakeSkill

from openclaw.skills.discovery import load_skill
from openclaw.skills.env import Secrets
from openclaw.skills.errors import SkillIneligible, SkillInputError, SkillStepFailed
from openclaw.skills.runner import SkillRunner, validate_inputs
from openclaw.skills.sandbox import isolation


def step_skill(
    make_skill: MakeSkill,
    script: str,
    *,
    name: str = "stepper",
    inputs: list[Any] | None = None,
    args: list[str] | None = None,
    requires: dict[str, Any] | None = None,
    output_from: str = "steps.main.stdout",
    output_type: str = "string",
    **step: Any,
) -> Any:
    meta = {
        "requires": {"bins": ["bash"], **(requires or {})},
        "inputs": inputs if inputs is not None else [{"text": "string"}],
        "outputs": [{"name": "out", "type": output_type, "from": output_from}],
        "steps": [{"name": "main", "run": "scripts/main.sh", "args": args or [], **step}],
    }
    skill = load_skill(make_skill(name, meta, scripts={"main.sh": script}), "home")
    assert skill.problems == []
    return skill


async def run(skill: Any, inputs: dict[str, Any], **kw: Any) -> Any:
    # These pin the step runner itself (process groups, pids, files in tmp_path), so they run
    # without bubblewrap; tests/skills/test_isolation.py covers the sandboxed path.
    skill.isolation = isolation("off")
    return await SkillRunner(None, secrets=kw.pop("secrets", None) or Secrets()).run(
        skill, inputs, **kw
    )


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.exists() and Path("/proc/self").exists():
        try:
            return stat.read_text().split(") ", 1)[1][0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_step_gets_its_arguments_stdin_and_inputs(make_skill: MakeSkill) -> None:
    script = 'echo "args:$#:$1|$2|$3"\necho "env:$OPENCLAW_INPUT_FILES" | tr "\\n" ","\necho\ncat\n'
    skill = step_skill(
        make_skill,
        script,
        inputs=[{"text": "string"}, {"files": "array"}],
        args=["{{ inputs.files }}", "--text={{ inputs.text }}"],
        stdin="stdin says {{ inputs.text | trim }}",
    )
    result = await run(skill, {"text": " hi ", "files": ["a b.txt", "c.txt"]})
    assert result.outputs["out"] == (
        "args:3:a b.txt|c.txt|--text= hi \nenv:a b.txt,c.txt,\nstdin says hi"
    )


async def test_timeout_kills_the_whole_process_group(make_skill: MakeSkill, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f'sleep 30 &\necho $! > "{pidfile}"\nwait\n'
    skill = step_skill(make_skill, script, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SkillStepFailed) as info:
        await run(skill, {"text": "x"})
    assert time.monotonic() - started < 5
    assert info.value.status == 502
    assert info.value.code == "skill_step_timeout"
    assert "timed out after 0.5s" in info.value.message
    child = int(pidfile.read_text())
    for _ in range(50):  # the kill is sent; give the kernel a moment to reap the orphan
        if not alive(child):
            break
        await asyncio.sleep(0.02)
    assert not alive(child), "the step's background child survived the timeout"


async def test_non_zero_exit_is_an_error_with_the_tail_of_stderr(make_skill: MakeSkill) -> None:
    script = 'for i in $(seq 1 2000); do echo "noise line $i" >&2; done\necho "fatal: no such PR" >&2\nexit 3\n'
    skill = step_skill(make_skill, script)
    with pytest.raises(SkillStepFailed) as info:
        await run(skill, {"text": "x"})
    msg = info.value.message
    assert info.value.status == 502 and info.value.code == "skill_step_failed"
    assert "step 'main' exited with status 3" in msg
    assert msg.rstrip().endswith("fatal: no such PR")
    assert "noise line 1\n" not in msg  # only the tail
    assert len(msg) < 2200


async def test_output_over_the_cap_fails_the_step(make_skill: MakeSkill) -> None:
    script = "head -c 5000 /dev/zero | tr '\\0' x\n"
    skill = step_skill(make_skill, script, max_output_bytes=1000)
    with pytest.raises(SkillStepFailed) as info:
        await run(skill, {"text": "x"})
    assert info.value.code == "skill_output_too_large"
    assert "more than 1000 bytes" in info.value.message


async def test_steps_run_in_a_fresh_temporary_directory(make_skill: MakeSkill) -> None:
    script = 'pwd\necho "$TMPDIR"\nls\n'
    skill = step_skill(make_skill, script, output_from="steps.main.lines", output_type="array")
    first = (await run(skill, {"text": "x"})).outputs["out"]
    second = (await run(skill, {"text": "x"})).outputs["out"]
    cwd = Path(first[0])
    assert first[1] == first[0]  # TMPDIR is the working directory
    assert first[2:] == ["inputs.json"]  # the runner's inputs file, nothing else
    assert cwd != Path.cwd() and first[0] != second[0]
    assert not cwd.exists()  # removed after the run


async def test_the_environment_is_scrubbed_of_provider_keys_and_the_token(
    make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-0123456789abcdef"
    token = "ocw_test_token_value_123456"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-abcdefgh")
    monkeypatch.setenv("CUSTOM_PROVIDER_KEY", "custom-key-abcdefgh")
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", token)
    monkeypatch.setenv("MY_TOOL_TOKEN", "tool-visible")
    monkeypatch.setenv("LEAKY", secret)  # declared, but its value is a provider key
    monkeypatch.setenv("TOKEN_COPY", token)  # declared, but its value is the gateway token
    monkeypatch.setenv("UNDECLARED_VAR", "not-for-steps")
    skill = step_skill(
        make_skill,
        "env | sort\n",
        requires={
            "env": ["MY_TOOL_TOKEN"],
            "optionalEnv": ["LEAKY", "TOKEN_COPY", "CUSTOM_PROVIDER_KEY"],
        },
        output_from="steps.main.lines",
        output_type="array",
    )
    secrets = Secrets(names={"CUSTOM_PROVIDER_KEY"}, values={secret, token})
    lines = (await run(skill, {"text": "hello"}, secrets=secrets)).outputs["out"]
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env["MY_TOOL_TOKEN"] == "tool-visible"
    assert env["OPENCLAW_INPUT_TEXT"] == "hello"
    assert env["OPENCLAW_SKILL_NAME"] == "stepper"
    assert "PATH" in env
    for gone in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "CUSTOM_PROVIDER_KEY",
        "OPENCLAW_GATEWAY_TOKEN",
        "OPENCLAW_HOME",
        "LEAKY",
        "TOKEN_COPY",
        "UNDECLARED_VAR",
    ):
        assert gone not in env, gone
    joined = "\n".join(lines)
    assert secret not in joined and token not in joined


def test_secrets_come_from_the_config_and_the_token(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    from openclaw.config import load_config

    (home / "models.yaml").write_text(
        "providers:\n  corp: {type: openai_compatible, base_url: 'http://127.0.0.1:9/v1', "
        "api_key: '${CORP_LLM_KEY}'}\nmodels:\n  general: {provider: corp, model: m}\n"
    )
    monkeypatch.setenv("CORP_LLM_KEY", "corp-secret-value")
    secrets = Secrets.of(load_config(home), token="ocw_the_gateway_token")
    assert {"CORP_LLM_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= secrets.names
    assert {"corp-secret-value", "ocw_the_gateway_token"} <= secrets.values


async def test_python_steps_run_with_the_gateways_interpreter(make_skill: MakeSkill) -> None:
    py = 'import json, os, sys\nprint(json.dumps({"n": json.load(open(os.environ["OPENCLAW_INPUTS"]))["n"] * 2, "exe": sys.executable}))\n'
    meta = {
        "inputs": [{"n": "integer"}],
        "outputs": [{"name": "twice", "type": "integer", "from": "steps.calc.json.n"}],
        "steps": [{"name": "calc", "run": "scripts/calc.py"}],
    }
    skill = load_skill(make_skill("calc", meta, scripts={"calc.py": py}), "home")
    result = await run(skill, {"n": 21})
    assert result.outputs == {"twice": 42}
    import sys

    assert result.steps["calc"].json["exe"] == sys.executable


async def test_inputs_are_checked_before_anything_runs(
    make_skill: MakeSkill, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    skill = step_skill(
        make_skill,
        f'touch "{marker}"\n',
        inputs=[{"text": "string"}, {"count": "integer"}, {"flags": "array"}, {"on": "boolean"}],
    )
    with pytest.raises(SkillInputError) as info:
        await run(skill, {"text": 5, "count": "3", "flags": "a", "on": 1, "extra": True})
    err = info.value
    assert err.status == 400 and err.code == "invalid_skill_inputs" and err.param == "inputs.extra"
    for part in (
        "inputs.extra: unknown input",
        "inputs.text: expected string, got integer",
        "inputs.count: expected integer, got string '3'",
        "inputs.flags: expected array, got string 'a'",
        "inputs.on: expected boolean, got integer",
    ):
        assert part in err.message
    with pytest.raises(SkillInputError, match=r"inputs\.text: required string is missing"):
        await run(skill, {"count": 1, "flags": [], "on": True})
    assert not marker.exists()


def test_text_inputs_are_coerced_to_their_types() -> None:
    from openclaw.skills.spec import InputSpec

    specs = [
        InputSpec(name="n", type="integer"),
        InputSpec(name="ok", type="boolean"),
        InputSpec(name="items", type="array"),
        InputSpec(name="data", type="json"),
        InputSpec(name="note", type="string", required=False, default="none"),
    ]
    raw = {"n": "42", "ok": "yes", "items": "a\nb\n", "data": '{"k": [1]}'}
    assert validate_inputs(specs, raw, text=True) == {
        "n": 42,
        "ok": True,
        "items": ["a", "b"],
        "data": {"k": [1]},
        "note": "none",
    }
    with pytest.raises(SkillInputError, match=r"inputs\.n: expected integer, got string 'forty'"):
        validate_inputs(specs, {**raw, "n": "forty"}, text=True)


async def test_an_ineligible_skill_does_not_run(make_skill: MakeSkill) -> None:
    skill = step_skill(
        make_skill, "echo\n", requires={"bins": ["bash", "no-such-binary-for-openclaw"]}
    )
    with pytest.raises(SkillIneligible) as info:
        await run(skill, {"text": "x"})
    assert info.value.status == 409
    assert "missing binary 'no-such-binary-for-openclaw'" in info.value.message
