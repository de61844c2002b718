"""The Anthropic Messages ingress (``POST /v1/messages``): request parser, response and error
renderers, and ``count_tokens``. The stream renderer is :mod:`openclaw.ingress.messages_stream`.

The parser turns a Messages body into the pipeline's chat body, so every stage sees the same
shape whatever API the client speaks. It is the Anthropic adapter's translation run
backwards: ``system`` becomes system messages, ``tool_result`` blocks become ``tool``
messages (ahead of the rest of their user turn, where OpenAI wants them), ``tool_use`` blocks
become ``tool_calls``, images become ``image_url`` parts, ``stop_sequences`` becomes ``stop``
and ``metadata.user_id`` becomes ``user``.

**Lossless to Anthropic, and still private.** A client talking to Claude through the gateway
must keep prompt caching, extended thinking, documents with citations and beta flags. Rather
than keeping the original Messages body next to the chat body (which a redaction policy would
not edit, so the original text would reach the provider behind the policy's back), everything
the chat format has no word for rides on the chat body in extension fields that only the
Anthropic adapter reads and the OpenAI adapter strips (:data:`openclaw.providers.base.
EXTENSION_FIELDS`): ``cache_control`` on parts, tools and tool messages; ``thinking_blocks``
(with signatures) on assistant messages; ``document`` metadata on the text part that holds a
plain-text document's text; ``thinking``, ``top_k`` and ``anthropic_beta`` on the body. All
text stays in ``messages``, where the PII policy scans and redacts it. A redaction collapses a
message to plain text, so its cache marks go with it; privacy wins over a cache hit.

Not translated, and refused with a 400 naming the field rather than silently dropped:
server tools (``web_search_*``, ``bash_*``...), documents given by URL or as content blocks,
``search_result`` and other block types. Ignored: ``service_tier``, ``container``,
``mcp_servers``, ``context_management`` (gateway-side concerns or Anthropic-hosted state).
"""

from __future__ import annotations

from typing import Any

from openclaw.errors import OpenClawError
from openclaw.ingress.common import (
    Json,
    arguments_object,
    dumps,
    invalid,
    optional_int,
    optional_number,
    require_list,
    require_object,
    require_str,
)
from openclaw.tokens import count_prompt, count_text

#: Chat finish_reason -> Messages stop_reason.
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
#: Our HTTP status -> Anthropic's error ``type`` (its documented pairs; 5xx: api_error).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


# -- request ---------------------------------------------------------------------------------


def parse_messages_request(body: Any, *, beta: str | None = None, for_count: bool = False) -> Json:
    """Validate a Messages body and return the equivalent chat body.

    ``beta`` is the request's ``anthropic-beta`` header, kept for an Anthropic upstream.
    ``for_count`` parses a ``count_tokens`` body, which has no ``max_tokens``.
    """
    body = require_object(body, "body")
    chat: Json = {"model": require_str(body.get("model"), "model")}
    messages: list[Json] = []
    system = body.get("system")
    if system is not None:
        messages.extend(_system(system))
    for i, msg in enumerate(require_list(body.get("messages"), "messages", non_empty=True)):
        messages.extend(_message(msg, f"messages[{i}]"))
    chat["messages"] = messages
    if not for_count:
        max_tokens = optional_int(body, "max_tokens")
        if max_tokens is None:
            raise invalid("max_tokens", "is required")
        chat["max_tokens"] = max_tokens
        if body.get("stream") is not None and not isinstance(body.get("stream"), bool):
            raise invalid("stream", "must be a boolean")
        if body.get("stream"):
            chat["stream"] = True
            chat["stream_options"] = {"include_usage": True}  # message_delta reports usage
    for key, high in (("temperature", 1.0), ("top_p", 1.0)):
        value = optional_number(body, key, 0.0, high)
        if value is not None:
            chat[key] = value
    top_k = optional_int(body, "top_k", 0)
    if top_k is not None:
        chat["top_k"] = top_k
    stop = body.get("stop_sequences")
    if stop is not None:
        stops = require_list(stop, "stop_sequences")
        if not all(isinstance(s, str) for s in stops):
            raise invalid("stop_sequences", "must be an array of strings")
        if stops:
            chat["stop"] = stops
    metadata = body.get("metadata")
    if metadata is not None:
        user = require_object(metadata, "metadata").get("user_id")
        if user is not None:
            chat["user"] = require_str(user, "metadata.user_id", non_empty=False)
    tools = body.get("tools")
    if tools is not None:
        parsed = [_tool(t, f"tools[{i}]") for i, t in enumerate(require_list(tools, "tools"))]
        if parsed:
            chat["tools"] = parsed
    if body.get("tool_choice") is not None:
        chat.update(_tool_choice(body["tool_choice"]))
    thinking = body.get("thinking")
    if thinking is not None:
        kind = require_object(thinking, "thinking").get("type")
        if kind not in ("enabled", "disabled", "adaptive"):
            raise invalid("thinking.type", "must be 'enabled', 'disabled' or 'adaptive'")
        if kind == "enabled":
            optional_int(thinking, "budget_tokens", 1024)
        chat["thinking"] = thinking
    betas = [b.strip() for b in (beta or "").split(",") if b.strip()]
    if betas:
        chat["anthropic_beta"] = betas
    return chat


