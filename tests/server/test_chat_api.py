"""The OpenAI-compatible API, driven by the official OpenAI SDK, against each adapter."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from fakes import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from harness import MOCK_MODELS, Served, serve_gateway


def adapters_yaml(o: OpenAIUpstream, a: AnthropicUpstream, ol: OllamaUpstream) -> str:
    return f"""\
providers:
  oai: {{type: openai, base_url: "{o.url}", api_key: "${{TEST_OAI_KEY}}"}}
  compat: {{type: openai_compatible, base_url: "{o.url}"}}
  claude: {{type: anthropic, base_url: "{a.url}", api_key: "${{TEST_ANTHROPIC_KEY}}"}}
  local: {{type: ollama, base_url: "{ol.url}"}}
models:
  gpt: {{provider: oai, model: gpt-4o-mini, use_for: [classification]}}
  compat: {{provider: compat, model: qwen2.5-7b}}
  general:
    provider: claude
    model: claude-sonnet-4-20250514
    use_for: [summarization, drafting]
  sensitive:
    provider: local
    model: "llama4:8b"
    use_for: [customer_data]
  dry: {{provider: mock, model: mock-1}}
default: general
"""


@pytest.fixture
async def gw(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> Served:
    monkeypatch.setenv("TEST_OAI_KEY", "sk-test-openai-secret")
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test-secret")
    served = await serve_gateway(
        openclaw_home, models=adapters_yaml(openai_upstream, anthropic_upstream, ollama_upstream)
    )
    yield served
    await served.close()


def sdk(gw: Served, **kw: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("alias", "provider", "upstream_model"),
    [
        ("gpt", "oai", "gpt-4o-mini"),
        ("compat", "compat", "qwen2.5-7b"),
        ("general", "claude", "claude-sonnet-4-20250514"),
        ("sensitive", "local", "llama4:8b"),
        ("dry", "mock", "mock-1"),
    ],
)
async def test_non_streaming_through_each_adapter(
    gw: Served, alias: str, provider: str, upstream_model: str
) -> None:
    client = sdk(gw)
    raw = await client.chat.completions.with_raw_response.create(
        model=alias, messages=[{"role": "user", "content": "say hello"}]
    )
    resp = raw.parse()
    assert "say hello" in (resp.choices[0].message.content or "")
    assert (
        resp.usage is not None and resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    )
    assert raw.headers["x-openclaw-model"] == alias
    assert raw.headers["x-openclaw-provider"] == provider
    assert raw.headers["x-openclaw-request-id"].startswith("req_")
    facts = resp.model_extra["openclaw"]  # type: ignore[index]
    assert facts["model"] == alias and facts["provider_model"] == upstream_model
    [record] = gw.audit()
    assert record["model"] == alias and record["provider"] == provider
    assert record["provider_model"] == upstream_model
    assert record["status"] == 200
    assert record["prompt_tokens"] == resp.usage.prompt_tokens
    assert record["completion_tokens"] == resp.usage.completion_tokens
    assert len(record["request_sha256"]) == 64


@pytest.mark.parametrize("alias", ["gpt", "compat", "general", "sensitive", "dry"])
async def test_streaming_through_each_adapter(gw: Served, alias: str) -> None:
    client = sdk(gw)
    stream = await client.chat.completions.create(
        model=alias,
        messages=[{"role": "user", "content": "stream me a reply"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, facts = "", None, None
    async for chunk in stream:
        for c in chunk.choices:
            text += c.delta.content or ""
        if chunk.usage:
            usage = chunk.usage
        if chunk.model_extra and "openclaw" in chunk.model_extra:
            facts = chunk.model_extra["openclaw"]
    assert "stream me a reply" in text
    assert usage is not None and usage.completion_tokens > 0
    assert facts is not None and facts["model"] == alias
    [record] = gw.audit()
    assert record["stream"] is True and record["status"] == 200
    assert record["completion_tokens"] == usage.completion_tokens
    assert record["ttft_ms"] is not None and record["stream_cut"] is False


async def test_stream_without_include_usage_has_no_choiceless_chunk(gw: Served) -> None:
    stream = await sdk(gw).chat.completions.create(
        model="dry", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [c async for c in stream]
    assert all(c.choices for c in chunks)  # chunk.choices[0] never breaks
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["openclaw"]["model"] == "dry"  # type: ignore[index]


async def test_provider_key_reaches_upstream_but_never_the_audit_log(
    gw: Served, openai_upstream: OpenAIUpstream, anthropic_upstream: AnthropicUpstream
) -> None:
    client = sdk(gw)
    await client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])
    await client.chat.completions.create(
        model="general", messages=[{"role": "user", "content": "x"}]
    )
    assert openai_upstream.last is not None
    assert openai_upstream.last.headers["authorization"] == "Bearer sk-test-openai-secret"
    assert anthropic_upstream.last is not None
    assert anthropic_upstream.last.headers["x-api-key"] == "sk-ant-test-secret"
    log = (gw.home / "audit.log").read_text()
    assert "sk-test-openai-secret" not in log and "sk-ant-test-secret" not in log
    assert gw.token not in log


async def test_task_routing_by_header_and_metadata(gw: Served) -> None:
    client = sdk(gw)
    r1 = await client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"X-OpenClaw-Task": "classification"},
    )
    assert r1.headers["x-openclaw-model"] == "gpt"
    r2 = await client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "x"}],
        metadata={"task": "customer_data"},
    )
    assert r2.headers["x-openclaw-model"] == "sensitive"
    r3 = await client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "x"}], metadata={"task": "no_such_task"}
    )
    assert r3.headers["x-openclaw-model"] == "general"  # the default
    tasks = [r["task"] for r in gw.audit()]
    assert tasks == ["classification", "customer_data", "no_such_task"]


async def test_provider_model_name_selects_its_alias(gw: Served) -> None:
    raw = await sdk(gw).chat.completions.with_raw_response.create(
        model="claude-sonnet-4-20250514", messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-openclaw-model"] == "general"


async def test_unknown_model_is_404_model_not_found(gw: Served) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        await sdk(gw).chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.code == "model_not_found"
    assert "gpt-9" in info.value.message
    [record] = gw.audit()
    assert record["status"] == 404 and record["error"]["code"] == "model_not_found"


async def test_service_header_is_recorded(gw: Served) -> None:
    await sdk(gw).chat.completions.create(
        model="dry",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"X-OpenClaw-Service": "billing"},
    )
    assert gw.audit()[0]["service"] == "billing"


async def test_models_endpoint_lists_aliases(gw: Served) -> None:
    models = await sdk(gw).models.list()
    ids = [m.id for m in models.data]
    assert ids == ["gpt", "compat", "general", "sensitive", "dry"]
    general = next(m for m in models.data if m.id == "general")
    assert general.model_extra["openclaw"]["use_for"] == ["summarization", "drafting"]  # type: ignore[index]
    assert general.model_extra["openclaw"]["provider"] == "claude"  # type: ignore[index]


async def test_default_is_first_model_without_default_key(openclaw_home: Path) -> None:
    served = await serve_gateway(openclaw_home, models=MOCK_MODELS)
    try:
        raw = await sdk(served).chat.completions.with_raw_response.create(
            model="", messages=[{"role": "user", "content": "x"}]
        )
        assert raw.headers["x-openclaw-model"] == "general"
    finally:
        await served.close()


async def test_models_retrieve_answers_one_alias_or_a_404(gw: Served) -> None:
    client = sdk(gw)
    model = await client.models.retrieve("general")
    assert model.id == "general" and model.object == "model"
    assert model.model_extra["openclaw"]["kind"] == "chat"  # type: ignore[index]
    by_upstream_name = await client.models.retrieve("claude-sonnet-4-20250514")
    assert by_upstream_name.id == "general"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("no-such-model")


async def test_n_above_one_reaches_openai_and_names_the_provider_elsewhere(
    gw: Served, openai_upstream: OpenAIUpstream, anthropic_upstream: AnthropicUpstream
) -> None:
    client = sdk(gw)
    resp = await client.chat.completions.create(
        model="gpt", n=2, messages=[{"role": "user", "content": "two please"}]
    )
    assert resp.choices and openai_upstream.last.json["n"] == 2
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(
            model="general", n=2, messages=[{"role": "user", "content": "two please"}]
        )
    assert info.value.param == "n" and "provider 'claude'" in info.value.message
    assert anthropic_upstream.requests == []
