"""A deterministic provider for dry runs, demos and tests.

It is a real adapter: it streams, counts tokens (with the gateway's one counter,
``openclaw.tokens``) and answers through the same pipeline as any
upstream. Every answer says it came from the mock, so it can never pass for a real model.
The reply is derived from the last user message, so the same request gives the same answer.
Special prompts let demos show failure handling: ``mock:error``, ``mock:json`` and
``mock:tool`` (see README). Embeddings are deterministic too: each input's vector is derived
from its SHA-256, unit length, :data:`EMBEDDING_DIMENSIONS` long unless ``dimensions`` says
otherwise, so equal texts embed equally and the cache can be tested.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import orjson

from openclaw.errors import UpstreamError
from openclaw.providers.base import (
    Json,
    Provider,
    ProviderCall,
    chunk,
    embedding_inputs,
    embedding_response,
    encode_embedding,
    new_id,
    now,
    usage_dict,
)
from openclaw.tokens import count_prompt, count_text, text_of

PREFIX = "[mock]"
EMBEDDING_DIMENSIONS = 16


class MockProvider(Provider):
    type: ClassVar[str] = "mock"
    can_embed: ClassVar[bool] = True
    suggested_model: ClassVar[str | None] = "mock-general"

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
        call.single_choice(self.name, self.type)
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
        call.single_choice(self.name, self.type)
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

    async def embed(self, call: ProviderCall) -> Json:
        dims = call.body.get("dimensions")
        size = dims if isinstance(dims, int) and dims > 0 else EMBEDDING_DIMENSIONS
        vectors: list[Any] = []
        tokens = 0
        for item in embedding_inputs(call.body):
            seed = item if isinstance(item, str) else " ".join(map(str, item))
            tokens += count_text(item, call.model) if isinstance(item, str) else len(item)
            vectors.append(
                encode_embedding(mock_vector(seed, size), call.body.get("encoding_format"))
            )
        return embedding_response(vectors, call.model, tokens)

    async def health(self) -> tuple[bool, str]:
        return True, "mock provider (no upstream)"


def mock_vector(text: str, size: int) -> list[float]:
    """A unit vector of ``size`` floats that depends only on ``text``."""
    raw: list[float] = []
    counter = 0
    while len(raw) < size:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    raw = raw[:size]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]
