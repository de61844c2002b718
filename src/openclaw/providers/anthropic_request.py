"""OpenAI chat body -> Anthropic Messages API body: the request half of the Anthropic adapter.

Pure data, tested without a socket. What does not translate one to one:

* all ``system``/``developer`` messages are lifted, in order, into ``system`` (text blocks
  when a part carries ``cache_control``, else one string);
* consecutive same-role turns are merged (``tool`` results become ``tool_result`` blocks of
  one user turn), since Anthropic wants alternating roles;
* ``max_tokens`` is required upstream, so it defaults to :data:`DEFAULT_MAX_TOKENS`;
* OpenAI's temperature runs 0..2 and Anthropic's 0..1, so it is clamped at 1; with extended
  thinking on, Anthropic accepts no temperature at all, so it is left out;
* ``reasoning_effort`` becomes a thinking budget (:data:`EFFORT_BUDGETS`);
* ``response_format: json_schema`` becomes a forced call of a tool whose input schema is the
  schema (the way Claude does structured output); the adapter turns that call back into the
  message text. Not with thinking on (Anthropic refuses a forced tool there) and not with a
  specific ``tool_choice``: those, and ``json_object``, keep the dispatcher's parse-and-repair;
* parts Anthropic cannot take (audio) and ``n > 1`` are refused with a 400 rather than
  dropped, because silently losing input would change the answer.

The gateway's extension fields (``cache_control`` on parts, messages and tools;
``thinking_blocks``; ``document`` on text parts; ``thinking``, ``top_k``, ``anthropic_beta``;
see :data:`openclaw.providers.base.EXTENSION_FIELDS`) carry what an Anthropic Messages client
sent, so it reaches Anthropic unchanged while the text itself stays in the chat messages.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from openclaw.errors import InvalidRequest
from openclaw.providers.base import Json, ProviderCall

DEFAULT_MAX_TOKENS = 4096
#: ``reasoning_effort`` -> Anthropic thinking budget (tokens). 1024 is Anthropic's minimum.
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
MIN_THINKING_BUDGET = 1024
#: The tool a ``json_schema`` response format is forced through, unless the schema names one.
STRUCTURED_TOOL = "structured_output"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def to_messages_request(call: ProviderCall, stream: bool, provider: str = "anthropic") -> Json:
    """Translate an OpenAI chat body into a Messages API body."""
    body = call.body
    call.single_choice(provider, "anthropic")
    system, messages = convert_messages(call.messages)
    out: Json = {"model": call.model, "messages": messages}
    if system:
        out["system"] = system
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    out["max_tokens"] = max_tokens if isinstance(max_tokens, int) else DEFAULT_MAX_TOKENS
    thinking = _thinking(body, out["max_tokens"])
    if thinking is not None:
        out["thinking"] = thinking
    thinking_on = thinking_enabled(out)
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not thinking_on:
        out["temperature"] = min(float(temperature), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    if isinstance(body.get("top_k"), int):
        out["top_k"] = body["top_k"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    structured = None if thinking_on else structured_tool(body)
    if structured is not None:
        _force_structured(out, structured, body)
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if stream:
        out["stream"] = True
    return out


def thinking_enabled(request: Json) -> bool:
    thinking = request.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") != "disabled"


def answer_tool(body: Json, request: Json) -> str | None:
    """The tool :func:`to_messages_request` forced for ``json_schema`` in ``request``, if any."""
    return None if thinking_enabled(request) else structured_tool(body)


def beta_header(body: Json) -> str | None:
    """The ``anthropic-beta`` header a Messages client sent, kept on the chat body."""
    betas = body.get("anthropic_beta")
    if isinstance(betas, list) and betas:
        return ",".join(str(b) for b in betas)
    return None


def structured_tool(body: Json) -> str | None:
    """The forced tool's name when ``response_format`` is ``json_schema`` and can be forced."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict) or (body.get("tools") and choice == "none"):
        return None  # the client picked its tool (or none): keep parse-and-repair
    spec = fmt.get("json_schema")
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and _TOOL_NAME.match(name) else STRUCTURED_TOOL


def _force_structured(out: Json, name: str, body: Json) -> None:
    spec = body["response_format"].get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    tool: Json = {
        "name": name,
        "description": "Answer by calling this tool; its input is the whole answer.",
        "input_schema": schema if isinstance(schema, dict) else {"type": "object"},
    }
    if isinstance(spec, dict) and isinstance(spec.get("description"), str):
        tool["description"] = spec["description"]
    user_tools = out.get("tools") or []
    out["tools"] = [*user_tools, tool]
    # With tools of its own the model may still call them first: "any" lets it choose one of
    # them or the answer tool, which is what response_format means next to tools.
    out["tool_choice"] = {"type": "any"} if user_tools else {"type": "tool", "name": name}


