"""Rebuilding a complete ``chat.completion`` from the chunks of a streamed answer.

The cache stores complete responses (a hit is replayed as a stream by the gateway), so a
streamed miss is collected chunk by chunk, before any other filter changes a chunk, and
assembled when the stream has ended normally.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


class StreamAssembler:
    def __init__(self) -> None:
        self.id: str | None = None
        self.model = ""
        self.created = 0
        self.content: list[str] = []
        self.tool_calls: dict[int, Json] = {}
        self.finish_reason: str | None = None
        self.usage: Json | None = None
        self.refusal: list[str] = []

    def feed(self, ch: Json) -> Json:
        if self.id is None:
            self.id = ch.get("id")
            self.model = ch.get("model") or ""
            self.created = ch.get("created") or 0
        if ch.get("usage"):
            self.usage = dict(ch["usage"])
        for c in ch.get("choices") or []:
            if c.get("index", 0) != 0:
                continue
            delta = c.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            for tc in delta.get("tool_calls") or []:
                self._tool(tc)
            if c.get("finish_reason"):
                self.finish_reason = c["finish_reason"]
        return ch

    def _tool(self, tc: Json) -> None:
        i = tc.get("index", len(self.tool_calls))
        cur = self.tool_calls.setdefault(
            i, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if tc.get("id"):
            cur["id"] = tc["id"]
        if tc.get("type"):
            cur["type"] = tc["type"]
        fn = tc.get("function") or {}
        if fn.get("name"):
            cur["function"]["name"] += fn["name"]
        if fn.get("arguments"):
            cur["function"]["arguments"] += fn["arguments"]

    def response(self) -> Json | None:
        """The assembled response, or None if the stream never finished."""
        if self.finish_reason is None:
            return None
        msg: Json = {"role": "assistant", "content": "".join(self.content) or None}
        if self.refusal:
            msg["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            msg["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        out: Json = {
            "id": self.id or "chatcmpl-cached",
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": msg, "finish_reason": self.finish_reason}],
        }
        if self.usage is not None:
            out["usage"] = self.usage
        return out
