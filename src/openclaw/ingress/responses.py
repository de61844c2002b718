"""The OpenAI Responses ingress (``POST /v1/responses``), stateless: parser and renderer.
The stream renderer is :mod:`openclaw.ingress.responses_stream`.

The parser turns a Responses body into the pipeline's chat body: ``instructions`` becomes a
system message; ``input`` (a string, or ``message`` / ``function_call`` /
``function_call_output`` items) becomes messages, consecutive ``function_call`` items one
assistant turn's ``tool_calls``; function ``tools`` and ``tool_choice`` keep their meaning;
``text.format`` becomes ``response_format``; ``max_output_tokens`` becomes ``max_tokens`` and
``reasoning.effort`` ``reasoning_effort``. ``reasoning`` input items are dropped: their
encrypted content is only readable by the OpenAI account that made them.

**Stateless by decision.** The gateway keeps no conversation state: ``previous_response_id``,
``conversation``, ``item_reference`` items, ``background`` and ``store: true`` are refused
with a 400 that says to send the whole conversation as ``input``. A local response store
would hold prompts and answers outside the audit log's retention and redaction rules, and on
a fleet the next turn may reach another gateway. Responses are rendered with
``store: false``. ``store`` left out is accepted as stateless (the official API's default is
to store, but no SDK sends the field unless asked).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from openclaw.errors import InvalidRequest
from openclaw.ingress.common import (
    Json,
    invalid,
    optional_int,
    optional_number,
    require_list,
    require_object,
    require_str,
)

_STATEFUL = ("previous_response_id", "conversation")
_EFFORTS = ("none", "minimal", "low", "medium", "high")


def stateless_error(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"{param}: this gateway's Responses API is stateless and stores no responses; send the "
        "whole conversation as 'input' (earlier output items included) and leave out "
        "previous_response_id, conversation and store",
        param=param,
        code="stateless_responses",
    )


def parse_responses_request(body: Any) -> Json:
    """Validate a Responses body and return the equivalent chat body."""
    body = require_object(body, "body")
    for key in _STATEFUL:
        if body.get(key) is not None:
            raise stateless_error(key)
    if body.get("store") is True:
        raise stateless_error("store")
    if body.get("background") is True:
        raise invalid(
            "background", "background responses need a response store; this gateway is stateless"
        )
    chat: Json = {"model": require_str(body.get("model"), "model")}
    messages: list[Json] = []
    instructions = body.get("instructions")
    if instructions is not None:
        text = require_str(instructions, "instructions", non_empty=False)
        if text:
            messages.append({"role": "system", "content": text})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
    else:
        for i, item in enumerate(require_list(raw, "input", non_empty=True)):
            _item(item, f"input[{i}]", messages)
    if not any(m["role"] != "system" for m in messages):
        raise invalid("input", "holds no message for the model to answer")
    chat["messages"] = messages
    if body.get("stream") is not None and not isinstance(body.get("stream"), bool):
        raise invalid("stream", "must be a boolean")
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    max_tokens = optional_int(body, "max_output_tokens")
    if max_tokens is not None:
        chat["max_tokens"] = max_tokens
    for key, high in (("temperature", 2.0), ("top_p", 1.0)):
        value = optional_number(body, key, 0.0, high)
        if value is not None:
            chat[key] = value
    metadata = body.get("metadata")
    if metadata is not None:
        chat["metadata"] = require_object(metadata, "metadata")
    user = body.get("safety_identifier") or body.get("user")
    if user is not None:
        chat["user"] = require_str(user, "user", non_empty=False)
    tools = body.get("tools")
    if tools is not None:
        parsed = [_tool(t, f"tools[{i}]") for i, t in enumerate(require_list(tools, "tools"))]
        if parsed:
            chat["tools"] = parsed
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("parallel_tool_calls") is not None:
        if not isinstance(body["parallel_tool_calls"], bool):
            raise invalid("parallel_tool_calls", "must be a boolean")
        chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    text = body.get("text")
    if text is not None:
        fmt = _format(require_object(text, "text").get("format"))
        if fmt is not None:
            chat["response_format"] = fmt
    reasoning = body.get("reasoning")
    if reasoning is not None:
        effort = require_object(reasoning, "reasoning").get("effort")
        if effort is not None:
            if effort not in _EFFORTS:
                raise invalid("reasoning.effort", f"must be one of {', '.join(_EFFORTS)}")
            chat["reasoning_effort"] = effort
    return chat


def _item(item: Any, where: str, out: list[Json]) -> None:
    item = require_object(item, where)
    kind = item.get("type", "message")
    if kind == "message":
        out.append(_message(item, where))
    elif kind == "function_call":
        call = {
            "id": require_str(item.get("call_id"), f"{where}.call_id"),
            "type": "function",
            "function": {
                "name": require_str(item.get("name"), f"{where}.name"),
                "arguments": require_str(
                    item.get("arguments"), f"{where}.arguments", non_empty=False
                ),
            },
        }
        last = out[-1] if out else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            out.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        if isinstance(output, list):
            content: Any = [_part(p, f"{where}.output[{j}]") for j, p in enumerate(output)]
        else:
            content = require_str(output, f"{where}.output", non_empty=False)
        out.append(
            {
                "role": "tool",
                "tool_call_id": require_str(item.get("call_id"), f"{where}.call_id"),
                "content": content,
            }
        )
    elif kind == "reasoning":
        return  # encrypted for the account that made it; nothing another model can use
    elif kind == "item_reference":
        raise stateless_error(f"{where}.type")
    else:
        raise invalid(f"{where}.type", f"input item type {kind!r} is not supported")


def _message(item: Json, where: str) -> Json:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise invalid(f"{where}.role", "must be 'user', 'assistant', 'system' or 'developer'")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = [
        _part(p, f"{where}.content[{j}]")
        for j, p in enumerate(require_list(content, f"{where}.content"))
    ]
    if role != "user" and any(p["type"] != "text" for p in parts):
        raise invalid(f"{where}.content", f"{role} messages hold text only")
    return {"role": role, "content": parts}


def _part(part: Any, where: str) -> Json:
    part = require_object(part, where)
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {
            "type": "text",
            "text": require_str(part.get("text"), f"{where}.text", non_empty=False),
        }
    if kind == "refusal":
        return {
            "type": "text",
            "text": require_str(part.get("refusal"), f"{where}.refusal", non_empty=False),
        }
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise invalid(
                f"{where}.image_url",
                "must be a URL or a data URL (file_id needs OpenAI's file store)",
            )
        spec: Json = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            spec["detail"] = part["detail"]
        return {"type": "image_url", "image_url": spec}
    if kind == "input_file":
        data = part.get("file_data")
        if not isinstance(data, str) or not data:
            raise invalid(
                f"{where}.file_data",
                "must be a base64 data URL (file_id and file_url are not supported)",
            )
        file: Json = {"file_data": data}
        if isinstance(part.get("filename"), str):
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    raise invalid(f"{where}.type", f"content part type {kind!r} is not supported")


def _tool(tool: Any, where: str) -> Json:
    tool = require_object(tool, where)
    if tool.get("type") != "function":
        raise invalid(
            f"{where}.type", f"only function tools are supported (got {tool.get('type')!r})"
        )
    fn: Json = {"name": require_str(tool.get("name"), f"{where}.name")}
    if tool.get("description") is not None:
        fn["description"] = require_str(
            tool["description"], f"{where}.description", non_empty=False
        )
    if tool.get("parameters") is not None:
        fn["parameters"] = require_object(tool["parameters"], f"{where}.parameters")
    if isinstance(tool.get("strict"), bool):
        fn["strict"] = tool["strict"]
    return {"type": "function", "function": fn}


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    choice = require_object(choice, "tool_choice")
    if choice.get("type") != "function":
        raise invalid(
            "tool_choice.type", "must be 'function' (or tool_choice 'auto', 'none', 'required')"
        )
    return {
        "type": "function",
        "function": {"name": require_str(choice.get("name"), "tool_choice.name")},
    }


def _format(fmt: Any) -> Json | None:
    if fmt is None:
        return None
    fmt = require_object(fmt, "text.format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec: Json = {
            "name": require_str(fmt.get("name"), "text.format.name"),
            "schema": require_object(fmt.get("schema"), "text.format.schema"),
        }
        for key in ("strict", "description"):
            if fmt.get(key) is not None:
                spec[key] = fmt[key]
        return {"type": "json_schema", "json_schema": spec}
    raise invalid("text.format.type", "must be 'text', 'json_object' or 'json_schema'")


# -- response --------------------------------------------------------------------------------


def response_id(chat_id: Any) -> str:
    text = str(chat_id or "")
    return "resp_" + (text.removeprefix("chatcmpl-").removeprefix("msg_") or uuid.uuid4().hex)


def item_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def usage_out(usage: Any) -> Json:
    usage = usage if isinstance(usage, dict) else {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = usage.get("prompt_tokens_details")
    reasoning = usage.get("completion_tokens_details")
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(cached.get("cached_tokens") or 0)
            if isinstance(cached, dict)
            else 0,
            "cache_write_tokens": 0,  # chat usage does not report cache writes
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": int(reasoning.get("reasoning_tokens") or 0)
            if isinstance(reasoning, dict)
            else 0
        },
        "total_tokens": prompt + completion,
    }


def envelope(rid: str, request: Json, model: str, status: str, created: float) -> Json:
    """The response object minus output and usage, echoing the request's settings."""
    fmt = (
        (request.get("text") or {}).get("format") if isinstance(request.get("text"), dict) else None
    )
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model or str(request.get("model") or ""),
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True) is not False,
        "previous_response_id": None,
        "reasoning": request.get("reasoning"),
        "store": False,
        "temperature": request.get("temperature"),
        "text": {"format": fmt if isinstance(fmt, dict) else {"type": "text"}},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def message_item(iid: str, text: str, status: str = "completed") -> Json:
    return {
        "id": iid,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status == "completed"
        else [],
    }


