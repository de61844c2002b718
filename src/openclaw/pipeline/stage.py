"""The pipeline's interfaces: what a stage, the dispatcher, an ingress and an event sink are.

Stages (limits, policies, cache) and the dispatcher (routing) live in packages above the
pipeline and import these; the pipeline never imports them. The assembly
(:mod:`openclaw.assembly`) builds the concrete objects and hands them to
:class:`~openclaw.pipeline.gateway.Gateway`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from openclaw.audit.record import AuditRecord
from openclaw.config.schema import EVENT_KINDS
from openclaw.errors import OpenClawError
from openclaw.pipeline.exchange import Exchange, Json

log = logging.getLogger("openclaw.events")


class Stage(Protocol):
    """A pipeline stage. Besides ``before``, a stage may define (found with getattr):

    - ``async def after(ex)``: after a successful answer (complete: after the response
      filters; stream: after the last upstream chunk, before the final one), e.g. to store
      it in a cache;
    - ``async def release(ex)``: exactly once when the exchange ends, however it ends
      (success, error, refusal by an earlier stage, client gone), e.g. to free a
      concurrency slot or settle token usage. Per-request state goes in ``ex.scratch``;
    - ``async def aclose()``: when the gateway that owns it is closed;
    - ``dry_run = True``: ``before`` has no side effects beyond the exchange, so
      :meth:`Gateway.dry_run` runs it (``openclaw policy check``). Stages that spend
      something (rate limits, cache entries) leave it out.

    Errors in ``after`` and ``release`` are logged, never raised: the answer is decided.
    """

    name: str

    async def before(self, ex: Exchange) -> None: ...


class BreakerBoard(Protocol):
    """What callers outside routing read of the circuit breakers."""

    listeners: list[Callable[[str, str, str], None]]

    def snapshot(self) -> dict[str, dict[str, object]]: ...


class Dispatch(Protocol):
    """Sends a prepared exchange upstream (``openclaw.routing.dispatch.Dispatcher``)."""

    @property
    def breakers(self) -> BreakerBoard: ...

    async def complete(self, ex: Exchange) -> Json: ...

    def stream(self, ex: Exchange) -> AsyncIterator[Json]: ...


class ClientGone(ConnectionResetError):
    """Raised by a responder when the client stopped reading or left; the exchange ends
    with status 499 and ``client_gone: <reason>`` in its record."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class Responder(Protocol):
    """An ingress's renderer: turns the pipeline's outcome into its wire format.

    :meth:`Gateway.run` calls exactly one of ``answer`` or ``refuse``, or ``open`` followed
    by ``send``s and then exactly one of ``close`` or ``cut``. The audit record is written
    before ``answer``, ``refuse``, ``close`` and ``cut``, so a client that saw the end of a
    response always has its record.
    """

    async def answer(self, ex: Exchange, resp: Json) -> None:
        """A complete (non-streamed) answer, in OpenAI chat format."""

    async def refuse(self, ex: Exchange, exc: OpenClawError) -> None:
        """An error before any byte of the answer went out."""

    async def open(self, ex: Exchange) -> None:
        """A stream starts (its first chunk is ready): send the headers."""

    async def send(self, ex: Exchange, chunk: Json) -> None:
        """One OpenAI chat chunk; raising ends the exchange as 'client gone'."""

    async def close(self, ex: Exchange) -> None:
        """The stream ended well."""

    async def cut(self, ex: Exchange, exc: OpenClawError) -> None:
        """The stream failed after it was opened."""


class Tracer(Protocol):
    """Traces requests (``openclaw.telemetry``): ``begin`` when the exchange starts, ``end``
    with its audit record. Neither may raise or block: exporting happens elsewhere."""

    def begin(self, ex: Exchange) -> None: ...

    def end(self, ex: Exchange, record: AuditRecord) -> None: ...


class EventRelay:
    """Where stages report gateway events (budget spent, rate limited); channels listen.

    One relay per daemon, outliving config reloads, so a channel manager that subscribes
    once hears every gateway it serves. A listener that fails never changes the answer.
    """

    def __init__(self) -> None:
        self.listeners: list[Callable[[str, dict[str, Any], str | None], Any]] = []

    def subscribe(self, fn: Callable[[str, dict[str, Any], str | None], Any]) -> None:
        if fn not in self.listeners:
            self.listeners.append(fn)

    def unsubscribe(self, fn: Callable[[str, dict[str, Any], str | None], Any]) -> None:
        if fn in self.listeners:
            self.listeners.remove(fn)

    def emit(self, kind: str, data: dict[str, Any], key: str | None = None) -> None:
        if kind not in EVENT_KINDS:  # a typo fails even when nothing listens
            raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
        for fn in list(self.listeners):
            try:
                fn(kind, data, key)
            except Exception:
                log.exception("event listener failed (%s)", kind)
