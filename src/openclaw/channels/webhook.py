"""A ``webhook`` channel: gateway events as signed JSON POSTs.

Body: ``{"id", "kind", "ts", "data"}`` (see :class:`~openclaw.channels.events.Event`).
Headers: ``X-OpenClaw-Event`` (the kind), ``X-OpenClaw-Delivery`` (the event id, the same on
every retry so a receiver can drop duplicates), ``X-OpenClaw-Timestamp`` (unix seconds, fresh
per attempt) and ``X-OpenClaw-Signature: sha256=<hex>``, HMAC-SHA256 with ``secret`` over
``<timestamp>.<body>``. A channel without a usable secret does not start: events are never
sent unsigned. Retries (network errors, 408, 429, 5xx) are the event bus's, with backoff.
Status output names only the receiver's origin, since webhook URLs often embed a token.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson

from openclaw import __version__
from openclaw.channels.base import Channel
from openclaw.channels.events import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    Event,
    sign,
)
from openclaw.channels.redact import register_secret

if TYPE_CHECKING:
    from openclaw.config.schema import WebhookChannel

_RETRY_STATUSES = frozenset({408, 425, 429})


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


class WebhookSender(Channel):
    kind = "webhook"
    config: WebhookChannel

    _secret: str | None = None
    _client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        ref = self.config.secret
        if ref is None:
            self.fail(
                "a webhook needs 'secret: ${SOME_VAR}' to sign its events; none is configured"
            )
            return
        secret = ref.resolve()
        if not secret:
            self.fail(f"the webhook secret {ref.describe()} is not set in the daemon's environment")
            return
        register_secret(secret)
        self._secret = secret
        self._client = httpx.AsyncClient(
            timeout=self.config.timeout,
            headers={"User-Agent": f"openclaw/{__version__}", "Content-Type": "application/json"},
        )
        await super().start()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await super().stop()

    @property
    def receives_events(self) -> bool:
        return self.state == "running"

    async def deliver(self, event: Event) -> None:
        if self._client is None or self._secret is None:
            raise DeliveryError("the webhook channel is not running", retryable=False)
        body = orjson.dumps(event.to_dict())
        ts = str(int(time.time()))
        headers = {
            EVENT_HEADER: event.kind,
            DELIVERY_HEADER: event.id,
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self._secret, ts, body),
        }
        where = origin(self.config.url)
        try:
            resp = await self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where} could not be reached ({type(exc).__name__})") from None
        if resp.status_code < 300:
            return
        retryable = resp.status_code >= 500 or resp.status_code in _RETRY_STATUSES
        raise DeliveryError(f"{where} answered HTTP {resp.status_code}", retryable=retryable)

    def details(self) -> dict[str, Any]:
        return {
            "url": origin(self.config.url),
            "events": self.config.events or "all",
            "secret": self.config.secret.describe() if self.config.secret else None,
        }
