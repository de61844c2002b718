"""Gateway events: what happened, told to the channels that asked to hear about it.

:meth:`EventBus.emit` never waits: it hands the event to one small queue per receiving
channel (``notify: true`` Slack channels, ``webhook`` channels) and returns, so a slow or dead
receiver can never hold up a request. Each channel has its own worker that delivers events in
order and retries a failed delivery with exponential backoff (full jitter) up to the
channel's ``max_attempts``; a queue that overflows drops its oldest event and counts it.

Events carry facts about the gateway (aliases, deployments, request ids, error codes), never
message content, so nothing a user wrote travels to another channel.

Webhooks are signed like Slack signs its requests: ``X-OpenClaw-Signature: sha256=<hex>`` is
HMAC-SHA256 with the channel's secret over ``<X-OpenClaw-Timestamp>.<body>``;
:func:`verify_signature` is the receiver's side.

The pipeline's stages report events on the gateway's
:class:`~openclaw.pipeline.stage.EventRelay` (the limits stage's ``rate_limited`` and
``budget_exceeded``); the channel manager relays them onto its bus while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from openclaw.clock import Clock, SystemClock
from openclaw.config.schema import EVENT_KINDS

if TYPE_CHECKING:
    from openclaw.channels.base import Channel

log = logging.getLogger("openclaw.channels.events")

SIGNATURE_HEADER = "X-OpenClaw-Signature"
TIMESTAMP_HEADER = "X-OpenClaw-Timestamp"
EVENT_HEADER = "X-OpenClaw-Event"
DELIVERY_HEADER = "X-OpenClaw-Delivery"

QUEUE_SIZE = 200  # per receiving channel
BACKOFF_BASE = 0.5  # seconds; attempt n waits up to BACKOFF_BASE * 2**n
BACKOFF_CAP = 30.0
THROTTLE_SECONDS = 60.0  # one event per (kind, key) in this window; the rest are counted
DEFAULT_ATTEMPTS = 3  # for receivers without their own max_attempts (Slack)


class DeliveryError(Exception):
    """A receiver refused an event; ``retryable=False`` (e.g. HTTP 400) stops the retries."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        when = datetime.fromtimestamp(self.ts, UTC).isoformat(timespec="milliseconds")
        return {
            "id": self.id,
            "kind": self.kind,
            "ts": when.replace("+00:00", "Z"),
            "data": self.data,
        }

    def summary(self) -> str:
        """One line for people (Slack): what happened, without any message content."""
        d = self.data
        if self.kind == "failover":
            tried = ", ".join(
                f"{a.get('deployment')} ({a.get('outcome')})" for a in d.get("attempts", [])
            )
            served = d.get("served_by") or "nothing (every deployment failed)"
            return f"Failover on model '{d.get('model')}': tried {tried}; served by {served}."
        if self.kind in ("breaker_opened", "breaker_closed"):
            verb = "opened" if self.kind == "breaker_opened" else "closed"
            return f"Circuit breaker {verb} for {d.get('deployment')} (was {d.get('previous')})."
        if self.kind == "config_reload_failed":
            return f"Config reload failed; the previous config keeps serving: {d.get('error')}"
        if self.kind == "audit_write_failed":
            return f"Audit log write failed: {d.get('error')}"
        if self.kind == "refusal_spike":
            return (
                f"Refusal spike: {d.get('count')} request(s) refused in "
                f"{d.get('window_seconds', 0):g}s ({d.get('reason')}, from {d.get('source')}); "
                "the audit log has them summarised."
            )
        if self.kind in ("rate_limited", "budget_exceeded"):
            what = "Rate limit" if self.kind == "rate_limited" else "Budget"
            facts = ", ".join(f"{k}={v}" for k, v in sorted(d.items()))
            return f"{what} exceeded ({facts})."
        return f"{self.kind}: {d}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """True if ``signature`` is ours for this body and the timestamp is recent."""
    try:
        ts = float(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class _Outbox:
    """One receiving channel's queue and worker."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.queue: deque[Event] = deque()
        self.wake = asyncio.Event()
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self.task: asyncio.Task[None] | None = None

    def put(self, event: Event) -> None:
        if len(self.queue) >= QUEUE_SIZE:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(event)
        self.wake.set()

    async def run(self) -> None:
        while True:
            if not self.queue:
                self.wake.clear()
                await self.wake.wait()
                continue
            event = self.queue.popleft()
            await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        attempts = int(getattr(self.channel.config, "max_attempts", DEFAULT_ATTEMPTS))
        for n in range(attempts):
            try:
                await self.channel.deliver(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                final = isinstance(exc, DeliveryError) and not exc.retryable
                if final or n + 1 >= attempts:
                    self.failed += 1
                    self.channel.fail(
                        f"event {event.kind} ({event.id}) not delivered after {n + 1} "
                        f"attempt(s): {reason}",
                        state=None,
                    )
                    return
                await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**n)))
                continue
            self.delivered += 1
            self.channel.touch()
            return


