"""What the ingress translators share: field errors, type checks, SSE frames, tool arguments."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import orjson

from openclaw.errors import InvalidRequest
from openclaw.routing.select import check_alias_kind as check_alias_kind  # re-exported

Json = dict[str, Any]
T = TypeVar("T")


def invalid(param: str, message: str) -> InvalidRequest:
    """A 400 that names the field, in the message and in ``param``."""
    return InvalidRequest(f"{param}: {message}", param=param, code="invalid_value")


def require_object(value: Any, param: str) -> Json:
    if not isinstance(value, dict):
        raise invalid(param, "must be an object")
    return value


def require_list(value: Any, param: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(param, "must be an array")
    if non_empty and not value:
        raise invalid(param, "must not be empty")
    return value


def require_str(value: Any, param: str, *, non_empty: bool = True) -> str:
    if not isinstance(value, str) or (non_empty and not value):
        raise invalid(param, "must be a non-empty string" if non_empty else "must be a string")
    return value


def optional_number(body: Json, key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(key, f"must be a number from {low:g} to {high:g}")
    return float(value)


def optional_int(body: Json, key: str, low: int = 1) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise invalid(key, f"must be an integer of at least {low}")
    return value


def sse(event: str | None, data: Json) -> bytes:
    """One server-sent event frame."""
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def arguments_object(raw: Any) -> Json:
    """A tool call's arguments (OpenAI: a JSON string) as an object; ``{}`` when not one.

    Models occasionally emit arguments that do not parse. The renderers must still produce a
    valid response, so such arguments are kept under ``_raw`` rather than failing the answer.
    """
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"_raw": str(raw)}
    return value if isinstance(value, dict) else {"_raw": str(raw)}


#: The ingress APIs, as audit records and metrics name them (``Exchange.api``).
APIS = ("chat", "messages", "responses", "embeddings")


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def with_heartbeat(source: AsyncIterator[T], every: float) -> AsyncIterator[T | None]:
    """Yield ``source``'s items, and ``None`` whenever ``every`` seconds pass without one.

    A stream renderer turns the ``None`` into its keep-alive (Anthropic's ``ping`` event), so
    proxies and clients with idle timeouts keep the connection while a model thinks. The
    item being awaited is never lost to the timeout: the same ``__anext__`` is awaited again.
    Closing this generator cancels a pending ``__anext__``, which closes ``source``.
    """
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(source.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