def _system(system: Any) -> list[Json]:
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    parts = []
    for j, block in enumerate(require_list(system, "system")):
        where = f"system[{j}]"
        if require_object(block, where).get("type") != "text":
            raise invalid(f"{where}.type", "system blocks must be text blocks")
        parts.append(_text_part(block, where))
    return [{"role": "system", "content": parts}] if parts else []


def _text_part(block: Json, where: str) -> Json:
    part: Json = {
        "type": "text",
        "text": require_str(block.get("text"), f"{where}.text", non_empty=False),
    }
    return _keep_cache(part, block, where)


def _keep_cache(part: Json, block: Json, where: str) -> Json:
    cache = block.get("cache_control")
    if cache is not None:
        part["cache_control"] = require_object(cache, f"{where}.cache_control")
    return part


def _message(msg: Any, where: str) -> list[Json]:
    msg = require_object(msg, where)
    role = msg.get("role")
    if role not in ("user", "assistant"):
        raise invalid(f"{where}.role", "must be 'user' or 'assistant'")
    content = msg.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = require_list(content, f"{where}.content")
    if role == "assistant":
        return [_assistant(blocks, where)]
    tools: list[Json] = []
    parts: list[Json] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = require_object(block, at).get("type")
        if kind == "tool_result":
            tools.append(_tool_result(block, at))
        else:
            parts.append(_user_part(block, at))
    return tools + ([{"role": "user", "content": parts}] if parts else [])


def _user_part(block: Json, at: str) -> Json:
    kind = block.get("type")
    if kind == "text":
        return _text_part(block, at)
    if kind == "image":
        return _keep_cache(_image(block, at), block, at)
    if kind == "document":
        return _keep_cache(_document(block, at), block, at)
    raise invalid(f"{at}.type", f"block type {kind!r} is not supported here")


def _image(block: Json, at: str) -> Json:
    source = require_object(block.get("source"), f"{at}.source")
    kind = source.get("type")
    if kind == "base64":
        media = require_str(source.get("media_type"), f"{at}.source.media_type")
        data = require_str(source.get("data"), f"{at}.source.data")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if kind == "url":
        url = require_str(source.get("url"), f"{at}.source.url")
        return {"type": "image_url", "image_url": {"url": url}}
    raise invalid(f"{at}.source.type", "must be 'base64' or 'url'")


def _document(block: Json, at: str) -> Json:
    source = require_object(block.get("source"), f"{at}.source")
    meta = {k: block[k] for k in ("title", "context", "citations") if block.get(k) is not None}
    kind = source.get("type")
    if kind == "text":
        data = require_str(source.get("data"), f"{at}.source.data", non_empty=False)
        return {"type": "text", "text": data, "document": meta}
    if kind == "base64":
        media = require_str(source.get("media_type"), f"{at}.source.media_type")
        data = require_str(source.get("data"), f"{at}.source.data")
        part: Json = {
            "type": "file",
            "file": {"file_data": f"data:{media};base64,{data}", "filename": _filename(meta)},
        }
        if meta:
            part["document"] = meta
        return part
    raise invalid(
        f"{at}.source.type",
        "documents must be 'text' or 'base64' (URL and content sources are not supported)",
    )


def _filename(meta: Json) -> str:
    title = meta.get("title")
    return f"{title}.pdf" if isinstance(title, str) and title else "document.pdf"


def _tool_result(block: Json, at: str) -> Json:
    out: Json = {
        "role": "tool",
        "tool_call_id": require_str(block.get("tool_use_id"), f"{at}.tool_use_id"),
    }
    content = block.get("content")
    if content is None or isinstance(content, str):
        out["content"] = content or ""
    else:
        parts = []
        for k, item in enumerate(require_list(content, f"{at}.content")):
            where = f"{at}.content[{k}]"
            kind = require_object(item, where).get("type")
            if kind not in ("text", "image"):
                raise invalid(f"{where}.type", "tool results hold text and image blocks")
            parts.append(_user_part(item, where))
        out["content"] = parts
    if block.get("is_error") is True:
        out["is_error"] = True
    return _keep_cache(out, block, at)


