"""Ollama's native chat API (``POST /api/chat``), behind the OpenAI-shaped seam.

The native API is used rather than Ollama's ``/v1`` compatibility layer because it reports
``done_reason`` and token counts on every reply and lists installed models (``/api/tags``).
The differences that matter: sampling parameters live under ``options`` (``max_tokens``
becomes ``num_predict``); ``content`` is a plain string with images in a separate base64
list; tool-call ``arguments`` are JSON objects, not strings, in both directions; a stream is
NDJSON whose last line says ``"done": true``. A tool result carries the tool's name
(``tool_name``), looked up from the assistant turn that made the call. Ollama answers one
choice, so ``n > 1`` is a 400 naming the provider.

Embeddings go to ``POST /api/embed``, whose reply (``embeddings``, ``prompt_eval_count``) is
translated into OpenAI's list shape; ``encoding_format: base64`` is produced here, since
Ollama only sends floats, and token arrays are refused because Ollama takes only text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import orjson

from openclaw.config.schema import Timeouts
from openclaw.errors import InvalidRequest, OpenClawError, UpstreamError
from openclaw.providers.base import (
    Json,
    Provider,
    ProviderCall,
    chunk,
    embedding_inputs,
    embedding_response,
    encode_embedding,
    error_from_status,
    new_id,
    now,
    outbound_headers,
    upstream_errors,
    usage_dict,
)

_LIST_TIMEOUTS = Timeouts(connect=2.0, first_token=10.0, total=15.0)
_HEALTH_TIMEOUTS = Timeouts(connect=1.0, first_token=2.0, total=3.0)
_PROBE_TIMEOUT = 1.0  # onboarding asks while a person waits
# OpenAI body field -> Ollama ``options`` key
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "top_k": "top_k",  # an Anthropic Messages field the ingress keeps; Ollama has it too
}


# -- request ------------------------------------------------------------------------


def to_chat_request(call: ProviderCall, stream: bool) -> Json:
    """Translate an OpenAI chat body into an Ollama ``/api/chat`` body."""
    body = call.body
    out: Json = {"model": call.model, "messages": convert_messages(call.messages), "stream": stream}
    options: Json = {
        ours: body[theirs] for theirs, ours in _OPTIONS.items() if body.get(theirs) is not None
    }
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(max_tokens, int):
        options["num_predict"] = max_tokens
    stop = body.get("stop")
    if stop:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if options:
        out["options"] = options
    if body.get("tools"):
        out["tools"] = body["tools"]  # Ollama takes OpenAI's function-tool shape as is
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_object":
            out["format"] = "json"
        elif fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            out["format"] = schema if isinstance(schema, dict) else "json"
    return out


def convert_messages(messages: list[Json]) -> list[Json]:
    names: dict[str, str] = {}  # tool_call_id -> function name, for tool results
    out: list[Json] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise InvalidRequest(f"messages[{i}] must be an object", param=f"messages[{i}]")
        role = msg.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant", "tool"):
            raise InvalidRequest(
                f"messages[{i}].role '{role}' is not supported", param=f"messages[{i}].role"
            )
        text, images = _content(msg.get("content"), i)
        item: Json = {"role": role, "content": text}
        if images:
            item["images"] = images
        if role == "assistant" and msg.get("tool_calls"):
            item["tool_calls"] = [_tool_call_in(tc, i, names) for tc in msg["tool_calls"]]
        if role == "tool":
            name = names.get(str(msg.get("tool_call_id")))
            if name:
                item["tool_name"] = name
        out.append(item)
    return out


def _content(content: Any, i: int) -> tuple[str, list[str]]:
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, list):
        raise InvalidRequest(
            f"messages[{i}].content must be a string or a list", param=f"messages[{i}].content"
        )
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "refusal"):
            texts.append(str(part.get("text") or part.get("refusal") or ""))
        elif kind == "image_url":
            spec = part.get("image_url")
            url = spec.get("url") if isinstance(spec, dict) else spec
            header, _, data = str(url).partition(",")
            if not header.startswith("data:") or ";base64" not in header:
                raise InvalidRequest(
                    f"messages[{i}]: Ollama takes images only as base64 data URLs",
                    param=f"messages[{i}].content",
                )
            images.append(data)
        else:
            raise InvalidRequest(
                f"messages[{i}]: content part type '{kind}' is not supported by Ollama",
                param=f"messages[{i}].content",
            )
    return "\n".join(texts), images


def _tool_call_in(call: Any, i: int, names: dict[str, str]) -> Json:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not fn.get("name"):
        raise InvalidRequest(
            f"messages[{i}].tool_calls needs function names", param=f"messages[{i}]"
        )
    raw = fn.get("arguments") or "{}"
    try:
        args = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise InvalidRequest(
            f"messages[{i}].tool_calls: arguments must be a JSON object", param=f"messages[{i}]"
        )
    if call.get("id"):
        names[str(call["id"])] = str(fn["name"])
    return {"function": {"name": fn["name"], "arguments": args}}


# -- response ---------------------------------------------------------------------------


def tool_calls_out(calls: Any) -> list[Json]:
    """Ollama tool calls -> OpenAI ones (string arguments, an id when Ollama gave none)."""
    out: list[Json] = []
    for call in calls or []:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise ValueError("tool call without a function")
        args = fn.get("arguments")
        out.append(
            {
                "id": call.get("id") or new_id("call"),
                "type": "function",
                "function": {
                    "name": fn["name"],
                    "arguments": args
                    if isinstance(args, str)
                    else orjson.dumps(args or {}).decode(),
                },
            }
        )
    return out


def _finish(data: Json, has_tools: bool) -> str:
    if has_tools:
        return "tool_calls"
    return "length" if data.get("done_reason") == "length" else "stop"


def _usage(data: Json) -> Json:
    # Ollama leaves prompt_eval_count out when the whole prompt came from its cache.
    return usage_dict(int(data.get("prompt_eval_count") or 0), int(data.get("eval_count") or 0))


def from_chat(data: Any, model: str) -> Json:
    """Translate a non-streamed ``/api/chat`` reply into an OpenAI ``chat.completion``."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise ValueError("not a chat reply")
    msg = data["message"]
    tools = tool_calls_out(msg.get("tool_calls"))
    message: Json = {"role": "assistant", "content": msg.get("content") or None}
    if tools:
        message["tool_calls"] = tools
    if msg.get("thinking"):  # a thinking model's reasoning, as other adapters report it
        message["reasoning_content"] = str(msg["thinking"])
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": now(),
        "model": data.get("model") or model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(data, bool(tools))}],
        "usage": _usage(data),
    }


