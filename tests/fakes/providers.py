"""The wire formats of the three fake upstreams: OpenAI, Anthropic and Ollama.

Each class renders the provider's real shapes (field names, event names, framing, error
bodies) closely enough that the official ``openai`` and ``anthropic`` SDKs parse them, and
rejects requests the real API would reject (``validate``), so adapter bugs show up as 400s.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import uuid
from typing import Any, ClassVar

from fakes.upstreams import FakeUpstream, Json, Turn, pieces

_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_OPENAI_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def _ndjson(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def _tool_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


class OpenAIUpstream(FakeUpstream):
    """``POST /v1/chat/completions`` (JSON or SSE with ``data: [DONE]``), ``GET /v1/models``,
    ``POST /v1/embeddings``."""

    kind: ClassVar[str] = "openai"
    url_suffix: ClassVar[str] = "/v1"
    chat_path: ClassVar[str] = "/v1/chat/completions"
    models_path: ClassVar[str] = "/v1/models"
    embed_path: ClassVar[str] = "/v1/embeddings"

    def validate_embed(self, body: Json) -> str | None:
        if not isinstance(body.get("model"), str):
            return "you must provide a model parameter"
        raw = body.get("input")
        if not raw or not isinstance(raw, str | list):
            return "'input' is a required property"
        if body.get("encoding_format") not in (None, "float", "base64"):
            return "'encoding_format' must be one of 'float', 'base64'"
        if "metadata" in body:
            return "Unrecognized request argument supplied: metadata"
        return None

    def render_embed(self, body: Json, vectors: list[list[float]], tokens: int) -> Json:
        b64 = body.get("encoding_format") == "base64"
        return {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode()
                    if b64
                    else v,
                }
                for i, v in enumerate(vectors)
            ],
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def validate(self, body: Json) -> str | None:
        if not isinstance(body.get("model"), str):
            return "you must provide a model parameter"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "'messages' must be a non-empty array"
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in (
                "system",
                "developer",
                "user",
                "assistant",
                "tool",
            ):
                return f"Invalid value for 'messages[{i}].role'"
            if m["role"] == "tool" and not m.get("tool_call_id"):
                return f"messages[{i}]: 'tool_call_id' is required for role 'tool'"
        return None

    def tool_names(self, body: Json) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools") or [] if "function" in t]

    def error_body(self, status: int, message: str) -> Json:
        return {
            "error": {
                "message": message,
                "type": _OPENAI_ERROR_TYPES.get(status, "server_error"),
                "param": None,
                "code": _OPENAI_ERROR_CODES.get(status),
            }
        }

    def models_body(self) -> Json:
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for m in ("gpt-4o-mini", "gpt-4o")
            ],
        }

    def _tool_calls(self, turn: Turn) -> list[Json]:
        ids = turn.state.setdefault("ids", [_tool_id("call_") for _ in turn.tool_calls])
        return [
            {"id": ids[i], "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(turn.tool_calls)
        ]

    def _usage(self, turn: Turn) -> Json:
        p, c = turn.prompt_tokens, turn.completion_tokens
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def render(self, turn: Turn) -> Json:
        message: Json = {"role": "assistant", "content": turn.text or None, "refusal": None}
        if turn.tool_calls:
            message["tool_calls"] = self._tool_calls(turn)
        return {
            "id": "chatcmpl-fake" + uuid.uuid4().hex[:12],
            "object": "chat.completion",
            "created": turn.created,
            "model": turn.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": turn.finish}
            ],
            "usage": self._usage(turn),
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, turn: Turn, delta: Json, finish: str | None = None) -> bytes:
        cid = turn.state.setdefault("id", "chatcmpl-fake" + uuid.uuid4().hex[:12])
        obj: Json = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": turn.created,
            "model": turn.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self._include_usage(turn):
            obj["usage"] = None
        return _sse(obj)

    def _include_usage(self, turn: Turn) -> bool:
        opts = turn.body.get("stream_options")
        return isinstance(opts, dict) and bool(opts.get("include_usage"))

    def stream_head(self, turn: Turn) -> list[bytes]:
        return [self._chunk(turn, {"role": "assistant", "content": "", "refusal": None})]

    def stream_text(self, turn: Turn, piece: str) -> bytes:
        return self._chunk(turn, {"content": piece})

    def stream_tools(self, turn: Turn) -> list[bytes]:
        frames = []
        for i, call in enumerate(self._tool_calls(turn)):
            args = call["function"]["arguments"]
            head = {
                **call,
                "index": i,
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            frames.append(self._chunk(turn, {"tool_calls": [head]}))
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                frames.append(
                    self._chunk(
                        turn, {"tool_calls": [{"index": i, "function": {"arguments": part}}]}
                    )
                )
        return frames

    def stream_tail(self, turn: Turn) -> list[bytes]:
        frames = [self._chunk(turn, {}, turn.finish)]
        if self._include_usage(turn):
            last = json.loads(self._chunk(turn, {})[len(b"data: ") :])
            last["choices"] = []
            last["usage"] = self._usage(turn)
            frames.append(_sse(last))
        return [*frames, b"data: [DONE]\n\n"]

    def stream_error(self, turn: Turn) -> bytes:
        return _sse(self.error_body(500, "The server had an error while processing your request."))


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "content_filter": "refusal"}
_BLOCK_TYPES = {"text", "image", "tool_use", "tool_result", "document", "thinking"}


class AnthropicUpstream(FakeUpstream):
    """``POST /v1/messages`` (JSON or named-event SSE), ``GET /v1/models``. URL has no /v1."""

    kind: ClassVar[str] = "anthropic"
    chat_path: ClassVar[str] = "/v1/messages"
    models_path: ClassVar[str] = "/v1/models"

    def validate(self, body: Json) -> str | None:
        if not isinstance(body.get("model"), str):
            return "model: Field required"
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens: Field required"
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            return "system: Input should be a valid string or list"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        tool_ids: set[str] = set()
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                return f"messages.{i}.role: Input should be 'user' or 'assistant'"
            content = m.get("content")
            if isinstance(content, str):
                if not content and i < len(messages) - 1:
                    return f"messages.{i}: all messages must have non-empty content"
                continue
            if not isinstance(content, list) or not content:
                return f"messages.{i}: all messages must have non-empty content"
            for j, block in enumerate(content):
                kind = block.get("type") if isinstance(block, dict) else None
                if kind not in _BLOCK_TYPES:
                    return f"messages.{i}.content.{j}.type: invalid block type {kind!r}"
                if kind == "text" and not block.get("text"):
                    return f"messages.{i}.content.{j}: text content blocks must be non-empty"
                if kind == "tool_use":
                    if m["role"] != "assistant" or not isinstance(block.get("input"), dict):
                        return f"messages.{i}.content.{j}.tool_use: bad tool_use block"
                    tool_ids.add(str(block.get("id")))
                if kind == "tool_result" and block.get("tool_use_id") not in tool_ids:
                    return f"messages.{i}.content.{j}: unexpected `tool_use_id` in `tool_result`"
        for t in body.get("tools") or []:
            if not isinstance(t, dict) or "name" not in t or "input_schema" not in t:
                return "tools: each tool needs 'name' and 'input_schema'"
        return None

    def tool_names(self, body: Json) -> list[str]:
        return [t["name"] for t in body.get("tools") or [] if "name" in t]

    def error_body(self, status: int, message: str) -> Json:
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def models_body(self) -> Json:
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": m,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for m in ("claude-sonnet-4-5", "claude-haiku-4-5")
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }

    def _tool_blocks(self, turn: Turn) -> list[Json]:
        ids = turn.state.setdefault("ids", [_tool_id("toolu_") for _ in turn.tool_calls])
        return [
            {"type": "tool_use", "id": ids[i], "name": n, "input": a}
            for i, (n, a) in enumerate(turn.tool_calls)
        ]

    def _signature(self, turn: Turn) -> str:
        return "fake-sig-" + hashlib.sha256(turn.thinking.encode()).hexdigest()[:16]

    def render(self, turn: Turn) -> Json:
        content: list[Json] = []
        if turn.thinking:
            content.append(
                {"type": "thinking", "thinking": turn.thinking, "signature": self._signature(turn)}
            )
        content += [{"type": "text", "text": turn.text}] if turn.text else []
        content += self._tool_blocks(turn)
        return {
            "id": "msg_fake" + uuid.uuid4().hex[:16],
            "type": "message",
            "role": "assistant",
            "model": turn.model,
            "content": content,
            "stop_reason": _ANTHROPIC_STOP[turn.finish],
            "stop_sequence": None,
            "usage": {"input_tokens": turn.prompt_tokens, "output_tokens": turn.completion_tokens},
        }

    def stream_head(self, turn: Turn) -> list[bytes]:
        message: Json = {
            "id": "msg_fake" + uuid.uuid4().hex[:16],
            "type": "message",
            "role": "assistant",
            "model": turn.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": turn.prompt_tokens, "output_tokens": 1},
        }
        turn.state["next"] = 0
        frames = [
            _sse({"type": "message_start", "message": message}, "message_start"),
            _sse({"type": "ping"}, "ping"),
        ]
        if turn.thinking:
            turn.state["next"] = 1
            block = {"type": "thinking", "thinking": "", "signature": ""}
            frames.append(
                _sse(
                    {"type": "content_block_start", "index": 0, "content_block": block},
                    "content_block_start",
                )
            )
            deltas: list[Json] = [
                {"type": "thinking_delta", "thinking": p} for p in pieces(turn.thinking)
            ]
            deltas.append({"type": "signature_delta", "signature": self._signature(turn)})
            for delta in deltas:
                event = {"type": "content_block_delta", "index": 0, "delta": delta}
                frames.append(_sse(event, "content_block_delta"))
            frames.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        return frames

    def _close_block(self, turn: Turn) -> bytes:
        index = turn.state.pop("open", None)
        if index is None:
            return b""
        return _sse({"type": "content_block_stop", "index": index}, "content_block_stop")

    def stream_text(self, turn: Turn, piece: str) -> bytes:
        out = b""
        if "open" not in turn.state:
            index = turn.state["open"] = turn.state["next"]
            turn.state["next"] += 1
            block = {"type": "text", "text": ""}
            start = {"type": "content_block_start", "index": index, "content_block": block}
            out += _sse(start, "content_block_start")
        delta = {"type": "text_delta", "text": piece}
        event = {"type": "content_block_delta", "index": turn.state["open"], "delta": delta}
        return out + _sse(event, "content_block_delta")

    def stream_tools(self, turn: Turn) -> list[bytes]:
        frames = [self._close_block(turn)] if "open" in turn.state else []
        for block in self._tool_blocks(turn):
            index = turn.state["next"]
            turn.state["next"] += 1
            start = {
                "type": "content_block_start",
                "index": index,
                "content_block": {**block, "input": {}},
            }
            frames.append(_sse(start, "content_block_start"))
            args = json.dumps(block["input"])
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                delta = {"type": "input_json_delta", "partial_json": part}
                event = {"type": "content_block_delta", "index": index, "delta": delta}
                frames.append(_sse(event, "content_block_delta"))
            frames.append(
                _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            )
        return frames

    def stream_tail(self, turn: Turn) -> list[bytes]:
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": _ANTHROPIC_STOP[turn.finish], "stop_sequence": None},
            "usage": {"output_tokens": turn.completion_tokens},
        }
        return [
            self._close_block(turn),
            _sse(delta, "message_delta"),
            _sse({"type": "message_stop"}, "message_stop"),
        ]

    def stream_error(self, turn: Turn) -> bytes:
        return _sse(self.error_body(529, "Overloaded"), "error")

    def malformed_frame(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'


class OllamaUpstream(FakeUpstream):
    """``POST /api/chat`` (JSON, or NDJSON when ``stream`` is true or absent), ``GET /api/tags``,
    ``POST /api/embed``."""

    kind: ClassVar[str] = "ollama"
    chat_path: ClassVar[str] = "/api/chat"
    models_path: ClassVar[str] = "/api/tags"
    embed_path: ClassVar[str] = "/api/embed"

    def validate_embed(self, body: Json) -> str | None:
        if not body.get("model"):
            return "model is required"
        raw = body.get("input")
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(x, str) for x in items):
            return "json: cannot unmarshal array into Go value of type string"
        return None

    def render_embed(self, body: Json, vectors: list[list[float]], tokens: int) -> Json:
        return {
            "model": body["model"],
            "embeddings": vectors,
            "total_duration": 14143917,
            "load_duration": 1019500,
            "prompt_eval_count": tokens,
        }

    stream_content_type: ClassVar[str] = "application/x-ndjson"

    def __init__(self, default_text: str | None = None, models: list[str] | None = None) -> None:
        super().__init__(default_text)
        self.models = models or ["llama3.2:latest", "qwen2.5:7b"]

    def is_stream(self, body: Json) -> bool:
        return body.get("stream", True) is not False  # Ollama streams unless told not to

    def validate(self, body: Json) -> str | None:
        if not body.get("model"):
            return "model is required"
        for i, m in enumerate(body.get("messages") or []):
            # Ollama decodes into Go structs: content must be a string, arguments an object.
            if not isinstance(m, dict) or not isinstance(m.get("content", ""), str):
                return f"json: cannot unmarshal messages[{i}].content into Go value of type string"
            for tc in m.get("tool_calls") or []:
                if not isinstance(tc.get("function", {}).get("arguments"), dict):
                    return "json: cannot unmarshal string into Go value of type api.ToolCallFunctionArguments"
        opts = body.get("options")
        if opts is not None and not isinstance(opts, dict):
            return "options must be an object"
        return None

    def tool_names(self, body: Json) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools") or [] if "function" in t]

    def error_body(self, status: int, message: str) -> Json:
        return {"error": message}

    def models_body(self) -> Json:
        return {
            "models": [
                {
                    "name": m,
                    "model": m,
                    "modified_at": "2025-01-01T00:00:00Z",
                    "size": 2019393189,
                    "digest": uuid.uuid5(uuid.NAMESPACE_DNS, m).hex,
                    "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
                }
                for m in self.models
            ]
        }

    def _line(self, turn: Turn, message: Json, done: bool = False) -> Json:
        return {
            "model": turn.model,
            "created_at": "2025-01-01T00:00:00.000000Z",
            "message": message,
            "done": done,
        }

    def _final(self, turn: Turn, message: Json) -> Json:
        out = self._line(turn, message, True)
        out.update(
            done_reason="stop",
            total_duration=1000000,
            load_duration=100000,
            prompt_eval_count=turn.prompt_tokens,
            prompt_eval_duration=200000,
            eval_count=turn.completion_tokens,
            eval_duration=700000,
        )
        return out

    def _tool_calls(self, turn: Turn) -> list[Json]:
        return [{"function": {"name": n, "arguments": a}} for n, a in turn.tool_calls]

    def render(self, turn: Turn) -> Json:
        message: Json = {"role": "assistant", "content": turn.text}
        if turn.thinking:
            message["thinking"] = turn.thinking
        if turn.tool_calls:
            message["tool_calls"] = self._tool_calls(turn)
        return self._final(turn, message)

    def stream_head(self, turn: Turn) -> list[bytes]:
        if not turn.thinking:
            return []
        message = {"role": "assistant", "content": "", "thinking": turn.thinking}
        return [_ndjson(self._line(turn, message))]

    def stream_text(self, turn: Turn, piece: str) -> bytes:
        return _ndjson(self._line(turn, {"role": "assistant", "content": piece}))

    def stream_tools(self, turn: Turn) -> list[bytes]:
        message = {"role": "assistant", "content": "", "tool_calls": self._tool_calls(turn)}
        return [_ndjson(self._line(turn, message))]

    def stream_tail(self, turn: Turn) -> list[bytes]:
        return [_ndjson(self._final(turn, {"role": "assistant", "content": ""}))]

    def stream_error(self, turn: Turn) -> bytes:
        return _ndjson({"error": "an error was encountered while running the model"})

    def malformed_frame(self) -> bytes:
        return b'{"model": "x", "message": {"role": "assis\n'