class EventBus:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()  # the throttle window
        self._outboxes: dict[str, _Outbox] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self.recent: deque[Event] = deque(maxlen=50)
        self.emitted = 0

    # -- wiring ------------------------------------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def set_receivers(self, channels: list[Channel]) -> None:
        """Replace the receiving channels; workers of unchanged channels keep their queue."""
        wanted = {c.name: c for c in channels if c.receives_events}
        for name in list(self._outboxes):
            box = self._outboxes[name]
            if wanted.get(name) is not box.channel:
                if box.task is not None:
                    box.task.cancel()
                del self._outboxes[name]
        for name, ch in wanted.items():
            if name not in self._outboxes:
                box = _Outbox(ch)
                box.task = asyncio.get_running_loop().create_task(box.run(), name=f"events:{name}")
                self._outboxes[name] = box

    async def stop(self, drain: float = 2.0) -> None:
        """Give queued events ``drain`` seconds to go out, then cancel the workers."""
        deadline = time.monotonic() + drain
        while any(b.queue for b in self._outboxes.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        tasks = [b.task for b in self._outboxes.values() if b.task is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._outboxes.clear()

    # -- emitting ------------------------------------------------------------------------
    def emit(
        self, kind: str, data: dict[str, Any] | None = None, *, key: str | None = None
    ) -> Event | None:
        """Queue an event for every channel that wants it; returns at once.

        ``key`` coalesces repeats: one event per (kind, key) per :data:`THROTTLE_SECONDS`,
        the next one saying how many were suppressed. Safe to call from any thread.
        """
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        payload = dict(data or {})
        if key is not None:
            now = self.clock.monotonic()
            last, suppressed = self._last.get((kind, key), (float("-inf"), 0))
            if now - last < THROTTLE_SECONDS:
                self._last[(kind, key)] = (last, suppressed + 1)
                return None
            if suppressed:
                payload["suppressed"] = suppressed
            self._last[(kind, key)] = (now, 0)
        event = Event(kind, payload)
        loop = self._loop
        if loop is None or loop.is_closed():
            return None
        if _on_loop(loop):
            self._fan_out(event)
        else:
            loop.call_soon_threadsafe(self._fan_out, event)
        return event

    def _fan_out(self, event: Event) -> None:
        self.emitted += 1
        self.recent.append(event)
        log.info("event %s %s", event.kind, event.id)
        for box in self._outboxes.values():
            if box.channel.accepts(event.kind):
                box.put(event)

    def status(self) -> dict[str, Any]:
        return {
            "emitted": self.emitted,
            "receivers": {
                name: {
                    "queued": len(b.queue),
                    "delivered": b.delivered,
                    "failed": b.failed,
                    "dropped": b.dropped,
                }
                for name, b in self._outboxes.items()
            },
            "recent": [e.to_dict() for e in list(self.recent)[-10:]],
        }


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