def to_embed_request(call: ProviderCall, provider: str) -> Json:
    """Translate an OpenAI embeddings body into an Ollama ``/api/embed`` body."""
    inputs = embedding_inputs(call.body)
    if inputs and not isinstance(inputs[0], str):
        raise InvalidRequest(
            f"provider '{provider}' (ollama) embeds text only; send input as strings, "
            "not token arrays",
            param="input",
        )
    out: Json = {"model": call.model, "input": inputs}
    if isinstance(call.body.get("dimensions"), int):
        out["dimensions"] = call.body["dimensions"]
    return out


def from_embed(data: Any, model: str, encoding_format: Any) -> Json:
    """Translate an ``/api/embed`` reply into an OpenAI embeddings response."""
    vectors = data.get("embeddings") if isinstance(data, dict) else None
    if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
        raise ValueError("not an embed reply")
    return embedding_response(
        [encode_embedding([float(x) for x in v], encoding_format) for v in vectors],
        str(data.get("model") or model),
        int(data.get("prompt_eval_count") or 0),
    )


def model_names(raw: bytes) -> list[str]:
    data = orjson.loads(raw)
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ValueError("not a model list")
    return [str(m.get("name") or m["model"]) for m in models]


# -- the adapter ------------------------------------------------------------------------


class OllamaProvider(Provider):
    type: ClassVar[str] = "ollama"
    default_base_url: ClassVar[str | None] = "http://localhost:11434"
    can_embed: ClassVar[bool] = True
    base_url_env: ClassVar[str | None] = "OLLAMA_HOST"
    suggested_model: ClassVar[str | None] = "llama3.1:8b"  # when none is pulled yet
    vision: ClassVar[bool] = True

    @classmethod
    def discover(cls, base_url: str) -> list[str] | None:
        """The models pulled into the Ollama at ``base_url`` (``GET /api/tags``), or None."""
        try:
            r = httpx.get(f"{base_url.rstrip('/')}/api/tags", timeout=_PROBE_TIMEOUT)
            r.raise_for_status()
            return [m["name"] for m in r.json().get("models", []) if "name" in m]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _url(self, path: str) -> str:
        # The native API sits at the root; tolerate a base URL copied for the /v1 layer.
        return f"{self.base_url.removesuffix('/v1')}/api/{path}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.config.headers, **outbound_headers()}
        key = self.api_key()  # only behind an authenticating proxy or on ollama.com
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _post(self, endpoint: str, payload: bytes, call: ProviderCall) -> Any:
        """POST to ``/api/<endpoint>`` and return the decoded JSON answer."""
        with upstream_errors(self.name):
            async with self.session().post(
                self._url(endpoint),
                data=payload,
                headers=self._headers(),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, raw, resp.headers)
                return orjson.loads(raw)

    async def complete(self, call: ProviderCall) -> Json:
        call.single_choice(self.name, self.type)
        payload = orjson.dumps(to_chat_request(call, stream=False))
        return from_chat(await self._post("chat", payload, call), call.model)

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        call.single_choice(self.name, self.type)
        payload = orjson.dumps(to_chat_request(call, stream=True))
        cid, created, model = new_id(), now(), call.model
        started = done = False
        tool_index = 0
        with upstream_errors(self.name):
            async with self.session().post(
                self._url("chat"),
                data=payload,
                headers=self._headers(),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, await resp.read(), resp.headers)
                async for raw in resp.content:
                    line = raw.strip()
                    if not line:
                        continue
                    obj = orjson.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("stream line is not an object")
                    if "error" in obj:
                        raise UpstreamError(
                            f"provider '{self.name}' sent an error mid-stream: {str(obj['error'])[:200]}"
                        )
                    if not started:
                        started = True
                        yield chunk(cid, model, created, {"role": "assistant", "content": ""})
                    msg = obj.get("message") or {}
                    if not isinstance(msg, dict):
                        raise ValueError("message is not an object")
                    if msg.get("thinking"):
                        yield chunk(cid, model, created, {"reasoning_content": msg["thinking"]})
                    if msg.get("content"):
                        yield chunk(cid, model, created, {"content": msg["content"]})
                    for call_ in tool_calls_out(msg.get("tool_calls")):
                        yield chunk(
                            cid, model, created, {"tool_calls": [{"index": tool_index, **call_}]}
                        )
                        tool_index += 1
                    if obj.get("done"):
                        done = True
                        yield chunk(cid, model, created, {}, _finish(obj, tool_index > 0))
                        last = chunk(cid, model, created, {})
                        last["choices"] = []
                        last["usage"] = _usage(obj)
                        yield last
                        break
                if not done:
                    raise UpstreamError(f"provider '{self.name}' ended the stream before done")

    async def embed(self, call: ProviderCall) -> Json:
        payload = orjson.dumps(to_embed_request(call, self.name))
        answer = await self._post("embed", payload, call)
        return from_embed(answer, call.model, call.body.get("encoding_format"))

    async def list_models(self) -> list[str]:
        """Names of the models installed in this Ollama (``GET /api/tags``)."""
        with upstream_errors(self.name):
            async with self.session().get(
                self._url("tags"),
                headers=self._headers(),
                timeout=self.client_timeout(_LIST_TIMEOUTS),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, raw, resp.headers)
                return model_names(raw)

    async def health(self) -> tuple[bool, str]:
        try:
            with upstream_errors(self.name):
                async with self.session().get(
                    self._url("tags"),
                    headers=self._headers(),
                    timeout=self.client_timeout(_HEALTH_TIMEOUTS),
                ) as resp:
                    raw = await resp.read()
                    if resp.status >= 400:
                        return False, f"HTTP {resp.status}"
                    n = len(model_names(raw))
                    return True, f"{n} model{'s' if n != 1 else ''} installed"
        except OpenClawError as exc:
            return False, exc.message
