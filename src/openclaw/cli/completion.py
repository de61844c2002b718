"""``openclaw completion bash|zsh|fish``: the shell completion script, from click itself.

click completes commands, options and choices when the shell calls the program with
``_OPENCLAW_COMPLETE=<shell>_source``; this prints that same script, so installing it is
one line in the shell's startup file and it never drifts from the commands.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")
PROG = "openclaw"  # the console script's name: the script calls it back by this name


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def cli(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash: eval "$(openclaw completion bash)"   in ~/.bashrc
    zsh:  eval "$(openclaw completion zsh)"    in ~/.zshrc
    fish: openclaw completion fish > ~/.config/fish/completions/openclaw.fish
    """
    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # click knows all three; this guards a click without one of them
        raise click.ClickException(f"this click has no {shell} completion")
    click.echo(cls(root.command, {}, PROG, f"_{PROG.upper()}_COMPLETE").source())