def _thinking(body: Json, max_tokens: int) -> Json | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        return thinking  # the Messages client's own setting, as sent
    effort = body.get("reasoning_effort")
    if effort is None or effort == "none":
        return None
    budget = EFFORT_BUDGETS.get(str(effort))
    if budget is None:
        raise InvalidRequest(
            f"reasoning_effort {effort!r} is not one of {', '.join(EFFORT_BUDGETS)} or 'none'",
            param="reasoning_effort",
        )
    budget = min(budget, max_tokens - 1)  # Anthropic wants the budget under max_tokens
    if budget < MIN_THINKING_BUDGET:
        raise InvalidRequest(
            f"reasoning_effort needs max_tokens above {MIN_THINKING_BUDGET} on Anthropic models "
            f"(the thinking budget counts against it); max_tokens is {max_tokens}",
            param="max_tokens",
        )
    return {"type": "enabled", "budget_tokens": budget}


def convert_messages(messages: list[Json]) -> tuple[str | list[Json], list[Json]]:
    """Return ``(system, alternating user/assistant turns of content blocks)``."""
    system: list[Json] = []
    out: list[Json] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise InvalidRequest(f"messages[{i}] must be an object", param=f"messages[{i}]")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_text_blocks(msg.get("content"), i))
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
    if any("cache_control" in b for b in system):
        return system, out
    return "\n\n".join(b["text"] for b in system), out


def _text_blocks(content: Any, i: int) -> list[Json]:
    """Text parts as Anthropic text blocks, keeping ``cache_control``; empty text dropped."""
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(
            f"messages[{i}].content must be a string or a list", param=f"messages[{i}].content"
        )
    blocks: list[Json] = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
            raise InvalidRequest(
                f"messages[{i}]: only text parts are allowed here", param=f"messages[{i}].content"
            )
        text = str(part.get("text") or part.get("refusal") or "")
        if text:
            blocks.append(_cached({"type": "text", "text": text}, part))
    return blocks


def _plain_text(content: Any, i: int) -> str:
    return "".join(b["text"] for b in _text_blocks(content, i))


def _cached(block: Json, source: Json) -> Json:
    if isinstance(source.get("cache_control"), dict):
        block["cache_control"] = source["cache_control"]
    return block


def _user_blocks(content: Any, i: int) -> list[Json]:
    if not isinstance(content, list):
        return _text_blocks(content, i)
    blocks: list[Json] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append(_text_or_document(part))
        elif kind == "image_url":
            blocks.append(_cached(_image(part, i), part))
        elif kind == "file":
            blocks.append(_cached(_pdf(part, i), part))
        else:
            raise InvalidRequest(
                f"messages[{i}]: content part type '{kind}' is not supported by Anthropic",
                param=f"messages[{i}].content",
            )
    return blocks


def _text_or_document(part: Json) -> Json:
    doc = part.get("document")
    if not isinstance(doc, dict):
        return _cached({"type": "text", "text": str(part["text"])}, part)
    # A plain-text document a Messages client sent: its text is this part's text (where the
    # policies read it), its title, context and citations setting ride along.
    block: Json = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": str(part["text"])},
    }
    block.update({k: v for k, v in doc.items() if k in ("title", "context", "citations")})
    return _cached(block, part)


def _image(part: Json, i: int) -> Json:
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str):
        raise InvalidRequest(
            f"messages[{i}]: image_url needs a url", param=f"messages[{i}].content"
        )
    if url.startswith("data:"):
        media_type, data = _data_url(url, i)
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _pdf(part: Json, i: int) -> Json:
    spec = part.get("file")
    data_url = spec.get("file_data") if isinstance(spec, dict) else None
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise InvalidRequest(
            f"messages[{i}]: file parts need file_data as a base64 data URL for Anthropic",
            param=f"messages[{i}].content",
        )
    media_type, data = _data_url(data_url, i)
    block: Json = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    doc = part.get("document")
    if isinstance(doc, dict):
        block.update({k: v for k, v in doc.items() if k in ("title", "context", "citations")})
    return block


def _data_url(url: str, i: int) -> tuple[str, str]:
    header, _, data = url.partition(",")
    media_type = header[5:].split(";")[0]
    if ";base64" not in header or not media_type:
        raise InvalidRequest(
            f"messages[{i}]: data URLs must be base64", param=f"messages[{i}].content"
        )
    return media_type, data


def _assistant_blocks(msg: Json, i: int) -> list[Json]:
    # Only signed thinking goes back: Anthropic verifies signatures, and thinking from another
    # upstream (reasoning_content of DeepSeek or vLLM, after a failover) has none.
    blocks: list[Json] = [
        b
        for b in msg.get("thinking_blocks") or []
        if isinstance(b, dict)
        and (
            (b.get("type") == "thinking" and b.get("signature"))
            or (b.get("type") == "redacted_thinking" and b.get("data"))
        )
    ]
    blocks.extend(_text_blocks(msg.get("content"), i))
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
    content = msg.get("content")
    if isinstance(content, list) and any(
        isinstance(p, dict) and (p.get("type") == "image_url" or "cache_control" in p)
        for p in content
    ):
        block["content"] = _user_blocks(content, i)  # images and cache marks survive
    else:
        text = _plain_text(content, i)
        if text:
            block["content"] = text
    if msg.get("is_error") is True:
        block["is_error"] = True
    return _cached(block, msg)


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
    return _cached(out, tool)


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
