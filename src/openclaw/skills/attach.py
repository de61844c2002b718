"""Attaching a skill to a chat request: the ``X-OpenClaw-Skill: NAME`` header.

An instruction-only skill (most upstream skills: a Markdown body that teaches the model
something) can ride along with any chat completion. The chat handler calls
:func:`resolve_skill` with the header's value, :func:`attach_skill` on the request body, and
records :func:`skill_record` on the exchange; the rest is the ordinary pipeline, so the answer
is routed, PII-checked (the instructions are scanned with the caller's messages), marked a
draft and audited, and the audit record names the skill.

- :func:`resolve_skill` checks the name against the grammar (400 ``invalid_skill_name``),
  finds the skill (404), and refuses one that does not lint (500), cannot run here (409) or
  is not instruction-only (400 ``skill_not_attachable``: a skill with a declared contract has
  inputs to validate and steps to run, which is ``POST /v1/skills/NAME/run``'s job).
- :func:`attach_skill` is pure: it returns a new body whose messages start with one system
  message holding the skill's instructions, followed by the caller's messages unchanged
  (the caller's own system message included, so the caller can still narrow the task).

Blocking (discovery reads files): the handler calls :func:`resolve_skill` in a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openclaw.errors import InvalidRequest
from openclaw.skills.discovery import Skill, find_skill
from openclaw.skills.errors import SkillIneligible, SkillInvalid

SKILL_HEADER = "X-OpenClaw-Skill"


class SkillNotAttachable(InvalidRequest):
    code = "skill_not_attachable"


def resolve_skill(home: Path, name: str) -> Skill:
    """The instruction-only skill called ``name``, ready to attach (see the module docstring)."""
    skill = find_skill(home, name.strip())
    if not skill.valid:
        raise SkillInvalid(
            f"skill '{skill.name}' does not lint:\n"
            + "\n".join(skill.public(p) for p in skill.problems)
        )
    if skill.reasons:
        raise SkillIneligible(
            f"skill '{skill.name}' cannot run on this machine: {'; '.join(skill.reasons)}"
        )
    if not skill.instruction_only:
        raise SkillNotAttachable(
            f"skill '{skill.name}' declares inputs, steps or a prompt; run it with "
            f"POST /v1/skills/{skill.name}/run instead of the {SKILL_HEADER} header",
            param=SKILL_HEADER,
        )
    return skill


def attach_skill(body: dict[str, Any], skill: Skill) -> dict[str, Any]:
    """A copy of ``body`` with the skill's instructions as the first (system) message."""
    if skill.plan.instructions is None:
        raise SkillNotAttachable(f"skill '{skill.name}' has no instructions to attach")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequest("'messages' must be a list", param="messages")
    system = {"role": "system", "content": skill.plan.instructions}
    return {**body, "messages": [system, *messages]}


def skill_record(skill: Skill) -> dict[str, Any]:
    """What the exchange (and so the audit record) keeps of an attached skill."""
    return {"name": skill.name, "version": skill.version, "via": "header"}
