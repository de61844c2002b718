"""Helpers for the skills tests (a plain module: ``conftest`` names clash across test dirs).

``skill_md(name, meta)`` renders a SKILL.md with ``meta`` as ``metadata.openclaw``;
``ECHO_META`` is a small skill with one bash step and a model step that most tests start
from; ``POLICIES`` are the seed's three with spaCy off, so PII routing in these tests depends
only on pattern recognizers (an e-mail address, a phone number), never on NER guesses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness import MOCK_MODELS, SEED_POLICIES

POLICIES = SEED_POLICIES + "pii:\n  spacy_model: none\n"
MODELS = MOCK_MODELS

UPPER_SH = 'printf "%s\\n" "$1" | tr "[:lower:]" "[:upper:]"\n'

ECHO_META: dict[str, Any] = {
    "requires": {"bins": ["bash"]},
    "inputs": [
        {"text": "string"},
        {"name": "n", "type": "integer", "required": False, "default": 1},
    ],
    "outputs": [
        {"name": "reply", "type": "markdown", "from": "answer"},
        {"name": "shout", "type": "string", "from": "steps.upper.stdout"},
    ],
    "steps": [{"name": "upper", "run": "scripts/upper.sh", "args": ["{{ inputs.text }}"]}],
    "prompt": "Repeat after me: {{ steps.upper.stdout }}",
}

MakeSkill = Callable[..., Path]


def skill_md(name: str, meta: dict[str, Any], *, version: str = "1.0.0", body: str = "") -> str:
    front = {
        "name": name,
        "description": f"{name} (test skill)",
        "version": version,
        "metadata": {"openclaw": meta},
    }
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body
