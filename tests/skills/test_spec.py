"""SKILL.md front matter: the seed's form parses as is, and every problem names its line."""

from __future__ import annotations

from pathlib import Path

from skillkit import MakeSkill

from openclaw.skills.discovery import discover, load_skill

SEED = """\
---
name: pr-review-prep
description: "Prepare a comprehensive PR review checklist based on changed files"
version: 1.2.0
metadata:
  openclaw:
    requires:
      bins: ["gh", "bash"]
    inputs:
      - pr_number: integer
      - repo: string
    outputs:
      - checklist: markdown
      - risk_flags: array
---

## Usage

This skill fetches the diff for a PR, runs deterministic
risk checks, then asks the model to generate a structured
review checklist based on what it finds.
"""

RUNNABLE = """\
---
name: demo
description: "A demo"
version: 0.1.0
metadata:
  openclaw:
    requires:
      bins: [bash]
    inputs:
      - text: string
    outputs:
      - name: reply
        type: markdown
        from: answer
    steps:
      - name: first
        run: scripts/first.sh
        args: ["{{ inputs.text }}"]
      - name: second
        run: scripts/second.sh
        stdin: "{{ steps.first.stdout }}"
    prompt: |
      Line one.
      {{ steps.second.lines | bullets }}
---
Docs.
"""


def scripts() -> dict[str, str]:
    return {"first.sh": "echo one\n", "second.sh": "cat\n"}


def problems_of(make_skill: MakeSkill, name: str, text: str, **kw: object) -> list[str]:
    folder = make_skill(name, text=text, **kw)
    return load_skill(folder, "home").problems


def test_seed_front_matter_parses_with_one_key_mappings(make_skill: MakeSkill) -> None:
    skill = load_skill(make_skill("pr-review-prep", text=SEED), "home")
    assert skill.front is not None
    meta = skill.meta
    assert [(i.name, i.type, i.required) for i in meta.inputs] == [
        ("pr_number", "integer", True),
        ("repo", "string", True),
    ]
    assert [(o.name, o.type) for o in meta.outputs] == [
        ("checklist", "markdown"),
        ("risk_flags", "array"),
    ]
    assert meta.requires.bins == ["gh", "bash"]
    assert skill.front.version == "1.2.0"
    assert "## Usage" in skill.body


def test_seed_alone_has_nothing_to_run_and_lint_says_where(make_skill: MakeSkill) -> None:
    problems = problems_of(make_skill, "pr-review-prep", SEED)
    # Without steps or a prompt no output has a source: each problem names its output's line.
    assert any(
        p.endswith(
            "SKILL.md:13: outputs[0] 'checklist': no 'from:' and no step or prompt to take it from"
        )
        for p in problems
    ), problems
    assert any(":14: outputs[1] 'risk_flags'" in p for p in problems), problems


def test_a_runnable_skill_lints_clean(make_skill: MakeSkill) -> None:
    skill = load_skill(make_skill("demo", text=RUNNABLE, scripts=scripts()), "home")
    assert skill.problems == []
    assert skill.plan.sources == {"reply": "answer"}
    assert skill.plan.prompt is not None and skill.plan.prompt.startswith("Line one.")


