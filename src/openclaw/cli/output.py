"""The CLI's one JSON convention, shared by every command that reads state.

``--json`` prints exactly one JSON document on stdout (UTF-8, two-space indent, keys in
snake_case, times in ISO 8601 UTC) and nothing else there; human messages go to stderr.
The exit status is the same as without ``--json``. A command that checks something (config
validate, audit verify, skill lint, doctor) says so in the document with ``"ok"`` and lists
what it found, instead of printing an error line. Commands that follow a stream (``audit
tail -f``, ``logs -f``) print JSON Lines instead: one object per line, as they arrive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print one JSON document on stdout (see 'JSON output' in the README)."


def json_option(f: F) -> F:
    """``--json`` as the ``as_json`` parameter, with the shared help text."""
    return click.option("--json", "as_json", is_flag=True, help=JSON_HELP)(f)


def echo_json(doc: Any) -> None:
    """Print ``doc`` by the convention above (paths and other objects as strings)."""
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