def call_item(iid: str, call_id: str, name: str, arguments: str, status: str = "completed") -> Json:
    return {
        "id": iid,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def reasoning_item(text: str) -> Json:
    return {
        "id": item_id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
        "status": "completed",
    }


def render_responses_response(chat: Json, request: Json) -> Json:
    """A ``chat.completion`` -> a Responses ``response`` (``request``: the Responses body)."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    msg = choice.get("message") or {}
    finish = choice.get("finish_reason")
    status = "incomplete" if finish in ("length", "content_filter") else "completed"
    out = envelope(
        response_id(chat.get("id")), request, str(chat.get("model") or ""), status, _created(chat)
    )
    output: list[Json] = []
    if msg.get("reasoning_content"):
        output.append(reasoning_item(str(msg["reasoning_content"])))
    text = msg.get("content")
    if isinstance(text, list):
        text = "".join(str(p.get("text") or "") for p in text if isinstance(p, dict))
    if text:
        output.append(message_item(item_id("msg"), str(text)))
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        output.append(
            call_item(
                item_id("fc"),
                str(call.get("id") or item_id("call")),
                str(fn.get("name") or ""),
                str(fn.get("arguments") or ""),
            )
        )
    out["output"] = output
    out["usage"] = usage_out(chat.get("usage"))
    if status == "incomplete":
        reason = "max_output_tokens" if finish == "length" else "content_filter"
        out["incomplete_details"] = {"reason": reason}
    if "openclaw" in chat:
        out["openclaw"] = chat["openclaw"]
    return out


def _created(chat: Json) -> float:
    created = chat.get("created")
    return float(created) if isinstance(created, int | float) and created else time.time()
