"""``openclaw ask "text"``: one question through the gateway, answer on stdout.

Piped input is appended to the question, so ``git diff | openclaw ask "review this"`` sends
the instruction followed by the diff. On a terminal the answer is rendered as Markdown; into a
pipe it is written raw and the footer (draft, model, reroutes) goes to stderr.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console

from openclaw.channels.terminal import GatewaySession, render_reply, terminal_settings
from openclaw.config import home_dir


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.closed or sys.stdin.isatty():
        return ""
    return sys.stdin.read()


@click.command("ask")
@click.argument("text", nargs=-1)
@click.option(
    "--model", "-m", default=None, help="Model alias (default: the channel's, else auto)."
)
@click.option("--task", "-t", default=None, help="Task, routed by use_for in models.yaml.")
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
def cli(text: tuple[str, ...], model: str | None, task: str | None, port: int | None) -> None:
    """Ask one question (also reads piped stdin) and print the answer."""
    question = " ".join(text).strip()
    piped = read_stdin()
    if piped.strip():
        question = f"{question}\n\n{piped}" if question else piped
    if not question.strip():
        raise click.UsageError('give a question, e.g. openclaw ask "what is a draft?"')
    home = home_dir()
    session = GatewaySession(home, terminal_settings(home), port=port, model=model, task=task)
    console = Console()
    try:
        render_reply(
            session,
            [{"role": "user", "content": question}],
            console,
            notes=None if console.is_terminal else sys.stderr,
        )
    finally:
        session.close()
