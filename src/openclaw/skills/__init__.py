"""Skills: versioned, tested AI capabilities, each a folder with a SKILL.md.

A skill runs deterministic scripts first (its ``steps``: the decisions, in code that can be
tested), then asks the model, through the full gateway pipeline, to explain what the scripts
found (its ``prompt``), and returns typed ``outputs``. Where things live:

- :mod:`.spec`: the SKILL.md front matter schema, parsed with line numbers;
- :mod:`.lint`: checks beyond the schema, and the runner's plan (prompt, output sources);
- :mod:`.discovery`: the three skill directories, precedence, eligibility;
- :mod:`.template`: ``{{ inputs.x }}`` templates of arguments, stdin and prompts;
- :mod:`.values`: the six input/output types;
- :mod:`.env` and :mod:`.steps`: the scrubbed environment and the bounded subprocess;
- :mod:`.runner`: one run, inputs to outputs; :mod:`.testing`: ``skill test``;
- :mod:`.scaffold`: ``skill new``; :mod:`.api`: the HTTP routes;
- ``builtin/``: the skills shipped with the package (package data).

The user-facing guide is ``docs/skills.md``.
"""

from openclaw.skills.discovery import Skill, discover, find_skill
from openclaw.skills.runner import SkillResult, SkillRunner

__all__ = ["Skill", "SkillResult", "SkillRunner", "discover", "find_skill"]
