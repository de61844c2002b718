"""Checks a schema cannot express, and the runner's plan derived from a valid SKILL.md.

:func:`check` takes a parsed :class:`~openclaw.skills.spec.Document` and returns the
:class:`Plan` (the prompt text and where it came from, each output's resolved source) and a
list of problems, each ``file:line: message``. A skill with problems is listed as invalid and
refuses to run; ``openclaw skill lint`` prints the problems, and the notes (keys we keep but
do not use, a name that differs from its folder) without failing.

A skill that declares none of our contract (no inputs, outputs, steps or prompt) is
*instruction-only*, as most upstream skills are: its Markdown body is the model's system
prompt, the caller's text (input ``input``) the user message, and the answer is output
``answer`` (:data:`INSTRUCTION_INPUTS`, :data:`INSTRUCTION_OUTPUTS`). Its body must not be
empty. A skill that declares any of the contract is checked as before: input, output and
step names are unique; defaults match their types; each step's
script exists inside the skill folder and can be run (``.sh`` needs ``bash`` in
``requires.bins``); every template path resolves (a step may only read earlier steps); every
``from`` resolves; ``model``/``task`` come with a prompt; the model's answer is used; and no
protected variable (provider keys, the gateway token) is requested from the environment.
For every skill, no file beside SKILL.md (its scripts) may mention the gateway's home
(``~/.openclaw``, ``$OPENCLAW_HOME``) or its secrets files (``gateway.env``,
``gateway.token``): a skill has no business there, and :mod:`.sandbox` hides them anyway.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from openclaw.skills.env import PROTECTED_VARS
from openclaw.skills.spec import (
    PROMPT_FILE,
    SKILL_FILE,
    Document,
    InputSpec,
    OutputSpec,
    locate,
    unknown_keys,
    value_line,
)
from openclaw.skills.template import STEP_FIELDS, TemplateError, check_ref, references
from openclaw.skills.values import TEXT_TYPES, problem

_ANSWER_KEY = re.compile(r"^answer\.([A-Za-z_][A-Za-z0-9_]*)$")
#: What a script must not read: the gateway's home and its secrets files.
_GATEWAY_FILES = re.compile(r"\.openclaw\b|\bOPENCLAW_HOME\b|gateway\.(?:env|token)\b")
_SCAN_FILES = 200  # files read per skill, at most
_SCAN_BYTES = 1024 * 1024  # per file

#: An instruction-only skill's contract: the caller's text in, the model's answer out.
INSTRUCTION_INPUTS = [InputSpec(name="input", type="string", description="the user's request")]
INSTRUCTION_OUTPUTS = [
    OutputSpec.model_validate({"name": "answer", "type": "markdown", "from": "answer"})
]


@dataclass
class Plan:
    instructions: str | None = None  # an instruction-only skill's body: the system prompt
    notes: list[str] = field(default_factory=list)  # kept but unused keys; never failures
    prompt: str | None = None
    prompt_where: str = ""
    prompt_line: int = 1  # file line of the template's first line
    sources: dict[str, str] = field(default_factory=dict)  # output -> resolved ``from``

    @property
    def json_keys(self) -> list[str]:
        """Keys the model must answer in a JSON object (JSON mode is on when non-empty)."""
        out = []
        for src in self.sources.values():
            m = _ANSWER_KEY.match(src)
            if m:
                out.append(m.group(1))
        return out

    @property
    def uses_answer(self) -> bool:
        return any(s == "answer" or s.startswith("answer.") for s in self.sources.values())


def interpreter_for(script: Path) -> str | None:
    """The interpreter a step script is run with: ``bash``, ``python`` or None (exec it)."""
    if script.suffix == ".sh":
        return "bash"
    if script.suffix == ".py":
        return "python"
    return None


def check(doc: Document, folder: Path) -> tuple[Plan, list[str]]:
    fm, root, where = doc.front, doc.root, str(doc.path)
    meta = fm.openclaw
    problems: list[str] = []

    base = ("metadata", fm.metadata.key)
    plan = Plan()

    def err(message: str, *loc: str | int) -> None:
        problems.append(f"{where}:{locate(root, *loc)}: {message}")

    for loc, message, typo in unknown_keys(fm):
        if typo:
            err(message, *loc)
        else:
            plan.notes.append(f"{where}:{locate(root, *loc)}: note: {message}")
    if fm.name != folder.name:
        plan.notes.append(
            f"{where}:{locate(root, 'name')}: note: the skill is named '{fm.name}' "
            f"(its folder is '{folder.name}')"
        )
    problems.extend(_check_files(folder))
    prompt_file = folder / PROMPT_FILE
    declares = (
        bool(meta.inputs or meta.outputs or meta.steps or meta.prompt is not None)
        or prompt_file.exists()
    )
    if not declares:
        if not doc.body.strip():
            problems.append(
                f"{where}:{doc.body_line}: nothing to do: write the model's instructions below "
                "the front matter, or declare at least one output (with inputs, steps or a "
                "prompt)"
            )
        plan.instructions = doc.body.strip()
        plan.sources = {"answer": "answer"}
        return plan, problems

    input_names = [i.name for i in meta.inputs]
    step_names = [s.name for s in meta.steps]
    for kind, names in (
        ("inputs", input_names),
        ("outputs", [o.name for o in meta.outputs]),
        ("steps", step_names),
    ):
        for i, n in enumerate(names):
            if n in names[:i]:
                err(f"{kind}[{i}]: '{n}' is declared twice", *base, kind, i)

    for i, inp in enumerate(meta.inputs):
        if inp.default is not None:
            why = problem(inp.default, inp.type)
            if why:
                err(f"inputs[{i}].default: {why}", *base, "inputs", i, "default")
            if inp.required:
                err(
                    f"inputs[{i}]: '{inp.name}' has a default, so it is not required; "
                    "add 'required: false'",
                    *base,
                    "inputs",
                    i,
                )

    for name in (*meta.requires.env, *meta.requires.optionalEnv):
        if name in PROTECTED_VARS:
            err(
                f"requires: '{name}' is a provider key or gateway setting; it is never "
                "passed to a skill's scripts (the model step reaches the model through the "
                "gateway instead)",
                *base,
                "requires",
            )

    for i, step in enumerate(meta.steps):
        loc = (*base, "steps", i)
        run_line = locate(root, *loc, "run")
        for message in _check_script(step.run, folder, meta.requires.bins):
            problems.append(f"{where}:{run_line}: steps[{i}].{message}")
        earlier = step_names[:i]
        for j, arg in enumerate(step.args):
            _check_template(
                arg,
                input_names,
                earlier,
                f"steps[{i}].args[{j}]",
                where,
                locate(root, *loc, "args", j),
                problems,
            )
        if step.stdin is not None:
            _check_template(
                step.stdin,
                input_names,
                earlier,
                f"steps[{i}].stdin",
                where,
                value_line(root, *loc, "stdin"),
                problems,
            )

    if meta.prompt is not None:
        if prompt_file.exists():
            err(f"both 'prompt:' and {PROMPT_FILE} exist; keep one", *base, "prompt")
        plan.prompt, plan.prompt_where = meta.prompt, where
        plan.prompt_line = value_line(root, *base, "prompt")
    elif prompt_file.is_file():
        try:
            plan.prompt = prompt_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{prompt_file}:1: cannot read: {exc}")
        plan.prompt_where, plan.prompt_line = str(prompt_file), 1
    if plan.prompt is not None:
        _check_template(
            plan.prompt,
            input_names,
            step_names,
            "prompt",
            plan.prompt_where,
            plan.prompt_line,
            problems,
        )
        if meta.system is not None:
            _check_template(
                meta.system,
                input_names,
                step_names,
                "system",
                where,
                value_line(root, *base, "system"),
                problems,
            )
    else:
        for key in ("model", "task", "system", "max_tokens", "temperature"):
            if getattr(meta, key) is not None:
                err(
                    f"'{key}' configures the model step, but there is no prompt "
                    f"(add 'prompt:' or {PROMPT_FILE})",
                    *base,
                    key,
                )
    if meta.model is not None and meta.task is not None:
        err("set 'model' (an alias) or 'task' (routed by use_for), not both", *base, "task")

    if not meta.outputs:
        err("declare at least one output", *base)
    plan.sources = _resolve_sources(doc, plan.prompt is not None, step_names)
    for i, out in enumerate(meta.outputs):
        why = _check_source(
            plan.sources[out.name], input_names, step_names, plan.prompt is not None
        )
        if why:
            err(f"outputs[{i}] '{out.name}': {why}", *base, "outputs", i)
    if plan.prompt is not None and meta.outputs and not plan.uses_answer:
        err(
            "the model's answer is not used by any output (give one 'from: answer')",
            *base,
            "outputs",
        )
    return plan, problems


def _check_files(folder: Path) -> list[str]:
    """Problems for scripts that mention the gateway's home or secrets files."""
    problems: list[str] = []
    seen = 0
    for path in sorted(folder.rglob("*")):
        if seen >= _SCAN_FILES:
            break
        if not path.is_file() or path.suffix == ".md" or path.name == SKILL_FILE:
            continue
        seen += 1
        try:
            with path.open("rb") as fh:
                data = fh.read(_SCAN_BYTES)
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # a binary file
        for n, line in enumerate(data.decode(errors="replace").splitlines(), 1):
            m = _GATEWAY_FILES.search(line)
            if m:
                problems.append(
                    f"{path}:{n}: mentions '{m.group(0)}': a skill's scripts must not read "
                    "the gateway's home, token or gateway.env (they are not theirs to read)"
                )
                break
    return problems


