"""A deterministic provider for dry runs, demos and tests.

It is a real adapter: it streams, counts tokens (with the gateway's one counter,
``openclaw.tokens``) and answers through the same pipeline as any
upstream. Every answer says it came from the mock, so it can never pass for a real model.
The reply is derived from the last user message, so the same request gives the same answer.
Special prompts let demos show failure handling: ``mock:error``, ``mock:json`` and
``mock:tool`` (see README).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import ClassVar

import orjson

from openclaw.errors import UpstreamError
from openclaw.providers.base import Json, Provider, ProviderCall, chunk, new_id, now, usage_dict
from openclaw.providers.registry import register
from openclaw.tokens import count_prompt, count_text, text_of

PREFIX = "[mock]"


@register
class MockProvider(Provider):
    type: ClassVar[str] = "mock"

    @property
    def is_local(self) -> bool:
        return True  # in-process: nothing leaves the machine

    def _answer(self, call: ProviderCall) -> tuple[str, list[Json] | None]:
        last = ""
        for msg in reversed(call.messages):
            if isinstance(msg, dict) and msg.get("role") == "user":
                last = text_of(msg.get("content"))
                break
        if "mock:error" in last:
            raise UpstreamError("mock provider: simulated upstream failure", upstream_status=500)
        if "mock:tool" in last:
            tool = {
                "id": "call_mock_1",
                "type": "function",
                "function": {
                    "name": "lookup",
                    "arguments": orjson.dumps({"query": last[:40]}).decode(),
                },
            }
            return "", [tool]
        fmt = call.body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
            digest = hashlib.sha256(last.encode()).hexdigest()[:8]
            return orjson.dumps({"mock": True, "echo": last[:200], "digest": digest}).decode(), None
        snippet = last.strip().replace("\n", " ")
        if len(snippet) > 200:
            snippet = snippet[:200] + "..."
        return f"{PREFIX} {call.model} received: {snippet}", None

    async def complete(self, call: ProviderCall) -> Json:
        text, tools = self._answer(call)
        message: Json = {"role": "assistant", "content": text or None}
        if tools:
            message["tool_calls"] = tools
        return {
            "id": new_id(),
            "object": "chat.completion",
            "created": now(),
            "model": call.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if tools else "stop"}
            ],
            "usage": usage_dict(
                count_prompt(call.messages, call.model), count_text(text, call.model)
            ),
        }

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        text, tools = self._answer(call)
        cid, created = new_id(), now()
        yield chunk(cid, call.model, created, {"role": "assistant", "content": ""})
        if tools:
            yield chunk(cid, call.model, created, {"tool_calls": [{"index": 0, **tools[0]}]})
        else:
            words = text.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                yield chunk(cid, call.model, created, {"content": piece})
                await asyncio.sleep(0)
        yield chunk(cid, call.model, created, {}, "tool_calls" if tools else "stop")
        last = chunk(cid, call.model, created, {})
        last["choices"] = []
        last["usage"] = usage_dict(
            count_prompt(call.messages, call.model), count_text(text, call.model)
        )
        yield last

    async def health(self) -> tuple[bool, str]:
        return True, "mock provider (no upstream)"
