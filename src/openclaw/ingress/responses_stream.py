"""Chat chunks -> the Responses API's semantic event stream.

The order is the one the official SDK's accumulator checks: ``response.created`` and
``response.in_progress``; per output item ``response.output_item.added``, then for a message
``response.content_part.added``, ``response.output_text.delta``... ``response.output_text.done``,
``response.content_part.done``, or for a function call
``response.function_call_arguments.delta``... ``response.function_call_arguments.done``; then
``response.output_item.done``; last ``response.completed`` (``response.incomplete`` when the
model hit its token limit or a content filter), or ``response.failed`` when the stream breaks.
Every event has a ``sequence_number`` counting from 0, and the final response repeats every
item with the ids it was announced with. A message item is closed when a tool call starts,
as OpenAI's own stream does. Reasoning (``reasoning_content`` deltas) becomes a ``reasoning``
item whose one summary part streams as ``response.reasoning_summary_text.delta``.
"""

from __future__ import annotations

import time

from openclaw.errors import OpenClawError
from openclaw.ingress.common import Json, sse
from openclaw.ingress.responses import (
    call_item,
    envelope,
    item_id,
    message_item,
    response_id,
    usage_out,
)

#: Our error code -> the Responses ``error.code`` closest to it (the SDK's literal set).
_ERROR_CODES = {429: "rate_limit_exceeded"}


class ResponsesStream:
    """Feed it chat chunks in order and write the bytes each call returns.

    ``feed(chunk)`` (the first call also sends ``response.created`` and
    ``response.in_progress``), then ``finish()``, or ``error(exc)`` if the stream fails.
    ``request`` is the client's Responses body, echoed in the response object.
    """

    def __init__(self, request: Json, *, response_id_: str | None = None) -> None:
        self.request = request
        self.id = response_id_
        self.created = time.time()
        self.model = str(request.get("model") or "")
        self.seq = 0
        self.started = False
        self.finished = False
        self.items: list[Json] = []  # output items in order, as they will be when done
        self.open: int | None = None  # output index of the item being streamed
        self.texts: dict[int, str] = {}  # output index -> message text so far
        self.calls: dict[int, int] = {}  # chat tool-call index -> output index
        self.finish_reason: str | None = None
        self.usage: Json | None = None
        self.facts: Json | None = None

    def _event(self, kind: str, payload: Json) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **payload}
        self.seq += 1
        return sse(kind, data)

    def _response(self, status: str) -> Json:
        assert self.id is not None
        return envelope(self.id, self.request, self.model, status, self.created)

    def start(self, chunk: Json | None = None) -> bytes:
        if self.started:
            return b""
        self.started = True
        if self.id is None:
            self.id = response_id(chunk.get("id") if chunk else None)
        if chunk and chunk.get("model"):
            self.model = str(chunk["model"])
        out = self._event("response.created", {"response": self._response("in_progress")})
        return out + self._event(
            "response.in_progress", {"response": self._response("in_progress")}
        )

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
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                out += self._reasoning(reasoning)
            content = delta.get("content")
            if isinstance(content, str) and content:
                out += self._text(content)
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict):
                    out += self._call(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return out

    def finish(self) -> bytes:
        if self.finished:
            return b""
        self.finished = True
        out = self.start() + self._close()
        incomplete = self.finish_reason in ("length", "content_filter")
        response = self._response("incomplete" if incomplete else "completed")
        response["output"] = self.items
        response["usage"] = usage_out(self.usage)
        if incomplete:
            reason = "max_output_tokens" if self.finish_reason == "length" else "content_filter"
            response["incomplete_details"] = {"reason": reason}
        if self.facts is not None:
            response["openclaw"] = self.facts
        kind = "response.incomplete" if incomplete else "response.completed"
        return out + self._event(kind, {"response": response})

    def error(self, exc: OpenClawError) -> bytes:
        """``response.failed``: the stream broke after it began."""
        self.finished = True
        out = self.start()
        response = self._response("failed")
        response["output"] = self.items
        response["error"] = {
            "code": _ERROR_CODES.get(exc.status, "server_error"),
            "message": exc.message,
        }
        return out + self._event("response.failed", {"response": response})

    # -- items -------------------------------------------------------------------------------
    def _text(self, text: str) -> bytes:
        out = b""
        index = self.open
        if index is None or self.items[index]["type"] != "message":
            out += self._close()
            index = len(self.items)
            item = message_item(item_id("msg"), "", status="in_progress")
            self.items.append(item)
            self.open = index
            self.texts[index] = ""
            out += self._event("response.output_item.added", {"output_index": index, "item": item})
            out += self._event(
                "response.content_part.added",
                {
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
                },
            )
        self.texts[index] += text
        return out + self._event(
            "response.output_text.delta",
            {
                "item_id": self.items[index]["id"],
                "output_index": index,
                "content_index": 0,
                "delta": text,
                "logprobs": [],
            },
        )

    def _reasoning(self, text: str) -> bytes:
        out = b""
        index = self.open
        if index is None or self.items[index]["type"] != "reasoning":
            out += self._close()
            index = len(self.items)
            item: Json = {"id": item_id("rs"), "type": "reasoning", "summary": []}
            self.items.append(item)
            self.open = index
            self.texts[index] = ""
            out += self._event("response.output_item.added", {"output_index": index, "item": item})
            out += self._event(
                "response.reasoning_summary_part.added",
                {
                    "item_id": item["id"],
                    "output_index": index,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""},
                },
            )
        self.texts[index] += text
        return out + self._event(
            "response.reasoning_summary_text.delta",
            {
                "item_id": self.items[index]["id"],
                "output_index": index,
                "summary_index": 0,
                "delta": text,
            },
        )

    def _call(self, call: Json) -> bytes:
        key = call.get("index", 0)
        key = key if isinstance(key, int) else 0
        fn = call.get("function") or {}
        out = b""
        if key not in self.calls:
            out += self._close()
            index = len(self.items)
            item = call_item(
                item_id("fc"),
                str(call.get("id") or item_id("call")),
                str(fn.get("name") or ""),
                "",
                status="in_progress",
            )
            self.items.append(item)
            self.calls[key] = self.open = index
            out += self._event("response.output_item.added", {"output_index": index, "item": item})
        index = self.calls[key]
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            item = self.items[index]
            item["arguments"] += args
            out += self._event(
                "response.function_call_arguments.delta",
                {"item_id": item["id"], "output_index": index, "delta": args},
            )
        return out

    def _close(self) -> bytes:
        index = self.open
        if index is None:
            return b""
        self.open = None
        item = self.items[index]
        out = b""
        if item["type"] == "message":
            text = self.texts[index]
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            common = {"item_id": item["id"], "output_index": index, "content_index": 0}
            out += self._event(
                "response.output_text.done", {**common, "text": text, "logprobs": []}
            )
            out += self._event("response.content_part.done", {**common, "part": part})
            item["content"] = [part]
        elif item["type"] == "reasoning":
            text = self.texts[index]
            part = {"type": "summary_text", "text": text}
            common = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            out += self._event("response.reasoning_summary_text.done", {**common, "text": text})
            out += self._event("response.reasoning_summary_part.done", {**common, "part": part})
            item["summary"] = [part]
            item["status"] = "completed"
            return out + self._event(
                "response.output_item.done", {"output_index": index, "item": item}
            )
        else:
            out += self._event(
                "response.function_call_arguments.done",
                {
                    "item_id": item["id"],
                    "output_index": index,
                    "name": item["name"],
                    "arguments": item["arguments"],
                },
            )
        item["status"] = "completed"
        return out + self._event("response.output_item.done", {"output_index": index, "item": item})
