"""``openclaw dashboard``: open the live dashboard in a browser, signed in.

The gateway token never goes into a URL. This command (which can read the token) asks the
running daemon for a one-time login link that works once, for about a minute, and opens it;
the browser then holds its own session cookie.
"""

from __future__ import annotations

import webbrowser

import click
import httpx

from openclaw.cli.client import base_url, client


@click.command(name="dashboard")
@click.option(
    "--no-open", is_flag=True, help="Print the one-time login link instead of opening it."
)
@click.option(
    "--port", type=int, default=None, help="Gateway port (default $OPENCLAW_PORT or 18789)."
)
def cli(no_open: bool, port: int | None) -> None:
    """Open the gateway dashboard (charts of requests, latency, cost, policies, upstreams)."""
    try:
        with client(port=port) as c:
            r = c.post("/v1/dashboard/login-link")
    except httpx.HTTPError as exc:
        raise click.ClickException(
            f"cannot reach the gateway at {base_url(port=port)} ({type(exc).__name__}); "
            "start it with 'openclaw gateway start'"
        ) from None
    if r.status_code == 401:
        raise click.ClickException(
            "the gateway refused this machine's token; is $OPENCLAW_HOME the daemon's home?"
        )
    if r.status_code != 200:
        raise click.ClickException(f"the gateway answered {r.status_code} for a login link")
    data = r.json()
    url = str(data["url"])
    life = float(data.get("expires_in", 60))
    if no_open:
        click.echo(url)
        click.echo(f"(one-time link, valid for {life:g} seconds)", err=True)
        return
    if webbrowser.open(url):
        click.echo(
            f"Opened the OpenClaw dashboard in your browser ({base_url(port=port)}/dashboard)"
        )
    else:
        click.echo(
            "No browser could be started here; open this one-time link (valid "
            f"{life:g} seconds) yourself:\n{url}"
        )
