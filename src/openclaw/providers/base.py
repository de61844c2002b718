"""The provider seam: one small interface every upstream adapter implements.

Inside the gateway a chat request and its response are OpenAI Chat Completions shapes (plain
dicts), because that is what clients send and receive. An adapter translates them to its
upstream's wire format and back, and maps its upstream's failures into the
:mod:`openclaw.errors` hierarchy at one boundary (:func:`upstream_errors`), so retries and
failover never look at aiohttp or provider-specific exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import contextlib
import os
import struct
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
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

    def single_choice(self, provider: str, type_: str) -> None:
        """Refuse ``n > 1`` for an upstream that answers with one choice (400 naming it)."""
        n = self.body.get("n")
        if isinstance(n, int) and n > 1:
            raise InvalidRequest(
                f"provider '{provider}' ({type_}) returns one choice per request; "
                "n must be 1 for this model (OpenAI and OpenAI-compatible upstreams take n > 1)",
                param="n",
                code="unsupported_parameter",
            )


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
    #: Whether :meth:`embed` reaches an embeddings endpoint (``kind: embedding`` aliases).
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

    async def embed(self, call: ProviderCall) -> Json:
        """Return an OpenAI embeddings response (``{"object": "list", "data": [...]}``).

        ``call.body`` is an OpenAI ``/v1/embeddings`` request. Types that serve embeddings
        set :attr:`can_embed` and override this; the rest refuse with a 400 naming the
        provider, so a misconfigured ``kind: embedding`` alias never reaches a chat endpoint.
        """
        raise InvalidRequest(
            f"provider '{self.name}' ({self.type}) does not serve embeddings; "
            "use an openai, openai_compatible, ollama or mock provider for a "
            "'kind: embedding' alias",
            code="embeddings_not_supported",
        )


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


def embedding_inputs(body: Json) -> list[str] | list[list[int]]:
    """The ``input`` of an embeddings request as a list: strings, or token arrays."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
        return [list(raw)]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    if isinstance(raw, list) and all(
        isinstance(x, list) and all(isinstance(t, int) for t in x) for x in raw
    ):
        return [list(x) for x in raw]
    raise InvalidRequest(
        "input must be a string, an array of strings, or token arrays", param="input"
    )


def embedding_texts(body: Json) -> list[str]:
    """The text inputs of an embeddings body (token arrays have no text to read)."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [x for x in raw if isinstance(x, str)]
    return []


def has_token_input(body: Json) -> bool:
    """Whether an embeddings body's input is token arrays, which no text scanner can read."""
    raw = body.get("input")
    return isinstance(raw, list) and bool(raw) and not isinstance(raw[0], str)


def encode_embedding(vector: list[float], encoding_format: Any) -> list[float] | str:
    """A vector as OpenAI sends it: floats, or base64 of little-endian float32 values."""
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embedding_response(vectors: list[Any], model: str, prompt_tokens: int) -> Json:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


# Fields the ingress parsers put on a chat body so an Anthropic upstream gets what the client
# sent (prompt caching, extended thinking, document metadata, beta flags) while every piece
# of text stays in ``messages`` where the policies read and redact it. Upstreams that rebuild
# the body field by field (Anthropic, Ollama) read what they understand; the OpenAI adapter
# forwards the body as is, so it removes these with :func:`strip_extensions`.
EXTENSION_FIELDS = ("thinking", "top_k", "anthropic_beta")
# reasoning_content too: DeepSeek-style servers emit it but refuse it in requests.
EXTENSION_MESSAGE_FIELDS = ("thinking_blocks", "reasoning_content", "is_error", "cache_control")
EXTENSION_PART_FIELDS = ("cache_control", "document")


def strip_extensions(body: Json) -> Json:
    """``body`` without the Anthropic-only extension fields; copies only what changes."""
    out = body
    if any(k in body for k in EXTENSION_FIELDS):
        out = {k: v for k, v in body.items() if k not in EXTENSION_FIELDS}
    messages = body.get("messages")
    if isinstance(messages, list):
        cleaned = [_strip_message(m) for m in messages]
        if any(a is not b for a, b in zip(cleaned, messages, strict=True)):
            out = dict(out, messages=cleaned)
    tools = body.get("tools")
    if isinstance(tools, list) and any(isinstance(t, dict) and "cache_control" in t for t in tools):
        out = dict(out, tools=[_without(t, ("cache_control",)) for t in tools])
    return out


def _strip_message(msg: Any) -> Any:
    if not isinstance(msg, dict):
        return msg
    out = _without(msg, EXTENSION_MESSAGE_FIELDS)
    content = msg.get("content")
    if isinstance(content, list) and any(
        isinstance(p, dict) and any(k in p for k in EXTENSION_PART_FIELDS) for p in content
    ):
        out = dict(out, content=[_without(p, EXTENSION_PART_FIELDS) for p in content])
    return out


def _without(obj: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(obj, dict) and any(k in obj for k in keys):
        return {k: v for k, v in obj.items() if k not in keys}
    return obj


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


#: Headers every upstream call of the current request carries (the W3C ``traceparent`` that
#: ``openclaw.telemetry`` sets). A context variable, so each request's task sees its own.
OUTBOUND_HEADERS: ContextVar[Mapping[str, str] | None] = ContextVar(
    "openclaw_outbound_headers", default=None
)


def outbound_headers() -> Mapping[str, str]:
    """What the current request adds to its upstream calls (each adapter's ``_headers``)."""
    return OUTBOUND_HEADERS.get() or {}
