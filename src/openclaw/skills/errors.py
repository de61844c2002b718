"""The errors a skill can raise, as members of the one :mod:`openclaw.errors` hierarchy.

Each maps to the status the Skills API promises: an unknown skill is 404, inputs that do not
match the declared types are 400, a skill whose required binaries or variables are missing is
409 (it exists but cannot run here), and a step that fails, times out or prints something the
outputs cannot be made from is 502 (the skill's own code, like an upstream, let us down). A
SKILL.md that does not lint is a configuration problem of this machine: 500 ``config_error``.
"""

from __future__ import annotations

from openclaw.errors import ConfigError, Conflict, InvalidRequest, NotFound, OpenClawError


class SkillNotFound(NotFound):
    code = "skill_not_found"


class SkillInputError(InvalidRequest):
    code = "invalid_skill_inputs"


class SkillIneligible(Conflict):
    code = "skill_ineligible"


class SkillInvalid(ConfigError):
    code = "skill_invalid"


class SkillStepFailed(OpenClawError):
    """A step exited non-zero, timed out, or printed more than its cap."""

    status = 502
    type = "skill_error"
    code = "skill_step_failed"


class SkillOutputError(SkillStepFailed):
    """A step's or the model's output cannot be turned into a declared output."""

    code = "skill_output_invalid"
