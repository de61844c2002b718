"""OpenAI Chat Completions, and any server that speaks it (vLLM, LM Studio, llama.cpp, Groq).

The request body passes through nearly untouched (``n > 1`` included); only ``model`` is
replaced by the deployment's model name, ``stream_options.include_usage`` is forced on for
streams, so the gateway can always report usage, and the gateway's Anthropic-only extension
fields (``cache_control``, thinking blocks: :data:`~openclaw.providers.base.EXTENSION_FIELDS`)
are removed, since OpenAI refuses fields it does not know. Embeddings (``POST /embeddings``)
pass through the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import orjson

from openclaw.errors import UpstreamError
from openclaw.providers.base import (
    Json,
    Provider,
    ProviderCall,
    error_from_status,
    outbound_headers,
    sse_events,
    strip_extensions,
    upstream_errors,
)

# Gateway-only fields that must not be forwarded to an upstream.
_GATEWAY_FIELDS = ("metadata",)


class OpenAIProvider(Provider):
    type: ClassVar[str] = "openai"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    key_env_var: ClassVar[str | None] = "OPENAI_API_KEY"
    key_required: ClassVar[bool] = True
    can_embed: ClassVar[bool] = True
    suggested_model: ClassVar[str | None] = "gpt-4o-mini"
    vision: ClassVar[bool] = True
    multiple_choices: ClassVar[bool] = True

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.config.headers, **outbound_headers()}
        key = self.require_key() if self.key_required else self.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _payload(self, call: ProviderCall, stream: bool) -> bytes:
        body = {k: v for k, v in strip_extensions(call.body).items() if k not in _GATEWAY_FIELDS}
        body["model"] = call.model
        body["stream"] = stream
        if stream:
            opts = dict(body.get("stream_options") or {})
            opts["include_usage"] = True
            body["stream_options"] = opts
        else:
            body.pop("stream_options", None)
        return orjson.dumps(body)

    async def _post_json(self, path: str, payload: bytes, call: ProviderCall, key: str) -> Json:
        """POST ``payload`` and return the JSON answer, which must hold a list at ``key``."""
        with upstream_errors(self.name):
            async with self.session().post(
                f"{self.base_url}/{path}",
                data=payload,
                headers=self._headers(),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, raw, resp.headers)
                data = orjson.loads(raw)
                if not isinstance(data, dict) or not isinstance(data.get(key), list):
                    raise UpstreamError(f"provider '{self.name}' sent an answer without {key}")
                return data

    async def complete(self, call: ProviderCall) -> Json:
        return await self._post_json(
            "chat/completions", self._payload(call, False), call, "choices"
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[Json]:
        with upstream_errors(self.name):
            async with self.session().post(
                f"{self.base_url}/chat/completions",
                data=self._payload(call, True),
                headers=self._headers(),
                timeout=self.client_timeout(call.timeouts),
            ) as resp:
                if resp.status >= 400:
                    raise error_from_status(self.name, resp.status, await resp.read(), resp.headers)
                done = False
                async for _event, data in sse_events(resp):
                    if data == b"[DONE]":
                        done = True
                        break
                    obj = orjson.loads(data)
                    if isinstance(obj, dict) and "error" in obj:
                        raise UpstreamError(
                            f"provider '{self.name}' sent an error mid-stream: "
                            f"{str(obj['error'])[:200]}"
                        )
                    yield obj
                if not done:
                    raise UpstreamError(f"provider '{self.name}' ended the stream without [DONE]")

    async def embed(self, call: ProviderCall) -> Json:
        body = {k: v for k, v in call.body.items() if k not in _GATEWAY_FIELDS}
        body["model"] = call.model
        return await self._post_json("embeddings", orjson.dumps(body), call, "data")

    async def health(self) -> tuple[bool, str]:
        try:
            with upstream_errors(self.name):
                async with self.session().get(
                    f"{self.base_url}/models",
                    headers=self._headers(),
                    timeout=self.client_timeout(_HEALTH_TIMEOUTS),
                ) as resp:
                    return resp.status < 500, f"HTTP {resp.status}"
        except Exception as exc:
            return False, getattr(exc, "message", type(exc).__name__)


class OpenAICompatibleProvider(OpenAIProvider):
    type: ClassVar[str] = "openai_compatible"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:8000/v1"  # vLLM's default
    needs_base_url: ClassVar[bool] = True
    suggested_model: ClassVar[str | None] = None
    key_env_var: ClassVar[str | None] = None
    key_required: ClassVar[bool] = False


from openclaw.config.schema import Timeouts  # noqa: E402

_HEALTH_TIMEOUTS = Timeouts(connect=1.0, first_token=2.0, total=3.0)
