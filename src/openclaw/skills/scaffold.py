"""``skill new NAME``: a complete skill that lints and passes ``skill test`` as created.

The scaffold shows each part once: a typed input, a deterministic Python step that reads the
inputs from ``$OPENCLAW_INPUTS`` and prints JSON, a prompt that uses both, one output from the
step and one from the model, a fixture and the step's expected output. Python rather than
bash so it needs no binary and runs wherever the gateway does.
"""

from __future__ import annotations

import json
from pathlib import Path

from openclaw.errors import Conflict
from openclaw.skills.names import check_name

EXAMPLE_TEXT = (
    "OpenClaw runs each skill's scripts first, then asks the model to explain what the "
    "scripts found.\nThe scripts decide; the model writes."
)

SKILL_MD = """\
---
name: {name}
description: "One sentence on what {name} does and when to use it."
version: 0.1.0
metadata:
  openclaw:
    requires:
      bins: []
      env: []
    inputs:
      - text: string
    outputs:
      - name: summary
        type: markdown
        from: answer
      - name: word_count
        type: integer
        from: steps.count.json.word_count
    steps:
      - name: count
        run: scripts/count.py
        timeout: 30
    task: summarization
    prompt: |
      Summarize the text below in two sentences for a busy reader.
      It has {{{{ steps.count.json.word_count }}}} words on {{{{ steps.count.json.line_count }}}} lines.

      {{{{ inputs.text }}}}
---

# {name}

What this skill is for, who calls it, and what they get back.

## Inputs and outputs

- `text` (string): the text to summarize.
- `summary` (markdown): the model's two-sentence summary (a draft).
- `word_count` (integer): counted by `scripts/count.py`, not by the model.

## Testing

    openclaw skill test {name}            # fixtures in test/, model step against the mock
    openclaw skill test {name} --update   # record new step outputs in test/expected/
    openclaw skill test {name} --live     # the model step against your configured model
"""

COUNT_PY = '''\
"""Deterministic step: count the words and lines of the input text, print JSON."""

import json
import os
from pathlib import Path

inputs = json.loads(Path(os.environ["OPENCLAW_INPUTS"]).read_text(encoding="utf-8"))
text = inputs["text"]
counts = {"word_count": len(text.split()), "line_count": len(text.splitlines())}
print(json.dumps(counts, indent=2, sort_keys=True))
'''


def count_output(text: str) -> str:
    """What ``count.py`` prints for ``text`` (the scaffold's expected output)."""
    counts = {"word_count": len(text.split()), "line_count": len(text.splitlines())}
    return json.dumps(counts, indent=2, sort_keys=True) + "\n"


def create_skill(name: str, parent: Path) -> Path:
    """Write the scaffold for ``name`` under ``parent``; returns the new skill's folder."""
    check_name(name)
    folder = parent / name
    if folder.exists():
        raise Conflict(f"{folder} already exists; pick another name or remove it", param="name")
    (folder / "scripts").mkdir(parents=True)
    (folder / "test" / "fixtures").mkdir(parents=True)
    (folder / "test" / "expected" / "example").mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD.format(name=name), encoding="utf-8")
    script = folder / "scripts" / "count.py"
    script.write_text(COUNT_PY, encoding="utf-8")
    script.chmod(0o755)
    fixture = {"description": "A short two-line text.", "inputs": {"text": EXAMPLE_TEXT}}
    (folder / "test" / "fixtures" / "example.json").write_text(
        json.dumps(fixture, indent=2) + "\n", encoding="utf-8"
    )
    (folder / "test" / "expected" / "example" / "count.out").write_text(
        count_output(EXAMPLE_TEXT), encoding="utf-8"
    )
    return folder
