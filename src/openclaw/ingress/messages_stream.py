"""Chat chunks -> the Anthropic Messages event stream, frame for frame.

Anthropic's sequence is ``message_start``, then per content block ``content_block_start``,
``content_block_delta``... and ``content_block_stop``, then ``message_delta`` (stop reason and
usage) and ``message_stop``; ``ping`` may come at any point. A chat stream has no blocks, so
:class:`MessagesStream` opens one whenever the kind of delta changes (reasoning -> thinking
block, content -> text block, each new tool call -> tool_use block) and closes the previous
one. Input tokens are not known until the upstream's usage arrives at the end, so
``message_start`` carries the caller's estimate and ``message_delta`` the real count (the SDK
takes the later value). The final chunk's ``openclaw`` facts ride on ``message_delta``, where
the SDKs ignore them.
"""

from __future__ import annotations

from openclaw.errors import OpenClawError
from openclaw.ingress.common import Json, sse
from openclaw.ingress.messages import message_id, render_messages_error, stop_reason, usage_out

PING = sse("ping", {"type": "ping"})


class MessagesStream:
    """Feed it chat chunks in order; write the bytes each call returns.

    ``start()`` (optional: the first ``feed`` calls it), ``feed(chunk)`` per chunk,
    ``finish()`` once after the last chunk, or ``error(exc)`` when the stream fails midway;
    ``ping()`` whenever the wait for the next chunk is long.
    """

    def __init__(self, model: str, *, input_tokens: int = 0, message_id: str | None = None) -> None:
        self.model = model
        self.input_tokens = input_tokens
        self.id = message_id
        self.started = False
        self.finished = False
        self.next_index = 0
        self.open: tuple[str, int] | None = None  # (kind, chat tool index or -1)
        self.tool_blocks: dict[int, int] = {}  # chat tool-call index -> block index
        self.thinking_text = ""
        self.finish_reason: str | None = None
        self.usage: Json | None = None
        self.facts: Json | None = None

    @staticmethod
    def ping() -> bytes:
        return PING

    def start(self, chunk: Json | None = None) -> bytes:
        if self.started:
            return b""
        self.started = True
        if self.id is None:
            self.id = message_id(chunk.get("id") if chunk else None)
        message: Json = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return sse("message_start", {"type": "message_start", "message": message})

    def feed(self, chunk: Json) -> bytes:
        out = self.start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("openclaw"), dict):
            self.facts = chunk["openclaw"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            out += self._delta(delta)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return out

    def finish(self) -> bytes:
        """Close the open block and end the message with its stop reason and usage."""
        if self.finished:
            return b""
        self.finished = True
        out = self.start() + self._close()
        usage = usage_out(self.usage)
        if self.usage is None:
            usage["input_tokens"] = self.input_tokens
        delta: Json = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(self.finish_reason, bool(self.tool_blocks)),
                "stop_sequence": None,
            },
            "usage": usage,
        }
        if self.facts is not None:
            delta["openclaw"] = self.facts
        out += sse("message_delta", delta)
        return out + sse("message_stop", {"type": "message_stop"})

    def error(self, exc: OpenClawError) -> bytes:
        """The in-band error event that ends a stream which has already begun."""
        self.finished = True
        return sse("error", render_messages_error(exc)[1])

    # -- blocks ----------------------------------------------------------------------------
    def _delta(self, delta: Json) -> bytes:
        out = b""
        reasoning = delta.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            out += self._ensure("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            self.thinking_text += reasoning
            out += self._event({"type": "thinking_delta", "thinking": reasoning})
        for block in delta.get("thinking_blocks") or []:
            out += self._thinking_block(block)
        content = delta.get("content")
        if isinstance(content, str) and content:
            out += self._ensure("text", {"type": "text", "text": ""})
            out += self._event({"type": "text_delta", "text": content})
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                out += self._tool(call)
        return out

    def _thinking_block(self, block: object) -> bytes:
        if not isinstance(block, dict):
            return b""
        if block.get("type") == "redacted_thinking":
            out = self._close() + self._block_start("redacted", block)
            return out + self._close()
        if block.get("type") == "thinking" and block.get("signature"):
            out = b""
            if self.open is None or self.open[0] != "thinking":
                # A signed block whose text did not stream: open it with the text it holds.
                text = str(block.get("thinking") or "")
                start = {"type": "thinking", "thinking": "", "signature": ""}
                out += self._ensure("thinking", start)
                if text:
                    out += self._event({"type": "thinking_delta", "thinking": text})
            out += self._event({"type": "signature_delta", "signature": str(block["signature"])})
            return out + self._close()
        return b""

    def _tool(self, call: Json) -> bytes:
        index = call.get("index", 0)
        index = index if isinstance(index, int) else 0
        fn = call.get("function") or {}
        out = b""
        if index not in self.tool_blocks:
            block = {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{self.id}_{index}"),
                "name": str(fn.get("name") or ""),
                "input": {},
            }
            out += self._close() + self._block_start("tool", block, index)
            self.tool_blocks[index] = self.next_index - 1
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            delta = {"type": "input_json_delta", "partial_json": args}
            event = {
                "type": "content_block_delta",
                "index": self.tool_blocks[index],
                "delta": delta,
            }
            out += sse("content_block_delta", event)
        return out

    def _ensure(self, kind: str, block: Json) -> bytes:
        if self.open is not None and self.open[0] == kind:
            return b""
        return self._close() + self._block_start(kind, block)

    def _block_start(self, kind: str, block: Json, key: int = -1) -> bytes:
        index = self.next_index
        self.next_index += 1
        self.open = (kind, key)
        event = {"type": "content_block_start", "index": index, "content_block": block}
        return sse("content_block_start", event)

    def _event(self, delta: Json) -> bytes:
        event = {"type": "content_block_delta", "index": self.next_index - 1, "delta": delta}
        return sse("content_block_delta", event)

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        self.open = None
        return sse(
            "content_block_stop", {"type": "content_block_stop", "index": self.next_index - 1}
        )
