"""Shared bits for the limits tests: model files, clients and a call that reports status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import openai

from harness import Served

MODELS = """\
models:
  general: {provider: mock, model: mock-general, cost_per_million_input_tokens: 1000000, cost_per_million_output_tokens: 1000000}
  cheap: {provider: mock, model: mock-cheap}
  sensitive: {provider: mock, model: mock-local, use_for: [customer_data]}
default: general
"""

BILLING_TOKEN = "ocs_billing_test_token_0123456789abcdef0123456789abcdef"
SUPPORT_TOKEN = "ocs_support_test_token_0123456789abcdef0123456789abcdef"


def sdk(served: Served, token: str | None = None, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=served.url, api_key=token or served.token, max_retries=0, **kw
    )


@dataclass
class Result:
    status: int
    headers: httpx.Headers
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        err = self.body.get("error") or {}
        return err.get("code") if isinstance(err, dict) else None


async def call(
    served: Served,
    token: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    content: str = "hello",
    **body: Any,
) -> Result:
    """One chat request through the OpenAI SDK; errors come back as a Result, not raised."""
    client = sdk(served, token)
    payload: dict[str, Any] = {
        "model": "general",
        "messages": [{"role": "user", "content": content}],
        **body,
    }
    try:
        raw = await client.chat.completions.with_raw_response.create(
            **payload, extra_headers=headers or {}
        )
        return Result(raw.http_response.status_code, raw.headers, raw.http_response.json())
    except openai.APIStatusError as exc:
        return Result(exc.status_code, exc.response.headers, exc.response.json())
    finally:
        await client.close()


def last_record(served: Served) -> dict[str, Any]:
    recs = [r for r in served.audit() if "request_id" in r]
    return recs[-1]


async def status(served: Served) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=served.base, headers=served.auth) as c:
        r = await c.get("/v1/openclaw/status")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data
