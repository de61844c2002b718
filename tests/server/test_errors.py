"""Every failure is an OpenAI-shaped error with the right status, and is audited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from fakes import OpenAIUpstream
from harness import Served, serve_gateway

SHAPE_KEYS = {"message", "type", "param", "code"}


def fake_models(url: str, *, total: float = 5.0, first_token: float = 5.0, retries: int = 0) -> str:
    return f"""\
providers:
  up: {{type: openai_compatible, base_url: "{url}"}}
  dead: {{type: openai_compatible, base_url: "http://127.0.0.1:9/v1"}}
models:
  general:
    provider: up
    model: fake-model
    max_retries: {retries}
    timeouts: {{connect: 1, first_token: {first_token}, total: {total}}}
  deadmodel:
    provider: dead
    model: nothing
    max_retries: 0
    timeouts: {{connect: 0.5, first_token: 1, total: 2}}
"""


@pytest.fixture
async def gw(openclaw_home: Path, openai_upstream: OpenAIUpstream) -> Any:
    served = await serve_gateway(
        openclaw_home, models=fake_models(openai_upstream.url, first_token=0.5, total=2)
    )
    yield served
    await served.close()


async def post(
    gw: Served, body: bytes | str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    h = {"Content-Type": "application/json", **gw.auth, **(headers or {})}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{gw.url}/chat/completions", data=body, headers=h) as r,
    ):
        return r.status, await r.json(content_type=None)


def assert_shape(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict) and set(body) == {"error"}
    assert set(body["error"]) == SHAPE_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def test_malformed_json_is_400(gw: Served) -> None:
    status, body = await post(gw, b"{not json")
    assert status == 400
    assert assert_shape(body)["code"] == "invalid_json"


async def test_empty_body_is_400(gw: Served) -> None:
    status, body = await post(gw, b"")
    assert status == 400
    assert_shape(body)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ('{"messages": "hello"}', "messages"),
        ('{"messages": []}', "messages"),
        ('{"messages": [{"role": "wizard", "content": "x"}]}', "messages.0.role"),
        ('{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', "temperature"),
        ('{"messages": [{"role": "user", "content": "x"}], "stream": "yes please"}', "stream"),
        ("[1, 2, 3]", None),
    ],
)
async def test_schema_errors_are_400_naming_the_field(
    gw: Served, payload: str, field: str | None
) -> None:
    status, body = await post(gw, payload)
    assert status == 400
    err = assert_shape(body)
    if field:
        assert err["param"] == field
        assert field in err["message"]


async def test_body_over_limit_is_413(openclaw_home: Path, openai_upstream: OpenAIUpstream) -> None:
    policies = "security:\n  max_body_bytes: 2048\n"
    served = await serve_gateway(
        openclaw_home, models=fake_models(openai_upstream.url), policies=policies
    )
    try:
        big = '{"messages": [{"role": "user", "content": "' + "x" * 5000 + '"}]}'
        status, body = await post(served, big)
        assert status == 413
        assert assert_shape(body)["code"] == "request_too_large"
        # the daemon keeps serving
        status, _ = await post(served, '{"messages": [{"role": "user", "content": "ok"}]}')
        assert status == 200
    finally:
        await served.close()


async def test_upstream_500_is_502_and_audited(gw: Served, openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.enqueue("500")
    status, body = await post(gw, '{"messages": [{"role": "user", "content": "x"}]}')
    assert status == 502
    assert assert_shape(body)["type"] == "upstream_error"
    [rec] = gw.audit()
    assert rec["status"] == 502
    assert rec["attempts"][0]["outcome"] == "upstream_error"


async def test_upstream_hang_is_504(gw: Served, openai_upstream: OpenAIUpstream) -> None:
    openai_upstream.enqueue("hang:5")
    status, body = await post(gw, '{"messages": [{"role": "user", "content": "x"}]}')
    assert status == 504
    assert assert_shape(body)["type"] == "timeout_error"


async def test_dead_upstream_is_502_unreachable(gw: Served) -> None:
    status, body = await post(
        gw, '{"model": "deadmodel", "messages": [{"role": "user", "content": "x"}]}'
    )
    assert status == 502
    err = assert_shape(body)
    assert err["code"] == "upstream_unreachable"
    assert gw.audit()[0]["status"] == 502


async def test_missing_provider_key_names_the_variable_not_a_value(openclaw_home: Path) -> None:
    served = await serve_gateway(
        openclaw_home, models="models:\n  g: {provider: openai, model: gpt-4o}\n"
    )
    try:
        status, body = await post(served, '{"messages": [{"role": "user", "content": "x"}]}')
        assert status == 502
        err = assert_shape(body)
        assert "OPENAI_API_KEY" in err["message"] and err["code"] == "provider_not_configured"
    finally:
        await served.close()


async def test_errors_from_the_sdk_keep_the_openai_shape(gw: Served) -> None:
    client = openai.AsyncOpenAI(base_url=gw.url, api_key="wrong-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.code == "invalid_api_key"


async def test_client_disconnect_cancels_the_upstream_call(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("slow:0.05")
    h = {"Content-Type": "application/json", **gw.auth}
    body = b'{"stream": true, "messages": [{"role": "user", "content": "go on forever"}]}'
    async with aiohttp.ClientSession() as s:
        resp = await s.post(f"{gw.url}/chat/completions", data=body, headers=h)
        assert resp.status == 200
        await resp.content.readline()  # the first chunk arrived
        resp.close()  # the client goes away mid-stream
    assert await openai_upstream.wait_disconnect(3.0)
    for _ in range(50):
        if gw.audit():
            break
        await asyncio.sleep(0.02)
    [rec] = gw.audit()
    assert rec["status"] == 499 and rec["stream_cut"] is True


async def test_non_stream_disconnect_cancels_upstream(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue("hang:3")
    h = {"Content-Type": "application/json", **gw.auth}
    async with aiohttp.ClientSession() as s:
        task = asyncio.create_task(
            s.post(
                f"{gw.url}/chat/completions",
                data=b'{"messages": [{"role": "user", "content": "x"}]}',
                headers=h,
            )
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await openai_upstream.wait_disconnect(3.0)
    for _ in range(50):
        if gw.audit():
            break
        await asyncio.sleep(0.02)
    assert gw.audit()[0]["status"] == 499
