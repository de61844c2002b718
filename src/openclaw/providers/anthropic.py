"""Anthropic Messages API (``POST /v1/messages``), behind the OpenAI-shaped seam.

The translation is pure data in both directions (:func:`to_messages_request` in
:mod:`openclaw.providers.anthropic_request`, :func:`from_message`, :class:`StreamTranslator`),
so it is tested without a socket; the provider class only adds HTTP and the one error
boundary. On the way back, thinking blocks become ``reasoning_content`` (their text) and
``thinking_blocks`` (the blocks with their signatures, which a later turn must send back) on
the message or delta, and the forced ``json_schema`` tool call becomes the message text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from openclaw.config.schema import ProviderOptions, Timeouts
from openclaw.errors import OpenClawError, UpstreamError
from openclaw.providers.anthropic_request import (
    DEFAULT_MAX_TOKENS,
    answer_tool,
    beta_header,
    convert_messages,
    to_messages_request,
)
from openclaw.providers.base import (
    Json,
    Provider,
    ProviderCall,
    chunk,
    error_from_status,
    new_id,
    now,
    outbound_headers,
    sse_events,
    upstream_errors,
    usage_dict,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicProvider",
    "StreamTranslator",
    "convert_messages",
    "from_message",
    "to_messages_request",
]
API_VERSION = "2023-06-01"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# Anthropic's error ``type`` -> the HTTP status it is documented with, so in-band stream
# errors go through the same error_from_status() mapping as HTTP ones.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_HEALTH_TIMEOUTS = Timeouts(connect=1.0, first_token=2.0, total=3.0)


# -- response -------------------------------------------------------------------------


def prompt_tokens(usage: Json) -> int:
    """OpenAI's prompt_tokens include cached input; Anthropic reports it separately."""
    return sum(
        int(usage.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _usage(usage: Json) -> Json:
    out = usage_dict(prompt_tokens(usage), int(usage.get("output_tokens") or 0))
    cached = usage.get("cache_read_input_tokens")
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    return out


def from_message(data: Any, model: str, structured: str | None = None) -> Json:
    """Translate a Messages API response into an OpenAI ``chat.completion``.

    ``structured`` names the tool a ``json_schema`` response format was forced through; its
    input is the answer, so it becomes the message text rather than a tool call.
    """
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ValueError("not a message")
    texts: list[str] = []
    tool_calls: list[Json] = []
    thinking: list[Json] = []
    for block in data["content"]:
        if not isinstance(block, dict):
            raise ValueError("content block is not an object")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use" and structured is not None and block.get("name") == structured:
            texts.append(_json(block.get("input")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": _json(block.get("input"))},
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            thinking.append(block)
    message: Json = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if thinking:
        message["reasoning_content"] = "".join(str(b.get("thinking") or "") for b in thinking)
        message["thinking_blocks"] = thinking
    stop = str(data.get("stop_reason"))
    if stop == "tool_use" and structured is not None and not tool_calls:
        finish = "stop"  # only the structured-output tool was called: that is the answer
    else:
        finish = FINISH_REASONS.get(stop, "stop")
    return {
        "id": str(data.get("id") or new_id()),
        "object": "chat.completion",
        "created": now(),
        "model": data.get("model") or model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(data.get("usage") or {}),
    }


def _json(value: Any) -> str:
    return orjson.dumps(value if value is not None else {}).decode()


class StreamTranslator:
    """Turns Anthropic stream events into OpenAI chunks, one event at a time.

    Tool-use blocks become ``tool_calls`` deltas whose ``index`` counts tool calls only,
    as OpenAI clients expect, while Anthropic's ``index`` counts every content block.
    Thinking arrives as ``reasoning_content`` deltas; when its signature comes, one delta
    carries the whole block in ``thinking_blocks``. The ``structured`` tool's input streams
    as ``content``.
    """

    def __init__(self, model: str, structured: str | None = None) -> None:
        self.cid = new_id()
        self.model = model
        self.created = now()
        self.usage: Json = {}
        self.stop_reason: str | None = None
        self.tools: dict[int, int] = {}  # content block index -> tool call index
        self.structured = structured
        self.answer_blocks: set[int] = set()  # blocks of the structured tool: text
        self.thinking: dict[int, str] = {}  # thinking block index -> text so far
        self.done = False

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        return chunk(self.cid, self.model, self.created, delta, finish)

    def feed(self, kind: str, event: Json) -> list[Json]:
        if kind == "message_start":
            message = _field(event, "message")
            self.model = message.get("model") or self.model
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event["index"], _field(event, "content_block"))
        if kind == "content_block_delta":
            return self._block_delta(event["index"], _field(event, "delta"))
        if kind == "message_delta":
            self.stop_reason = _field(event, "delta").get("stop_reason") or self.stop_reason
            # message_delta usage is cumulative; take whatever counts it carries.
            usage = _field(event, "usage", {})
            self.usage.update({k: v for k, v in usage.items() if v is not None})
            return []
        if kind == "message_stop":
            self.done = True
            stop = str(self.stop_reason)
            if stop == "tool_use" and self.answer_blocks and not self.tools:
                finish = "stop"  # only the structured-output tool was called
            else:
                finish = FINISH_REASONS.get(stop, "stop")
            last = self._chunk({})
            last["choices"] = []
            last["usage"] = _usage(self.usage)
            return [self._chunk({}, finish), last]
        return []  # ping, content_block_stop, and event types added later

    def _block_start(self, index: int, block: Json) -> list[Json]:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if (
            kind == "tool_use"
            and self.structured is not None
            and block.get("name") == self.structured
        ):
            self.answer_blocks.add(index)
            return []
        if kind == "tool_use":
            tool = self.tools[index] = len(self.tools)
            call = {
                "index": tool,
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"], "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "thinking":
            self.thinking[index] = str(block.get("thinking") or "")
            if self.thinking[index]:
                return [self._chunk({"reasoning_content": self.thinking[index]})]
            return []
        if kind == "redacted_thinking":
            return [self._chunk({"thinking_blocks": [block]})]
        return []

    def _block_delta(self, index: int, delta: Json) -> list[Json]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta":
            part = delta.get("partial_json") or ""
            if part and index in self.answer_blocks:
                return [self._chunk({"content": part})]
            if part and index in self.tools:
                call = {"index": self.tools[index], "function": {"arguments": part}}
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "thinking_delta" and delta.get("thinking"):
            self.thinking[index] = self.thinking.get(index, "") + str(delta["thinking"])
            return [self._chunk({"reasoning_content": delta["thinking"]})]
        if kind == "signature_delta":
            block = {
                "type": "thinking",
                "thinking": self.thinking.get(index, ""),
                "signature": delta.get("signature") or "",
            }
            return [self._chunk({"thinking_blocks": [block]})]
        return []


def _field(event: Json, key: str, default: Json | None = None) -> Json:
    value = event.get(key)
    if value is None and default is not None:
        value = default
    if not isinstance(value, dict):
        raise ValueError(f"stream event without an object '{key}'")
    return value


# -- the adapter ----------------------------------------------------------------------


class AnthropicProvider(Provider):
    type: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com"
    key_env_var: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    suggested_model: ClassVar[str | None] = "claude-sonnet-4-20250514"
    vision: ClassVar[bool] = True

    class Options(ProviderOptions):
        api_version: str | None = None  # the anthropic-version header (default API_VERSION)

    config: Options

    def _url(self, path: str) -> str:
        # Accept a base URL copied with the /v1 suffix (the OpenAI habit) as well.
        base = self.base_url.removesuffix("/v1")
        return f"{base}/v1/{path}"

    def _headers(self, key: str, call: ProviderCall | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "anthropic-version": self.config.api_version or API_VERSION,
            **self.config.headers,
            **outbound_headers(),
            "x-api-key": key,
        }
        beta = beta_header(call.body) if call is not None else None
        if beta:
            configured = headers.get("anthropic-beta")
            headers["anthropic-beta"] = f"{configured},{beta}" if configured else beta
        return headers

    async def complete(self, call: ProviderCall) -> Json:
        request = to_messages_request(call, stream=False, provider=self.name)
        payload = orjson.dumps(request)
        with upstream_errors(self.name):
            async with self.session().post(
                self._url("messages"),
                data=payload,
                headers=self._headers(self.require_key(), call),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, raw, resp.headers)
                return from_message(orjson.loads(raw), call.model, answer_tool(call.body, request))

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        request = to_messages_request(call, stream=True, provider=self.name)
        payload = orjson.dumps(request)
        translator = StreamTranslator(call.model, answer_tool(call.body, request))
        with upstream_errors(self.name):
            async with self.session().post(
                self._url("messages"),
                data=payload,
                headers=self._headers(self.require_key(), call),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, await resp.read(), resp.headers)
                async for event, data in sse_events(resp):
                    obj = orjson.loads(data)
                    if not isinstance(obj, dict):
                        raise ValueError("stream event is not an object")
                    kind = event or str(obj.get("type"))
                    if kind == "error":
                        raise self._stream_error(obj)
                    for out in translator.feed(kind, obj):
                        yield out
                    if translator.done:
                        break
                if not translator.done:
                    raise UpstreamError(
                        f"provider '{self.name}' ended the stream before message_stop"
                    )

    def _stream_error(self, event: Json) -> UpstreamError:
        err = event.get("error")
        status = ERROR_STATUS.get(str(err.get("type")), 500) if isinstance(err, dict) else 500
        exc: OpenClawError = error_from_status(self.name, status, orjson.dumps(event))
        if isinstance(exc, UpstreamError):
            return exc
        # Even a client-side error type is an upstream failure once the stream has begun.
        return UpstreamError(exc.message, upstream_status=status, retryable=False, code=exc.code)

    async def health(self) -> tuple[bool, str]:
        key = self.api_key()
        if not key:
            ref = self.config.api_key.var if self.config.api_key is not None else self.key_env_var
            return False, f"no API key ({ref} is not set)"
        try:
            with upstream_errors(self.name):
                async with self.session().get(
                    self._url("models"),
                    headers=self._headers(key),
                    timeout=self.client_timeout(_HEALTH_TIMEOUTS),
                ) as resp:
                    # Unlike a 5xx, a 401 here still means the key is wrong: not healthy.
                    return resp.status < 400, f"HTTP {resp.status}"
        except OpenClawError as exc:
            return False, exc.message
