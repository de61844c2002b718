"""Anthropic Messages API (``POST /v1/messages``), behind the OpenAI-shaped seam.

The translation is pure data in both directions (:func:`to_messages_request`,
:func:`from_message`, :class:`StreamTranslator`), so it is tested without a socket; the
provider class only adds HTTP and the one error boundary. What does not translate:

* all ``system``/``developer`` messages are lifted, in order, into ``system``;
* consecutive same-role turns are merged (``tool`` results become ``tool_result`` blocks of
  one user turn), since Anthropic wants alternating roles;
* ``max_tokens`` is required upstream, so it defaults to :data:`DEFAULT_MAX_TOKENS`;
* OpenAI's temperature runs 0..2 and Anthropic's 0..1, so it is clamped at 1;
* parts Anthropic cannot take (audio, files) and ``n > 1`` are refused with a 400 rather than
  dropped, because silently losing input would change the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from openclaw.config.schema import ProviderOptions, Timeouts
from openclaw.errors import InvalidRequest, OpenClawError, UpstreamError
from openclaw.providers.base import (
    Json,
    Provider,
    ProviderCall,
    chunk,
    error_from_status,
    new_id,
    now,
    sse_events,
    upstream_errors,
    usage_dict,
)

DEFAULT_MAX_TOKENS = 4096
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


# -- request ------------------------------------------------------------------------


def to_messages_request(call: ProviderCall, stream: bool) -> Json:
    """Translate an OpenAI chat body into a Messages API body."""
    body = call.body
    if isinstance(body.get("n"), int) and body["n"] > 1:
        raise InvalidRequest("Anthropic models return one choice; n must be 1", param="n")
    system, messages = convert_messages(call.messages)
    out: Json = {"model": call.model, "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    out["max_tokens"] = max_tokens if isinstance(max_tokens, int) else DEFAULT_MAX_TOKENS
    temperature = body.get("temperature")
    if isinstance(temperature, int | float):
        out["temperature"] = min(float(temperature), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if stream:
        out["stream"] = True
    return out


def convert_messages(messages: list[Json]) -> tuple[list[str], list[Json]]:
    """Return ``(system texts, alternating user/assistant turns of content blocks)``."""
    system: list[str] = []
    out: list[Json] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise InvalidRequest(f"messages[{i}] must be an object", param=f"messages[{i}]")
        role = msg.get("role")
        if role in ("system", "developer"):
            text = _plain_text(msg.get("content"), i)
            if text:
                system.append(text)
            continue
        if role == "user":
            blocks = _user_blocks(msg.get("content"), i)
        elif role == "assistant":
            blocks = _assistant_blocks(msg, i)
        elif role == "tool":
            role, blocks = "user", [_tool_result(msg, i)]
        else:
            raise InvalidRequest(
                f"messages[{i}].role '{role}' is not supported", param=f"messages[{i}].role"
            )
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def _plain_text(content: Any, i: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
                raise InvalidRequest(
                    f"messages[{i}]: only text parts are allowed here",
                    param=f"messages[{i}].content",
                )
            texts.append(str(part.get("text") or part.get("refusal") or ""))
        return "".join(texts)
    raise InvalidRequest(
        f"messages[{i}].content must be a string or a list", param=f"messages[{i}].content"
    )


def _user_blocks(content: Any, i: int) -> list[Json]:
    if not isinstance(content, list):
        text = _plain_text(content, i)
        return [{"type": "text", "text": text}] if text else []
    blocks: list[Json] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": str(part["text"])})
        elif kind == "image_url":
            blocks.append(_image(part, i))
        else:
            raise InvalidRequest(
                f"messages[{i}]: content part type '{kind}' is not supported by Anthropic",
                param=f"messages[{i}].content",
            )
    return blocks


def _image(part: Json, i: int) -> Json:
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str):
        raise InvalidRequest(
            f"messages[{i}]: image_url needs a url", param=f"messages[{i}].content"
        )
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0]
        if ";base64" not in header or not media_type:
            raise InvalidRequest(
                f"messages[{i}]: image data URLs must be base64", param=f"messages[{i}].content"
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _assistant_blocks(msg: Json, i: int) -> list[Json]:
    text = _plain_text(msg.get("content"), i)
    blocks: list[Json] = [{"type": "text", "text": text}] if text else []
    for j, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not fn.get("name") or not call.get("id"):
            raise InvalidRequest(
                f"messages[{i}].tool_calls[{j}] needs an id and a function name",
                param=f"messages[{i}].tool_calls",
            )
        blocks.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": fn["name"],
                "input": _arguments(fn, i, j),
            }
        )
    return blocks


def _arguments(fn: Json, i: int, j: int) -> Json:
    raw = fn.get("arguments") or "{}"
    try:
        args = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise InvalidRequest(
            f"messages[{i}].tool_calls[{j}].function.arguments must be a JSON object",
            param=f"messages[{i}].tool_calls",
        )
    return args


def _tool_result(msg: Json, i: int) -> Json:
    if not msg.get("tool_call_id"):
        raise InvalidRequest(f"messages[{i}] (tool) needs tool_call_id", param=f"messages[{i}]")
    block: Json = {"type": "tool_result", "tool_use_id": msg["tool_call_id"]}
    text = _plain_text(msg.get("content"), i)
    if text:
        block["content"] = text
    return block


def _tool(tool: Any, i: int) -> Json:
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
        raise InvalidRequest(f"tools[{i}]: only function tools are supported", param=f"tools[{i}]")
    out: Json = {
        "name": fn.get("name"),
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> Json | None:
    out: Json | None
    if choice is None or choice == "auto":
        out = {"type": "auto"} if parallel is False else None
    elif choice == "none":
        out = {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out = {"type": "tool", "name": choice["function"].get("name")}
    else:
        raise InvalidRequest(f"tool_choice {choice!r} is not supported", param="tool_choice")
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


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


def from_message(data: Any, model: str) -> Json:
    """Translate a Messages API response into an OpenAI ``chat.completion``."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ValueError("not a message")
    texts: list[str] = []
    tool_calls: list[Json] = []
    for block in data["content"]:
        if not isinstance(block, dict):
            raise ValueError("content block is not an object")
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": _json(block.get("input"))},
                }
            )
    message: Json = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    finish = FINISH_REASONS.get(str(data.get("stop_reason")), "stop")
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
    """

    def __init__(self, model: str) -> None:
        self.cid = new_id()
        self.model = model
        self.created = now()
        self.usage: Json = {}
        self.stop_reason: str | None = None
        self.tools: dict[int, int] = {}  # content block index -> tool call index
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
            block = _field(event, "content_block")
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            if block.get("type") == "tool_use":
                index = self.tools[event["index"]] = len(self.tools)
                call = {
                    "index": index,
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "content_block_delta":
            delta = _field(event, "delta")
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [self._chunk({"content": delta["text"]})]
            if delta.get("type") == "input_json_delta" and event["index"] in self.tools:
                part = delta.get("partial_json") or ""
                if part:
                    call = {"index": self.tools[event["index"]], "function": {"arguments": part}}
                    return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "message_delta":
            self.stop_reason = _field(event, "delta").get("stop_reason") or self.stop_reason
            # message_delta usage is cumulative; take whatever counts it carries.
            usage = _field(event, "usage", {})
            self.usage.update({k: v for k, v in usage.items() if v is not None})
            return []
        if kind == "message_stop":
            self.done = True
            finish = FINISH_REASONS.get(str(self.stop_reason), "stop")
            last = self._chunk({})
            last["choices"] = []
            last["usage"] = _usage(self.usage)
            return [self._chunk({}, finish), last]
        return []  # ping, content_block_stop, and event types added later


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

    def _headers(self, key: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "anthropic-version": self.config.api_version or API_VERSION,
            **self.config.headers,
            "x-api-key": key,
        }

    async def complete(self, call: ProviderCall) -> Json:
        payload = orjson.dumps(to_messages_request(call, stream=False))
        with upstream_errors(self.name):
            async with self.session().post(
                self._url("messages"),
                data=payload,
                headers=self._headers(self.require_key()),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, raw, resp.headers)
                return from_message(orjson.loads(raw), call.model)

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        payload = orjson.dumps(to_messages_request(call, stream=True))
        translator = StreamTranslator(call.model)
        with upstream_errors(self.name):
            async with self.session().post(
                self._url("messages"),
                data=payload,
                headers=self._headers(self.require_key()),
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