def test_unknown_type_names_the_line_and_the_nearest_type(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace("- text: string", "- text: int")
    (problem,) = problems_of(make_skill, "demo", text, scripts=scripts())
    assert ":10: metadata.openclaw.inputs[0].type" in problem
    assert "unknown type 'int'; did you mean 'integer'?" in problem


def test_unknown_key_names_the_line_and_suggests_the_key(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace("    steps:\n", "    stesp:\n")
    problems = problems_of(make_skill, "demo", text, scripts=scripts())
    assert any(
        ":15: metadata.openclaw.stesp: unknown key; did you mean 'steps'?" in p for p in problems
    ), problems


def test_yaml_syntax_error_names_the_line(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace("- text: string", "- text: string: oops")
    (problem,) = problems_of(make_skill, "demo", text)
    assert "SKILL.md:10: YAML syntax error: mapping values are not allowed here" in problem


def test_front_matter_must_open_and_close(make_skill: MakeSkill) -> None:
    (opening,) = problems_of(make_skill, "a", "# no front matter\n")
    assert opening.endswith("SKILL.md:1: SKILL.md must start with '---' and YAML front matter")
    (closing,) = problems_of(make_skill, "b", "---\nname: b\n")
    assert "front matter is not closed" in closing


def test_the_name_comes_from_the_front_matter_and_another_folder_name_is_a_note(
    make_skill: MakeSkill, openclaw_home: Path
) -> None:
    # Issue 17: upstream skills sit in folders named as their authors like; the front
    # matter's name is the skill's name (this test used to require the folder's name).
    make_skill("other", text=RUNNABLE, scripts=scripts())
    skill = discover(openclaw_home)["demo"]
    assert skill.problems == [] and skill.path.name == "other"
    assert any(
        n.endswith("SKILL.md:2: note: the skill is named 'demo' (its folder is 'other')")
        for n in skill.plan.notes
    )


def test_prompt_md_errors_name_the_prompt_md_line(make_skill: MakeSkill) -> None:
    text = RUNNABLE.split("    prompt: |")[0] + "---\n"
    prompt = "Summarize.\n\nInput: {{ inputs.txet }}\n"
    (problem,) = problems_of(
        make_skill, "demo", text, scripts=scripts(), files={"prompt.md": prompt}
    )
    assert "prompt.md:3: prompt: unknown input 'txet' (inputs: text)" in problem


def test_inline_prompt_errors_name_the_skill_md_line(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace(
        "{{ steps.second.lines | bullets }}", "{{ steps.second.lines | bulets }}"
    )
    (problem,) = problems_of(make_skill, "demo", text, scripts=scripts())
    assert "SKILL.md:24: prompt:" in problem and "unknown filter 'bulets'" in problem


def test_a_step_cannot_read_a_later_step(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace('args: ["{{ inputs.text }}"]', 'args: ["{{ steps.second.stdout }}"]')
    (problem,) = problems_of(make_skill, "demo", text, scripts=scripts())
    assert ":18: steps[0].args[0]: unknown or later step 'second'" in problem


def test_scripts_must_exist_and_declare_their_interpreter(make_skill: MakeSkill) -> None:
    problems = problems_of(make_skill, "demo", RUNNABLE, scripts={"first.sh": "echo\n"})
    assert any(":20: steps[1].run: 'scripts/second.sh' does not exist" in p for p in problems), (
        problems
    )
    text = RUNNABLE.replace("bins: [bash]", "bins: []")
    problems = problems_of(make_skill, "demo", text, scripts=scripts())
    assert any("runs with bash; add bash to requires.bins" in p for p in problems), problems
    escape = RUNNABLE.replace("run: scripts/first.sh", "run: ../../etc/passwd")
    problems = problems_of(make_skill, "demo", escape, scripts=scripts())
    assert any("must be a path inside the skill folder" in p for p in problems), problems


def test_provider_keys_cannot_be_requested(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace("bins: [bash]", "bins: [bash]\n      env: [OPENAI_API_KEY]")
    (problem,) = problems_of(make_skill, "demo", text, scripts=scripts())
    assert ":7: requires: 'OPENAI_API_KEY' is a provider key" in problem


def test_model_and_task_are_exclusive_and_need_a_prompt(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace(
        "    prompt: |", "    model: general\n    task: drafting\n    prompt: |"
    )
    (problem,) = problems_of(make_skill, "demo", text, scripts=scripts())
    assert ":23: set 'model' (an alias) or 'task'" in problem
    no_prompt = RUNNABLE.split("    prompt: |")[0].replace(
        "from: answer", "from: steps.second.stdout"
    )
    no_prompt += "    model: general\n---\n"
    (problem,) = problems_of(make_skill, "demo", no_prompt, scripts=scripts())
    assert ":22: 'model' configures the model step, but there is no prompt" in problem


def test_output_sources_must_resolve(make_skill: MakeSkill) -> None:
    text = RUNNABLE.replace("from: answer", "from: steps.third.json.x")
    problems = problems_of(make_skill, "demo", text, scripts=scripts())
    assert any(
        ":12: outputs[0] 'reply': 'from: steps.third.json.x': unknown step" in p for p in problems
    )
    assert any("the model's answer is not used by any output" in p for p in problems)


def test_defaults_take_outputs_from_the_answer_json_when_there_are_several(
    make_skill: MakeSkill,
) -> None:
    text = SEED.replace(
        "    outputs:", "    prompt: Review PR {{ pr_number }} of {{ repo }}.\n    outputs:"
    )
    skill = load_skill(make_skill("pr-review-prep", text=text), "home")
    assert skill.problems == []
    assert skill.plan.sources == {
        "checklist": "answer.checklist",
        "risk_flags": "answer.risk_flags",
    }
    assert skill.plan.json_keys == ["checklist", "risk_flags"]


def test_real_openclaw_metadata_keys_are_accepted(make_skill: MakeSkill, tmp_path: Path) -> None:
    text = """\
---
name: gh-helper
description: Use gh for GitHub work.
version: 2.0.0
homepage: https://example.invalid/gh-helper
user-invocable: true
metadata: {"openclaw": {"emoji": "🐙", "requires": {"anyBins": ["gh", "hub"]}, "os": ["darwin", "linux"], "install": [{"id": "brew", "kind": "brew", "formula": "gh"}], "prompt": "List the open PRs of {{ repo }}.", "inputs": [{"repo": "string"}], "outputs": [{"prs": "markdown"}]}, "clawdbot": {"anything": true}}
---
"""
    skill = load_skill(make_skill("gh-helper", text=text), "home")
    assert skill.problems == []
    assert skill.meta.requires.anyBins == ["gh", "hub"]
    assert skill.meta.os == ["darwin", "linux"]