def _assistant(blocks: list[Any], where: str) -> Json:
    parts: list[Json] = []
    calls: list[Json] = []
    thinking: list[Json] = []
    for j, block in enumerate(blocks):
        at = f"{where}.content[{j}]"
        kind = require_object(block, at).get("type")
        if kind == "text":
            parts.append(_text_part(block, at))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": require_str(block.get("id"), f"{at}.id"),
                    "type": "function",
                    "function": {
                        "name": require_str(block.get("name"), f"{at}.name"),
                        "arguments": dumps(require_object(block.get("input"), f"{at}.input")),
                    },
                }
            )
        elif kind == "thinking":
            require_str(block.get("thinking"), f"{at}.thinking", non_empty=False)
            thinking.append(block)
        elif kind == "redacted_thinking":
            require_str(block.get("data"), f"{at}.data")
            thinking.append(block)
        else:
            raise invalid(f"{at}.type", f"block type {kind!r} is not supported in assistant turns")
    msg: Json = {"role": "assistant", "content": parts or None}
    if calls:
        msg["tool_calls"] = calls
    if thinking:
        msg["thinking_blocks"] = thinking
        msg["reasoning_content"] = "".join(str(b.get("thinking") or "") for b in thinking)
    return msg


def _tool(tool: Any, where: str) -> Json:
    tool = require_object(tool, where)
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise invalid(
            f"{where}.type",
            f"server tool {kind!r} is not supported through the gateway; declare client tools "
            "with name, description and input_schema",
        )
    fn: Json = {
        "name": require_str(tool.get("name"), f"{where}.name"),
        "parameters": require_object(tool.get("input_schema"), f"{where}.input_schema"),
    }
    if tool.get("description") is not None:
        fn["description"] = require_str(
            tool["description"], f"{where}.description", non_empty=False
        )
    return _keep_cache({"type": "function", "function": fn}, tool, where)


def _tool_choice(choice: Any) -> Json:
    choice = require_object(choice, "tool_choice")
    kind = choice.get("type")
    out: Json
    if kind == "auto":
        out = {"tool_choice": "auto"}
    elif kind == "any":
        out = {"tool_choice": "required"}
    elif kind == "none":
        out = {"tool_choice": "none"}
    elif kind == "tool":
        name = require_str(choice.get("name"), "tool_choice.name")
        out = {"tool_choice": {"type": "function", "function": {"name": name}}}
    else:
        raise invalid("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'")
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out


def count_tokens(body: Any) -> int:
    """``POST /v1/messages/count_tokens``: the estimated input tokens of a Messages body."""
    chat = parse_messages_request(body, for_count=True)
    model = chat.get("model") if isinstance(chat.get("model"), str) else None
    total = count_prompt(chat["messages"], model)
    if chat.get("tools"):
        total += count_text(dumps(chat["tools"]), model)
    return total


# -- response --------------------------------------------------------------------------------


def message_id(chat_id: Any) -> str:
    """A ``msg_`` id; an Anthropic upstream's own id comes through unchanged."""
    text = str(chat_id or "")
    if text.startswith("msg_"):
        return text
    return "msg_" + (text.removeprefix("chatcmpl-") or "openclaw")


def usage_out(usage: Any) -> Json:
    """Chat usage -> Messages usage (whose ``input_tokens`` exclude cache reads)."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    out: Json = {
        "input_tokens": max(0, int(usage.get("prompt_tokens") or 0) - cached),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def stop_reason(finish: Any, called_tools: bool) -> str:
    # Some OpenAI-compatible servers finish a tool call with "stop"; Anthropic clients run
    # tools only on "tool_use".
    reason = STOP_REASONS.get(str(finish), "end_turn")
    return "tool_use" if called_tools and reason == "end_turn" else reason


def render_messages_response(chat: Json) -> Json:
    """A ``chat.completion`` -> a Messages API ``message`` (the ``openclaw`` facts kept)."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    msg = choice.get("message") or {}
    content: list[Json] = []
    blocks = msg.get("thinking_blocks")
    if isinstance(blocks, list) and blocks:
        content.extend(b for b in blocks if isinstance(b, dict))
    elif msg.get("reasoning_content"):
        # Thinking from an upstream that signs nothing (DeepSeek, vLLM): shown, not replayable.
        content.append(
            {"type": "thinking", "thinking": str(msg["reasoning_content"]), "signature": ""}
        )
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(str(p.get("text") or "") for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": str(text)})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or ""),
                "name": str(fn.get("name") or ""),
                "input": arguments_object(fn.get("arguments")),
            }
        )
    out: Json = {
        "id": message_id(chat.get("id")),
        "type": "message",
        "role": "assistant",
        "model": str(chat.get("model") or ""),
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason"), bool(msg.get("tool_calls"))),
        "stop_sequence": None,
        "usage": usage_out(chat.get("usage")),
    }
    if "openclaw" in chat:
        out["openclaw"] = chat["openclaw"]
    return out


def render_messages_error(exc: OpenClawError) -> tuple[int, Json]:
    """``(status, body)`` of an error in Anthropic's shape: ``{"type": "error", "error": ...}``."""
    kind = ERROR_TYPES.get(
        exc.status, "api_error" if exc.status >= 500 else "invalid_request_error"
    )
    return exc.status, {"type": "error", "error": {"type": kind, "message": exc.message}}
