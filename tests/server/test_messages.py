"""``POST /v1/messages`` through the daemon's app with the official ``anthropic`` SDK: auth as
the SDK sends it, Anthropic's error shape at the door and after it, PII routing, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import httpx
import pytest

from fakes import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.server.messages import MessagesResponder


@pytest.fixture
async def gw(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> AsyncIterator[Served]:
    monkeypatch.setenv("TEST_KEY", "sk-test-upstream")
    monkeypatch.setenv("SVC_TOKEN", "svc-billing-token-0123456789")
    models = f"""\
providers:
  oai: {{type: openai, base_url: "{openai_upstream.url}", api_key: "${{TEST_KEY}}"}}
  claude: {{type: anthropic, base_url: "{anthropic_upstream.url}", api_key: "${{TEST_KEY}}"}}
  local: {{type: ollama, base_url: "{ollama_upstream.url}"}}
models:
  general: {{provider: oai, model: gpt-4o-mini}}
  claude: {{provider: claude, model: claude-sonnet-4-20250514}}
  sensitive: {{provider: local, model: llama3.1}}
  embed: {{provider: oai, model: text-embedding-3-small, kind: embedding}}
default: general
"""
    policies = SEED_POLICIES + 'services:\n  - name: billing\n    token: "${SVC_TOKEN}"\n'
    served = await serve_gateway(openclaw_home, models=models, policies=policies)
    yield served
    await served.close()


def client(gw: Served, **kw: object) -> anthropic.AsyncAnthropic:
    kw.setdefault("api_key", gw.token)
    return anthropic.AsyncAnthropic(base_url=gw.base, max_retries=0, **kw)  # type: ignore[arg-type]


HELLO = [{"role": "user", "content": "Hello there"}]


async def test_x_api_key_and_bearer_both_reach_the_model(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with client(gw) as c:  # the SDK sends x-api-key
        msg = await c.messages.create(model="general", max_tokens=50, messages=HELLO)
    async with client(gw, api_key=None, auth_token=gw.token) as c:  # ANTHROPIC_AUTH_TOKEN
        again = await c.messages.create(model="general", max_tokens=50, messages=HELLO)
    assert msg.content[0].text == again.content[0].text == "fake-openai heard: Hello there"  # type: ignore[union-attr]
    assert len(openai_upstream.chat_requests()) == 2
    records = gw.audit()
    assert [(r["api"], r["status"], r["draft"]) for r in records] == [("messages", 200, True)] * 2


async def test_a_service_token_may_call_messages_as_x_api_key(gw: Served) -> None:
    async with client(gw, api_key="svc-billing-token-0123456789") as c:
        raw = await c.messages.with_raw_response.create(
            model="general", max_tokens=50, messages=HELLO
        )
    assert raw.headers["x-openclaw-draft"] == "true"
    (rec,) = gw.audit()
    assert rec["service"] == "billing"


async def test_a_bad_key_is_an_anthropic_shaped_401_and_audited(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    async with client(gw, api_key="wrong") as c:
        with pytest.raises(anthropic.AuthenticationError) as info:
            await c.messages.create(model="general", max_tokens=50, messages=HELLO)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid bearer token"},
    }
    assert openai_upstream.requests == []
    (rec,) = gw.audit()
    assert rec["status"] == 401 and rec["refused_at"] == "door"


async def test_bad_input_and_unknown_models_are_anthropic_shaped_and_reach_nothing(
    gw: Served, openai_upstream: OpenAIUpstream, anthropic_upstream: AnthropicUpstream
) -> None:
    async with client(gw) as c:
        with pytest.raises(anthropic.BadRequestError) as bad:
            await c.messages.create(model="general", max_tokens=0, messages=HELLO)
        with pytest.raises(anthropic.NotFoundError) as missing:
            await c.messages.create(model="nope", max_tokens=10, messages=HELLO)
        with pytest.raises(anthropic.BadRequestError) as wrong_kind:
            await c.messages.create(model="embed", max_tokens=10, messages=HELLO)
        with pytest.raises(anthropic.NotFoundError):
            await c.messages.count_tokens(model="nope", messages=HELLO)
    assert bad.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "max_tokens" in bad.value.message
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "kind: embedding" in wrong_kind.value.message
    assert openai_upstream.requests == [] and anthropic_upstream.requests == []
    # One record per model request; count_tokens calls no model and has none.
    records = gw.audit()
    assert [(r["api"], r["status"]) for r in records] == [("messages", s) for s in (400, 404, 400)]
    async with httpx.AsyncClient() as plain:
        r = await plain.post(
            f"{gw.base}/v1/messages",
            content=b"{not json",
            headers={"x-api-key": gw.token, "anthropic-version": "2023-06-01"},
        )
    assert r.status_code == 400 and r.json()["type"] == "error"
    assert len(gw.audit()) == 4


async def test_pii_goes_to_the_local_model_and_never_upstream(
    gw: Served, anthropic_upstream: AnthropicUpstream, ollama_upstream: OllamaUpstream
) -> None:
    async with client(gw) as c:
        msg = await c.messages.create(
            model="claude",
            max_tokens=50,
            messages=[{"role": "user", "content": "Email jane.doe@example.com the invoice"}],
        )
    assert msg.content[0].type == "text"
    assert anthropic_upstream.requests == [] and len(ollama_upstream.chat_requests()) == 1
    (rec,) = gw.audit()
    assert rec["model"] == "sensitive" and rec["api"] == "messages"


async def test_a_stream_to_anthropic_is_one_record_and_keeps_the_beta_header(
    gw: Served, anthropic_upstream: AnthropicUpstream
) -> None:
    async with (
        client(gw) as c,
        c.messages.stream(
            model="claude-sonnet-4-20250514",
            max_tokens=50,
            messages=HELLO,
            extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert anthropic_upstream.last.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    (rec,) = gw.audit()
    assert rec["api"] == "messages" and rec["stream"] is True and rec["model"] == "claude"
    assert rec["completion_tokens"] == final.usage.output_tokens


async def test_once_a_ping_committed_the_stream_a_late_failure_is_an_error_event(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, openai_upstream: OpenAIUpstream
) -> None:
    monkeypatch.setattr(MessagesResponder, "ping_every", 0.05)
    openai_upstream.enqueue("hang:2")
    served = await serve_gateway(
        openclaw_home,
        models=(
            "providers:\n"
            f'  remote: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\n'
            "models:\n"
            "  general:\n"
            "    provider: remote\n"
            "    model: gpt-4o-mini\n"
            "    max_retries: 0\n"
            "    timeouts: {connect: 1, first_token: 0.3, total: 1}\n"
        ),
    )
    try:
        body = {"model": "general", "max_tokens": 20, "stream": True, "messages": HELLO}
        headers = {"x-api-key": served.token, "anthropic-version": "2023-06-01"}
        async with httpx.AsyncClient() as plain:
            r = await plain.post(f"{served.base}/v1/messages", json=body, headers=headers)
        assert r.status_code == 200  # committed by the first ping
        events = [b.split("\n", 1)[0].removeprefix("event: ") for b in r.text.strip().split("\n\n")]
        assert events[:2] == ["message_start", "ping"] and events[-1] == "error"
        assert '"type": "timeout_error"' in r.text or '"type":"timeout_error"' in r.text
        (rec,) = served.audit()
        assert rec["api"] == "messages" and rec["status"] == 504
    finally:
        await served.close()