def _resolve_sources(doc: Document, has_model: bool, steps: list[str]) -> dict[str, str]:
    """Each output's ``from``, with the defaults described in :mod:`openclaw.skills.spec`."""
    outs = doc.front.openclaw.outputs
    implicit = [o for o in outs if o.source is None]
    sources = {o.name: o.source for o in outs if o.source is not None}
    if has_model:
        whole = len(implicit) == 1 and implicit[0].type in TEXT_TYPES
        for o in implicit:
            sources[o.name] = "answer" if whole else f"answer.{o.name}"
    else:
        for o in implicit:
            sources[o.name] = f"steps.{steps[-1]}.json.{o.name}" if steps else ""
    return sources


def _check_source(src: str, inputs: list[str], steps: list[str], has_model: bool) -> str | None:
    if not src:
        return "no 'from:' and no step or prompt to take it from"
    parts = src.split(".")
    if parts[0] == "answer":
        if not has_model:
            return f"'from: {src}' needs a model step (add 'prompt:' or {PROMPT_FILE})"
        if len(parts) > 1 and not _ANSWER_KEY.match(src):
            return f"'from: {src}': use 'answer' or 'answer.KEY' (one level)"
        return None
    if parts[0] == "inputs":
        if len(parts) != 2 or parts[1] not in inputs:
            return f"'from: {src}': unknown input (inputs: {', '.join(inputs) or 'none'})"
        return None
    if parts[0] == "steps":
        if len(parts) < 3 or parts[1] not in steps:
            return f"'from: {src}': unknown step (steps: {', '.join(steps) or 'none'})"
        if parts[2] not in STEP_FIELDS or (parts[2] != "json" and len(parts) > 3):
            return f"'from: {src}': use steps.STEP.stdout, .lines or .json[.KEY]"
        return None
    return (
        f"'from: {src}': use answer, answer.KEY, steps.STEP.stdout|lines|json[.KEY] or inputs.NAME"
    )


def _check_script(run: str, folder: Path, bins: list[str]) -> list[str]:
    rel = Path(run)
    if rel.is_absolute() or ".." in rel.parts:
        return [f"run: '{run}' must be a path inside the skill folder, such as scripts/x.sh"]
    script = folder / rel
    if not script.is_file():
        return [f"run: '{run}' does not exist in {folder}"]
    kind = interpreter_for(script)
    if kind == "bash" and "bash" not in bins:
        return [f"run: '{run}' runs with bash; add bash to requires.bins"]
    if kind is None and os.name != "nt" and not os.access(script, os.X_OK):
        return [f"run: '{run}' is not executable (chmod +x it, or name it .sh or .py)"]
    return []


def _check_template(
    text: str,
    inputs: list[str],
    steps: list[str],
    what: str,
    where: str,
    first_line: int,
    problems: list[str],
) -> None:
    try:
        refs = references(text)
    except TemplateError as exc:
        problems.append(f"{where}:{first_line + exc.line - 1}: {what}: {exc.message}")
        return
    for ref in refs:
        why = check_ref(ref, inputs, steps)
        if why:
            problems.append(f"{where}:{first_line + ref.line - 1}: {what}: {why}")
