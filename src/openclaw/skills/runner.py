"""Running a skill: validate the inputs, run the steps, ask the model, build the outputs.

    inputs --validate--> steps (in order, each a subprocess) --> prompt --gateway.chat-->
        answer --``from``--> outputs (type-checked)

Inputs are checked against the declared types before anything runs (400 on a mismatch,
naming every bad input). The model step is an ordinary request through the full gateway
pipeline (policies, PII routing, drafts, audit), as service ``skills`` unless the caller says
otherwise. Routing is the skill's ``model`` alias, or ``task`` against ``use_for``, else the
default.

The exchange carries ``skill={"name", "version", "inputs"}`` while the pipeline runs, so the
PII policy scans every input, also one the prompt does not show. The audit record is written
with ``inputs`` replaced by a ``sha256:`` digest of each value: the record names the skill and
version and can tell identical inputs apart, but input values reach the audit log only inside
the prompt, in the form the audit policy's ``content`` mode allows (redacted by default):
``Gateway.chat`` takes the two forms apart, ``skill`` for the pipeline and ``skill_audit``
for the record.

When an output is read from a key of the answer (``answer.KEY``), the request asks for JSON
(``response_format: json_object``, the form every adapter maps) and the prompt gets one
closing paragraph listing the keys and their types, since not every provider enforces a
schema. The answer is parsed leniently (a Markdown code fence around it is tolerated) and the
draft label, if a policy adds one, is removed before parsing.

An *instruction-only* skill (most upstream skills: a Markdown body, nothing declared to run)
is one model step: the body is the system message, the caller's ``input`` the user message,
and the answer is output ``answer``. It is routed, policed, PII-scanned and audited with the
skill's name exactly as a declared prompt is.

Steps run in a fresh temporary directory holding the step's own ``HOME`` (with XDG
directories) and its working directory, inside bubblewrap where :mod:`.sandbox` finds it.
Error messages name the skill's folder and the run's directory by placeholders
(``home:team/x``, ``$RUN``), never by their absolute paths: they reach HTTP clients and Slack.

``lenient_model`` (used by ``skill test`` against the mock provider, which cannot know a
skill's JSON keys) records missing answer keys in :attr:`SkillResult.unchecked` instead of
failing; everything else is checked as usual.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.errors import InvalidRequest
from openclaw.policies.rules import DRAFT_LABEL
from openclaw.skills.discovery import Skill
from openclaw.skills.env import XDG_DIRS, Secrets, step_env
from openclaw.skills.errors import (
    SkillIneligible,
    SkillInputError,
    SkillInvalid,
    SkillOutputError,
    SkillStepFailed,
)
from openclaw.skills.steps import StepOutput, command_for, run_process
from openclaw.skills.template import TemplateError, lookup_in, render, render_arg
from openclaw.skills.values import TEXT_TYPES, from_text, problem

if TYPE_CHECKING:
    from openclaw.pipeline.gateway import Gateway
    from openclaw.skills.spec import InputSpec

DEFAULT_SERVICE = "skills"
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


@dataclass
class SkillResult:
    skill: str
    version: str | None
    outputs: dict[str, Any]
    draft: bool = False
    request_id: str | None = None
    model: str | None = None  # the alias that answered
    provider: str | None = None
    answer: str | None = None
    steps: dict[str, StepOutput] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {"outputs": self.outputs, "draft": self.draft, "request_id": self.request_id}


def validate_inputs(specs: list[InputSpec], raw: Any, *, text: bool = False) -> dict[str, Any]:
    """Declared inputs, typed and defaulted. ``text``: values are strings from a command line."""
    if not isinstance(raw, dict):
        raise SkillInputError("'inputs' must be a JSON object", param="inputs")
    problems: list[tuple[str, str]] = []
    known = {s.name for s in specs}
    for key in raw:
        if key not in known:
            problems.append((key, f"unknown input (inputs: {', '.join(sorted(known)) or 'none'})"))
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in raw or raw[spec.name] is None:
            if spec.required:
                problems.append((spec.name, f"required {spec.type} is missing"))
            else:
                out[spec.name] = spec.default
            continue
        value = raw[spec.name]
        if text and isinstance(value, str):
            try:
                value = from_text(value, spec.type)
            except ValueError as exc:
                problems.append((spec.name, str(exc)))
                continue
        why = problem(value, spec.type)
        if why:
            problems.append((spec.name, why))
        else:
            out[spec.name] = value
    if problems:
        message = "; ".join(f"inputs.{name}: {why}" for name, why in problems)
        raise SkillInputError(message, param=f"inputs.{problems[0][0]}")
    return out


def input_digests(inputs: dict[str, Any]) -> dict[str, str | None]:
    """What the audit record keeps of each input: a digest, never the value."""
    out: dict[str, str | None] = {}
    for name, value in inputs.items():
        if value is None:
            out[name] = None
            continue
        canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        out[name] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    return out


def parse_answer_json(text: str) -> Any:
    body = text[len(DRAFT_LABEL) :] if text.startswith(DRAFT_LABEL) else text
    m = _FENCE.match(body)
    if m:
        body = m.group(1)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(body[start : end + 1])
            except json.JSONDecodeError:
                pass
    return None


def json_instruction(skill: Skill) -> str:
    types = {o.name: o.type for o in skill.outputs}
    lines = [
        "",
        "",
        "Reply with one JSON object and nothing else. Its keys:",
    ]
    for key in skill.plan.json_keys:
        kind = types[key]
        shown = "string (Markdown)" if kind == "markdown" else kind
        lines.append(f'- "{key}": {shown}')
    return "\n".join(lines)


class SkillRunner:
    """Runs skills for one caller: the daemon (its gateway) or the CLI (an in-process one)."""

    def __init__(
        self,
        gateway: Gateway | None,
        *,
        secrets: Secrets | None = None,
        service: str = DEFAULT_SERVICE,
        channel: str | None = None,
        lenient_model: bool = False,
        home: Path | None = None,
    ) -> None:
        self.gateway = gateway
        #: The OpenClaw home: hidden from sandboxed steps, its config files' secrets withheld.
        self.home = home or (gateway.config.home if gateway else None)
        self.secrets = secrets or Secrets.of(gateway.config if gateway else None, home=self.home)
        self.service = service
        self.channel = channel
        self.lenient_model = lenient_model

    async def run(self, skill: Skill, raw_inputs: Any, *, text_inputs: bool = False) -> SkillResult:
        if not skill.valid:
            raise SkillInvalid(
                f"skill '{skill.name}' does not lint:\n"
                + "\n".join(skill.public(p) for p in skill.problems),
            )
        if skill.reasons:
            raise SkillIneligible(
                f"skill '{skill.name}' cannot run on this machine: {'; '.join(skill.reasons)}"
            )
        meta = skill.meta
        if meta.steps and skill.isolation.mode == "required" and not skill.isolation.available:
            raise SkillIneligible(
                f"skill '{skill.name}' has steps and skills.yaml says sandbox: required, "
                f"but {skill.isolation.why_not}"
            )
        inputs = validate_inputs(skill.inputs, raw_inputs, text=text_inputs)
        result = SkillResult(skill=skill.name, version=skill.version, outputs={})
        context: dict[str, Any] = {
            "inputs": inputs,
            "steps": result.steps,
            "skill": {"name": skill.name, "version": skill.version},
        }
        resolve = lookup_in(context)
        if meta.steps:
            await self._run_steps(skill, inputs, resolve, result)
        answer: Any = None
        if skill.plan.prompt is not None or skill.instruction_only:
            answer = await self._ask_model(skill, inputs, resolve, result)
        self._outputs(skill, resolve, answer, result)
        return result

    async def _run_steps(
        self, skill: Skill, inputs: dict[str, Any], resolve: Any, result: SkillResult
    ) -> None:
        meta = skill.meta
        with tempfile.TemporaryDirectory(prefix="openclaw-skill-") as tmp:
            run_dir = Path(tmp)
            workdir, home = run_dir / "work", run_dir / "home"
            workdir.mkdir()
            for sub in XDG_DIRS.values():
                (home / sub).mkdir(parents=True, exist_ok=True)
            (home / ".run").chmod(0o700)
            inputs_file = workdir / "inputs.json"
            inputs_file.write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
            env = step_env(
                declared=[
                    *meta.requires.env,
                    *meta.requires.optionalEnv,
                    *([meta.primaryEnv] if meta.primaryEnv else []),
                ],
                secrets=self.secrets,
                inputs=inputs,
                workdir=workdir,
                home=home,
                extra={
                    "OPENCLAW_SKILL_NAME": skill.name,
                    "OPENCLAW_SKILL_VERSION": skill.version or "",
                    "OPENCLAW_SKILL_DIR": str(skill.path),
                    "OPENCLAW_INPUTS": str(inputs_file),
                },
            )
            for step in meta.steps:
                try:
                    args = [a for arg in step.args for a in render_arg(arg, resolve)]
                    stdin = render(step.stdin, resolve) if step.stdin is not None else None
                except TemplateError as exc:
                    raise SkillOutputError(f"step '{step.name}': {exc.message}") from None
                argv = skill.isolation.wrap(
                    command_for(skill.path / step.run, args),
                    skill_dir=skill.path,
                    run_dir=run_dir,
                    openclaw_home=self.home,
                    network=meta.network,
                    path=env.get("PATH", ""),
                )
                try:
                    result.steps[step.name] = await run_process(
                        step.name,
                        argv,
                        cwd=workdir,
                        env=env,
                        stdin=stdin,
                        timeout=step.timeout,
                        max_output=step.max_output_bytes,
                    )
                except SkillStepFailed as exc:
                    exc.message = skill.public(exc.message.replace(str(run_dir), "$RUN"))
                    raise

    async def _ask_model(
        self, skill: Skill, inputs: dict[str, Any], resolve: Any, result: SkillResult
    ) -> Any:
        if self.gateway is None:
            raise InvalidRequest(f"skill '{skill.name}' has a model step but no gateway was given")
        meta = skill.meta
        system: str | None
        if skill.plan.instructions is not None:
            prompt, system = str(inputs["input"]), skill.plan.instructions
        else:
            assert skill.plan.prompt is not None
            try:
                prompt = render(skill.plan.prompt, resolve)
                system = render(meta.system, resolve) if meta.system is not None else None
            except TemplateError as exc:
                raise SkillOutputError(f"prompt: {exc.message}") from None
        json_mode = bool(skill.plan.json_keys)
        if json_mode:
            prompt += json_instruction(skill)
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {"model": meta.model or "auto", "messages": messages}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        if meta.max_tokens is not None:
            body["max_tokens"] = meta.max_tokens
        if meta.temperature is not None:
            body["temperature"] = meta.temperature
        named = {"name": skill.name, "version": skill.version}
        resp = await self.gateway.chat(
            body,
            service=self.service,
            channel=self.channel,
            task=meta.task,
            skill={**named, "inputs": inputs},  # the PII policy scans the inputs too
            skill_audit={**named, "inputs": input_digests(inputs)},
        )
        facts = resp.get("openclaw") or {}
        result.draft = bool(facts.get("draft"))
        result.request_id = facts.get("request_id")
        result.model = facts.get("model")
        result.provider = facts.get("provider")
        choice = (resp.get("choices") or [{}])[0]
        content = (choice.get("message") or {}).get("content")
        text = content if isinstance(content, str) else ""
        result.answer = text
        if not json_mode:
            return text
        parsed = parse_answer_json(text)
        if not isinstance(parsed, dict):
            if self.lenient_model:
                result.unchecked.append("answer (not a JSON object)")
                return {}
            raise SkillOutputError(
                f"skill '{skill.name}': the model was asked for a JSON object and answered "
                f"something else ({len(text)} characters)"
            )
        return parsed

    def _outputs(self, skill: Skill, resolve: Any, answer: Any, result: SkillResult) -> None:
        for out in skill.outputs:
            src = skill.plan.sources[out.name]
            parts = tuple(src.split("."))
            where = f"output '{out.name}' (from {src})"
            if parts[0] == "answer":
                if len(parts) == 1:
                    value: Any = answer if isinstance(answer, str) else json.dumps(answer)
                else:
                    if not isinstance(answer, dict) or parts[1] not in answer:
                        if self.lenient_model:
                            result.unchecked.append(out.name)
                            continue
                        raise SkillOutputError(
                            f"{where}: the model's JSON answer has no '{parts[1]}'"
                        )
                    value = answer[parts[1]]
            else:
                try:
                    value = resolve(parts)
                except KeyError:
                    raise SkillOutputError(f"{where}: there is no such value") from None
            is_text = (parts[0] == "answer" and len(parts) == 1) or parts[-1] == "stdout"
            if is_text and isinstance(value, str) and out.type not in TEXT_TYPES:
                try:
                    value = from_text(value, out.type)
                except ValueError as exc:
                    raise SkillOutputError(f"{where}: {exc}") from None
            elif is_text and isinstance(value, str):
                value = value.rstrip("\n")  # as $(...) does: a script's last newline is not data
            why = problem(value, out.type)
            if why:
                raise SkillOutputError(f"{where}: {why}")
            result.outputs[out.name] = value
