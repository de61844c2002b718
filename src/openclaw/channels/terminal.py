"""The terminal channel: ``openclaw chat`` and ``openclaw ask`` talking to the daemon.

Both send ``POST /v1/chat/completions`` with ``stream: true`` to the running daemon, with the
gateway token and ``X-OpenClaw-Channel: <cli channel name>`` (``developer_terminal`` in the
seed), so every turn goes through the daemon's full pipeline and its one audit log.

There is deliberately no in-process fallback when no daemon answers: a second process writing
the same hash-chained audit log would fork the chain, and the daemon's policies, breakers and
budgets would be bypassed. The commands say in one line that the gateway is not running and
how to start it.

Rendering: on a terminal the answer is shown as Markdown (rich) and redrawn as it streams in;
into a pipe it is written raw, chunk by chunk, so ``openclaw ask ... > review.md`` keeps the
model's Markdown. A footer says it is a draft, which model answered, and whether a policy
rerouted it or a failover happened (to stderr when stdout is a pipe).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from openclaw.channels.base import Channel
from openclaw.config import DEFAULT_HOST
from openclaw.daemon_units.record import gateway_port
from openclaw.errors import OpenClawError
from openclaw.providers.registry import load_checked_config
from openclaw.server.auth import read_token

DEFAULT_CHANNEL = "developer_terminal"
PII_RULE = "if_context_contains_pii_use_sensitive_model"


class TerminalChannel(Channel):
    """The daemon's side of a ``cli`` channel: passive, it tracks the terminal's requests."""

    kind = "terminal"

    def details(self) -> dict[str, Any]:
        return {
            "default_task": getattr(self.config, "default_task", None),
            "default_model": getattr(self.config, "default_model", None),
        }


# ---------------------------------------------------------------------- client side


class GatewayNotRunning(OpenClawError):
    code = "gateway_not_running"


@dataclass
class TerminalSettings:
    channel: str = DEFAULT_CHANNEL
    default_task: str | None = None
    default_model: str | None = None


def terminal_settings(home: Path) -> TerminalSettings:
    """The first ``cli`` channel in channels.yaml (the seed's ``developer_terminal``)."""
    try:
        cfg = load_checked_config(home)
    except OpenClawError:
        return TerminalSettings()  # the daemon reports broken config; the terminal still works
    for ch in cfg.channels.channels:
        if ch.type == "cli":
            return TerminalSettings(ch.name, ch.default_task, ch.default_model)
    return TerminalSettings()


@dataclass
class Reply:
    text: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class GatewaySession:
    """Streams chat turns from the daemon (sync httpx: the CLI has no event loop)."""

    def __init__(
        self,
        home: Path,
        settings: TerminalSettings,
        *,
        port: int | None = None,
        model: str | None = None,
        task: str | None = None,
    ) -> None:
        self.settings = settings
        self.port = _port(port)
        self.model = model or settings.default_model or "auto"
        self.task = task or settings.default_task
        token = read_token(home)
        headers = {
            "X-OpenClaw-Channel": settings.channel,
            "X-OpenClaw-Service": f"cli:{settings.channel}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(connect=5.0, read=600.0, write=30.0, pool=5.0),
            trust_env=False,
        )

    @property
    def url(self) -> str:
        return f"http://{DEFAULT_HOST}:{self.port}"

    def close(self) -> None:
        self.client.close()

    def not_running(self) -> GatewayNotRunning:
        return GatewayNotRunning(
            f"OpenClaw gateway is not running at {self.url}; start it with 'openclaw gateway start'"
        )

    def stream(self, messages: list[dict[str, Any]], reply: Reply) -> Iterator[str]:
        """Yield text as it arrives; ``reply`` collects the text, facts and headers."""
        body = {"model": self.model, "messages": messages, "stream": True}
        headers = {"X-OpenClaw-Task": self.task} if self.task else {}
        try:
            with self.client.stream(
                "POST", "/v1/chat/completions", json=body, headers=headers
            ) as r:
                reply.headers = dict(r.headers)
                if r.status_code != 200:
                    r.read()
                    raise _error_from(r.status_code, r.text)
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    obj = json.loads(data)
                    if "error" in obj:
                        raise _error_from(500, data)
                    if isinstance(obj.get("openclaw"), dict):
                        reply.facts = obj["openclaw"]
                    for choice in obj.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            reply.text += piece
                            yield piece
        except httpx.ConnectError:
            raise self.not_running() from None
        except httpx.TimeoutException:
            raise OpenClawError("the gateway did not answer in time") from None
        except httpx.HTTPError as exc:
            raise OpenClawError(
                f"the connection to the gateway failed ({type(exc).__name__})"
            ) from None


def _port(port: int | None) -> int:
    return gateway_port(port)


def _error_from(status: int, text: str) -> OpenClawError:
    try:
        err = json.loads(text)["error"]
        message = str(err.get("message") or "request failed")
    except (ValueError, KeyError, TypeError, AttributeError):
        message = f"the gateway answered HTTP {status}"
    return OpenClawError(message, status=status)


# ---------------------------------------------------------------------- rendering


def footer(reply: Reply) -> str:
    """'draft: review before acting · model general (mock/mock-general) · ...'."""
    f = reply.facts
    parts = []
    if f.get("draft") or reply.headers.get("x-openclaw-draft") == "true":
        parts.append("draft: review before acting")
    model = f.get("model") or reply.headers.get("x-openclaw-model")
    if model:
        where = f"{f.get('provider')}/{f.get('provider_model')}" if f.get("provider") else None
        parts.append(f"model {model}" + (f" ({where})" if where else ""))
    for d in f.get("policies") or []:
        before, after = d.get("model_before"), d.get("model_after")
        if after and before != after:
            verb = "rerouted" if d.get("outcome") == "applied" else "would reroute"
            why = ""
            if d.get("rule") == PII_RULE:
                why = " because personal data was found"
                if d.get("entities"):
                    why += f" ({', '.join(d['entities'])})"
            parts.append(f"policy {d.get('policy')} {verb} {before} -> {after}{why}")
    if f.get("fallback_from"):
        parts.append(f"failover from {f['fallback_from']}")
    if f.get("cache") == "hit":
        parts.append("from cache")
    return " · ".join(parts)


def render_reply(
    session: GatewaySession,
    messages: list[dict[str, Any]],
    console: Console,
    *,
    notes: TextIO | None = None,
) -> Reply:
    """Stream one answer to ``console``; the footer goes to ``notes`` (or the console)."""
    reply = Reply()
    if console.is_terminal:
        with Live(
            Markdown(""), console=console, refresh_per_second=12, vertical_overflow="visible"
        ) as live:
            for _piece in session.stream(messages, reply):
                live.update(Markdown(reply.text))
            live.update(Markdown(reply.text))
    else:
        out = console.file
        for piece in session.stream(messages, reply):
            out.write(piece)
            out.flush()
        if reply.text and not reply.text.endswith("\n"):
            out.write("\n")
        out.flush()
    line = footer(reply)
    if line:
        if notes is not None:
            notes.write(line + "\n")
            notes.flush()
        else:
            console.print(f"[dim]{line}[/]", highlight=False)
    return reply
