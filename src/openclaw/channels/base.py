"""What every channel has: a lifecycle, a state, and the last thing that went wrong.

A channel is started by the :class:`~openclaw.channels.manager.ChannelManager` when the
daemon starts and stopped when it stops (or when a reload changes its entry in
``channels.yaml``). ``start`` must not raise for problems in the outside world (a missing
token, Slack unreachable): it records them with :meth:`Channel.fail`, which is what
``openclaw channels status`` shows. A channel that can receive gateway events
(``notify: true``, webhooks) implements :meth:`Channel.deliver`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from openclaw.channels.redact import redact

if TYPE_CHECKING:
    from openclaw.channels.events import Event
    from openclaw.config.schema import CliChannel, SlackChannel, WebhookChannel
    from openclaw.server.state import AppState

    ChannelConfig = CliChannel | SlackChannel | WebhookChannel

State = Literal["stopped", "starting", "running", "error"]


class Channel:
    """Base class: subclasses override :meth:`start`, :meth:`stop` and maybe :meth:`deliver`."""

    kind = "channel"

    def __init__(self, config: ChannelConfig, state: AppState) -> None:
        self.config = config
        self.app_state = state
        self.name = config.name
        self.state: State = "stopped"
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.started_at: float | None = None
        self.last_activity_at: float | None = None
        self.handled = 0  # messages, commands or events this channel has dealt with
        self.log = logging.getLogger(f"openclaw.channels.{self.name}")

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.state = "running"
        self.started_at = time.time()

    async def stop(self) -> None:
        self.state = "stopped"

    # -- events ----------------------------------------------------------------------
    @property
    def receives_events(self) -> bool:
        return False

    def accepts(self, kind: str) -> bool:
        wanted: list[str] = list(getattr(self.config, "events", []) or [])
        return self.receives_events and (not wanted or kind in wanted)

    async def deliver(self, event: Event) -> None:
        """Send one gateway event; raise to have the bus count it as failed."""

    # -- bookkeeping -----------------------------------------------------------------
    def fail(self, message: str, *, state: State | None = "error") -> None:
        """Record a problem (secrets stripped) and, by default, mark the channel broken."""
        self.last_error = redact(message)
        self.last_error_at = time.time()
        if state is not None:
            self.state = state
        self.log.error("channel %s: %s", self.name, self.last_error)

    def touch(self) -> None:
        self.handled += 1
        self.last_activity_at = time.time()

    def details(self) -> dict[str, Any]:
        """Type-specific facts for status output (never secret values)."""
        return {}

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.config.type,
            "state": self.state,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "started_at": self.started_at,
            "last_activity_at": self.last_activity_at,
            "handled": self.handled,
            "notify": self.receives_events,
            **self.details(),
        }
