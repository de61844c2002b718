"""The ``openclaw`` command line: a click group split by noun.

Each noun lives in its own module and exports ``cli``; :data:`COMMANDS` lists them. Errors
from the gateway (:class:`openclaw.errors.OpenClawError`) become one-line messages.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click

from openclaw import __version__
from openclaw.errors import OpenClawError

# module under openclaw.cli -> attribute holding a click command or group
COMMANDS: list[str] = [
    "gateway",
    "models",
    "config",
    "policy",
    "audit",
    "onboard",
    "doctor",
    "logs",
    "skill",
    "dashboard",
    "channels",
    "chat",
    "ask",
    "service",
    "completion",
]
#: Other names of a command: upstream OpenClaw users type ``openclaw skills``.
ALIASES: dict[str, str] = {"skills": "skill"}


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OpenClawError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="openclaw")
def main() -> None:
    """OpenClaw: a local AI gateway on 127.0.0.1:18789.

    Services call it with any OpenAI SDK; it applies your policies, routes to the right
    provider, and writes every request to ~/.openclaw/audit.log.
    """


for _name in COMMANDS:
    _mod = import_module(f"openclaw.cli.{_name}")
    main.add_command(_mod.cli)
for _alias, _target in ALIASES.items():
    main.add_command(main.commands[_target], name=_alias)


def run() -> None:  # pragma: no cover - console entry point alias
    sys.exit(main())
