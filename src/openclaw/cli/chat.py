"""``openclaw chat``: an interactive session with the gateway in the terminal.

Each turn streams from the running daemon as it arrives, rendered as Markdown, followed by a
footer: draft marking, the model that answered, and any policy reroute or failover. The
conversation is kept for the session. Commands: ``/model <alias>``, ``/task <name>``,
``/reset``, ``/exit`` (or Ctrl-D). Ctrl-C stops the current answer.
"""

from __future__ import annotations

from typing import Any

import click
import httpx
from rich.console import Console

from openclaw.channels.terminal import GatewaySession, render_reply, terminal_settings
from openclaw.config import home_dir
from openclaw.errors import OpenClawError

HELP = "/model <alias>  /task <name>  /reset  /exit (or Ctrl-D)"


def _check_running(session: GatewaySession) -> None:
    try:
        session.client.get("/healthz", timeout=2.0)
    except httpx.HTTPError:
        raise session.not_running() from None


def _command(
    line: str, session: GatewaySession, history: list[dict[str, Any]], console: Console
) -> bool:
    """Handle a /command; False means leave the session."""
    verb, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if verb in ("exit", "quit", "q"):
        return False
    if verb == "model" and arg:
        session.model = arg
        console.print(f"[dim]model: {arg}[/]")
    elif verb == "task":
        session.task = arg or None
        console.print(f"[dim]task: {arg or 'none'}[/]")
    elif verb == "reset":
        history.clear()
        console.print("[dim]conversation cleared[/]")
    else:
        console.print(f"[dim]{HELP}[/]")
    return True


@click.command("chat")
@click.option(
    "--model", "-m", default=None, help="Model alias (default: the channel's, else auto)."
)
@click.option("--task", "-t", default=None, help="Task, routed by use_for in models.yaml.")
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
def cli(model: str | None, task: str | None, port: int | None) -> None:
    """Chat with the gateway interactively (audited as the terminal channel)."""
    home = home_dir()
    settings = terminal_settings(home)
    session = GatewaySession(home, settings, port=port, model=model, task=task)
    console = Console()
    try:
        _check_running(session)
        console.print(
            f"[bold]OpenClaw chat[/] · channel {settings.channel} · model {session.model}"
            + (f" · task {session.task}" if session.task else "")
            + f"\n[dim]{HELP}[/]",
            highlight=False,
        )
        history: list[dict[str, Any]] = []
        while True:
            try:
                line = console.input("[bold cyan]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                break
            if not line:
                continue
            if line.startswith("/"):
                if not _command(line, session, history, console):
                    break
                continue
            history.append({"role": "user", "content": line})
            try:
                reply = render_reply(session, history, console)
            except KeyboardInterrupt:
                history.pop()
                console.print("[dim](stopped)[/]")
                continue
            except OpenClawError as exc:
                history.pop()
                if exc.code == "gateway_not_running":
                    raise
                console.print(f"[red]error:[/] {exc.message}", highlight=False)
                continue
            history.append({"role": "assistant", "content": reply.text})
    finally:
        session.close()
