"""The provider seam: one small interface every upstream adapter implements.

Inside the gateway a chat request and its response are OpenAI Chat Completions shapes (plain
dicts), because that is what clients send and receive. An adapter translates them to its
upstream's wire format and back, and maps its upstream's failures into the
:mod:`openclaw.errors` hierarchy at one boundary (:func:`upstream_errors`), so retries and
failover never look at aiohttp or provider-specific exceptions.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import orjson

from openclaw.addresses import is_local_url
from openclaw.config.schema import ProviderConfig, ProviderOptions, Timeouts
from openclaw.errors import (
    InvalidRequest,
    OpenClawError,
    ProviderNotConfigured,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeout,
)

Json = dict[str, Any]


@dataclass
class ProviderCall:
    """One call to one deployment: the OpenAI-shaped body and the upstream model name."""

    body: Json
    model: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    request_id: str = ""

    @property
    def messages(self) -> list[Json]:
        msgs = self.body.get("messages") or []
        return msgs if isinstance(msgs, list) else []


class Provider(ABC):
    """An upstream. Subclasses set ``type`` and implement :meth:`complete` and :meth:`stream`.

    ``stream`` yields OpenAI ``chat.completion.chunk`` dicts; the last chunk carries
    ``usage`` when the upstream reports it. Cancelling the iterator (client gone) must cancel
    the upstream request, which aiohttp does when the response context is left.
    """

    # What the type is, declared here and nowhere else (the registry reads these; simonw/llm's
    # style). A type is installed through the ``openclaw.providers`` entry-point group.
    type: ClassVar[str] = ""
    default_base_url: ClassVar[str | None] = None
    base_url_env: ClassVar[str | None] = None  # overrides default_base_url (OLLAMA_HOST)
    key_env_var: ClassVar[str | None] = None  # the key a bare ``provider: <type>`` reads
    Options: ClassVar[builtins.type[ProviderOptions]] = (
        ProviderOptions  # subclass: the type's own keys
    )
    suggested_model: ClassVar[str | None] = None  # what onboarding proposes
    needs_base_url: ClassVar[bool] = False  # onboarding asks (default_base_url is a guess)
    can_stream: ClassVar[bool] = True
    can_embed: ClassVar[bool] = False
    vision: ClassVar[bool] = False  # image parts in messages
    multiple_choices: ClassVar[bool] = False  # n > 1

    @classmethod
    def discover(cls, base_url: str) -> list[str] | None:
        """Onboarding's probe: the models a server of this type at ``base_url`` offers, or
        None when none answers (or the type has no local server to ask)."""
        return None

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config.narrowed(self.Options)
        self.base_url = (config.base_url or self.default_base_url or "").rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    # -- facts -----------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """True when the upstream is on this machine (loopback or a unix socket)."""
        return is_local_url(self.base_url)

    def api_key(self) -> str | None:
        """The key from the configured reference, else the type's usual variable."""
        if self.config.api_key is not None:
            return self.config.api_key.resolve()
        if self.key_env_var:
            return os.environ.get(self.key_env_var) or None
        return None

    def require_key(self) -> str:
        key = self.api_key()
        if not key:
            ref = self.config.api_key.var if self.config.api_key is not None else self.key_env_var
            raise ProviderNotConfigured(
                f"provider '{self.name}' has no API key: environment variable {ref} is not set",
                retryable=False,
            )
        return key

    def describe(self) -> Json:
        return {
            "name": self.name,
            "type": self.type,
            "base_url": self.base_url,
            "local": self.is_local,
            "api_key": self.config.api_key.describe() if self.config.api_key else None,
        }

    # -- HTTP ------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.config.max_connections, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                json_serialize=lambda o: orjson.dumps(o).decode(),
                auto_decompress=True,
            )
        return self._session

    @staticmethod
    def client_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.first_token)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def health(self) -> tuple[bool, str]:
        """Whether the upstream answers; a cheap GET where the API has one."""
        return True, "not checked"

    # -- the interface -----------------------------------------------------------
    @abstractmethod
    async def complete(self, call: ProviderCall) -> Json:
        """Return an OpenAI ``chat.completion`` dict."""

    @abstractmethod
    def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        """Yield OpenAI ``chat.completion.chunk`` dicts."""


def new_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def error_from_status(
    provider: str, status: int, body: bytes, headers: Any = None
) -> OpenClawError:
    """Map an upstream HTTP error status to our hierarchy (the one place that does)."""
    detail = _error_detail(body)
    retry_after: float | None = None
    if headers is not None:
        ra = headers.get("Retry-After") or headers.get("retry-after")
        if ra:
            with contextlib.suppress(ValueError):
                retry_after = float(ra)
    msg = f"provider '{provider}' answered {status}"
    if detail:
        msg += f": {detail}"
    low = detail.lower()
    if status in (400, 403, 422) and (
        "content_filter" in low or "content policy" in low or ("content" in low and "filter" in low)
    ):
        return UpstreamError(msg, upstream_status=status, retryable=False, code="content_filter")
    if status == 400 or status == 422:
        code = (
            "context_length_exceeded"
            if ("context" in low and "length" in low) or ("too long" in low)
            else "upstream_bad_request"
        )
        return InvalidRequest(msg, code=code)
    if status == 413:
        return InvalidRequest(msg, code="context_length_exceeded")
    if status == 429:
        return UpstreamError(
            msg, upstream_status=429, retry_after=retry_after, code="upstream_rate_limited"
        )
    if status in (401, 403):
        return UpstreamError(
            f"provider '{provider}' rejected the gateway's credentials ({status})",
            upstream_status=status,
            retryable=False,
            code="upstream_auth_failed",
        )
    if status == 404:
        return UpstreamError(msg, upstream_status=404, retryable=False, code="upstream_not_found")
    if status == 408 or status == 504:
        return UpstreamTimeout(msg, upstream_status=status)
    return UpstreamError(msg, upstream_status=status, retryable=status >= 500)


def _error_detail(body: bytes) -> str:
    if not body:
        return ""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")[:300]
        if isinstance(err, str):
            return err[:300]
    return ""


@contextlib.contextmanager
def upstream_errors(provider: str) -> Iterator[None]:
    """Translate transport exceptions into :mod:`openclaw.errors` (httpx's pattern)."""
    try:
        yield
    except OpenClawError:
        raise
    except asyncio.CancelledError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeout(f"provider '{provider}' timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise UpstreamConnectError(
            f"provider '{provider}' is unreachable ({exc.os_error.strerror or 'connect failed'})"
        ) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        raise UpstreamError(f"provider '{provider}' closed the connection early") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"provider '{provider}' failed: {type(exc).__name__}") from exc
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(f"provider '{provider}' sent a malformed response") from exc


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[tuple[str | None, bytes]]:
    """Parse a ``text/event-stream`` body into ``(event, data)`` pairs."""
    event: str | None = None
    data: list[bytes] = []
    async for raw in resp.content:
        line = raw.rstrip(b"\r\n")
        if not line:
            if data:
                yield event, b"\n".join(data)
            event, data = None, []
            continue
        if line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode()
    if data:
        yield event, b"\n".join(data)


def usage_dict(prompt: int, completion: int) -> Json:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chunk(
    cid: str,
    model: str,
    created: int,
    delta: Json,
    finish: str | None = None,
    usage: Json | None = None,
) -> Json:
    c: Json = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        c["usage"] = usage
    return c
