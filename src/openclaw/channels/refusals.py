"""What a channel refused, in the audit log: each refusal once, a burst as one summary.

A Slack member outside the allowlists, or one who may not run skills, is refused. Each
refusal is audited (so the log shows who tried what, where), but through a
:class:`~openclaw.audit.refusals.RefusalLedger`: per (reason, user, conversation) the first
few in a minute get a record each, like any refused request (status 403, ``refused_at:
"slack"``, the Slack user and conversation IDs, never the message text); the rest are
counted, and when the minute is over one summary record carries the count
(``refusals: {count, total, first, last}``). A redelivered event is de-duplicated before it
gets here, so it is not audited twice.

When a summary shows a burst (``total`` of at least :data:`SPIKE_AT` in the window), the
channel also tells ``notify`` channels with a ``refusal_spike`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from openclaw.audit.refusals import OVERFLOW, RefusalLedger, RefusalSummary
from openclaw.errors import OpenClawError, PermissionDenied
from openclaw.pipeline.gateway import Collect

if TYPE_CHECKING:
    from openclaw.channels.base import Channel

log = logging.getLogger("openclaw.channels")

BURST = 3  # refusals per key and window audited one by one
WINDOW = 60.0  # seconds
SPIKE_AT = 20  # refusals of one key in one window that make a refusal_spike event


def _ts(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _parts(s: RefusalSummary) -> tuple[str, str, str]:
    """(code, user, conversation) of a summary; the ledger's overflow key has none."""
    if s.key == OVERFLOW:
        return "refused", "(many)", "(many)"
    code, user, where = s.key
    return code, user, where


class ChannelRefusals:
    """The refusals of one channel: :meth:`refuse` on each, :meth:`close` when it stops."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.ledger = RefusalLedger(burst=BURST, window=WINDOW)
        self._timer: asyncio.TimerHandle | None = None
        self._recording: set[asyncio.Task[None]] = set()

    @property
    def service(self) -> str:
        return f"{self.channel.kind}:{self.channel.name}"

    def refuse(self, code: str, message: str, *, user: str | None, where: str | None) -> None:
        """Audit one refusal (or count it), and arrange for the count to be written."""
        key = (code, str(user or "-"), str(where or "-"))
        if self.ledger.admit(key):
            self._record(PermissionDenied(message, code=code), user, where)
        if self.ledger.pending and self._timer is None:
            with contextlib.suppress(RuntimeError):  # no loop: close() writes it
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.ledger.window, self._flush)

    def _record(self, exc: OpenClawError, user: str | None, where: str | None) -> None:
        """The refusal's record, through the pipeline's entry point like any refusal."""
        gw = self.channel.app_state.gateway
        try:
            ex = gw.exchange({}, service=self.service, channel=self.channel.name, raw=b"")
            ex.requested_model = None
            ex.audit.request_sha256 = None  # nothing was asked
            ex.audit.refused_at = self.channel.kind
            ex.audit.channel_user = user
            ex.audit.channel_conversation = where
            ex.fail(exc)
            task = asyncio.get_running_loop().create_task(gw.run(ex, Collect()))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)
        except Exception:  # the refusal stands even if its record cannot be written
            log.exception("could not audit a refusal on channel %s", self.channel.name)

    def _summary(self, s: RefusalSummary) -> dict[str, Any]:
        code, user, where = _parts(s)
        return {
            "ts": _ts(s.last),
            "request_id": None,
            "service": self.service,
            "channel": self.channel.name,
            "status": 403,
            "error": {
                "code": code,
                "type": PermissionDenied.type,
                "message": f"{s.count} more refusal(s) like the ones audited above, summarised",
            },
            "refused_at": self.channel.kind,
            "channel_user": user,
            "channel_conversation": where,
            "refusals": {
                "count": s.count,
                "total": s.total,
                "first": _ts(s.first),
                "last": _ts(s.last),
            },
        }

    def _flush(self, *, all_: bool = False) -> None:
        self._timer = None
        audit = self.channel.app_state.gateway.audit
        for s in self.ledger.due(flush=all_):
            try:
                audit.write(self._summary(s))
            except OpenClawError:
                log.error("could not write a refusal summary: %s", audit.last_error)
            if s.total >= SPIKE_AT and not all_:  # not while stopping: nobody to tell
                code, user, where = _parts(s)
                self.channel.app_state.gateway.events.emit(
                    "refusal_spike",
                    {
                        "reason": code,
                        "source": f"{self.service} user {user} in {where}",
                        "count": s.total,
                        "window_seconds": self.ledger.window,
                    },
                    key=f"{code}|{self.service}|{user}|{where}",
                )
        if self.ledger.pending:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.ledger.window, self._flush)

    def close(self) -> None:
        """Write every pending count now (the channel is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
        self._flush(all_=True)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
