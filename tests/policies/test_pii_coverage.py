"""Every string bound for a remote model is scanned: proved through a real gateway.

A remote alias on an OpenAI fake, one on an Anthropic fake, a sensitive alias on an Ollama
fake; the fakes record every body they receive. A known SSN is put into each string of a
chat request that uses every string-bearing field of the schema (and a few it has never
heard of), one position at a time, and sent to both remote aliases. The positions are found
by a plain recursive enumeration here, independent of the walk under test. No remote fake
may ever receive the SSN. Then the issue's table of holes, case by case, and the
``unscannable:`` parameter.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from harness import Served, serve_gateway

SSN = "536-90-4399"
SSN_DIGITS = "536904399"
PNG = (
    "data:image/png;base64,"
    + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABh6FO1AAAAABJRU5ErkJggg=="
)


def models_yaml(
    openai: OpenAIUpstream, anthropic: AnthropicUpstream, ollama: OllamaUpstream
) -> str:
    return f"""\
providers:
  openai: {{type: openai, base_url: "{openai.url}", api_key: "${{OPENAI_API_KEY}}"}}
  anthropic: {{type: anthropic, base_url: "{anthropic.url}", api_key: "${{ANTHROPIC_API_KEY}}"}}
  ollama: {{type: ollama, base_url: "{ollama.url}"}}
models:
  gpt: {{provider: openai, model: gpt-4o}}
  claude: {{provider: anthropic, model: claude-sonnet-4-20250514}}
  sensitive: {{provider: ollama, model: llama3.2-vision}}
default: gpt
"""


def policies_yaml(**params: Any) -> str:
    return (
        "pii: {spacy_model: none}\n"
        "policies:\n"
        "  - name: sensitive_data_local\n"
        "    rule: if_context_contains_pii_use_sensitive_model\n"
        "    enforce: true\n"
        f"    params: {json.dumps(params)}\n"
    )


@pytest.fixture
async def make_gw(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    # The template asks for a JSON answer (response_format), which the gateway checks.
    for fake in (openai_upstream, anthropic_upstream, ollama_upstream):
        fake.default_text = '{"text": "ok"}'
    served: list[Served] = []

    async def make(**params: Any) -> Served:
        gw = await serve_gateway(
            openclaw_home,
            models=models_yaml(openai_upstream, anthropic_upstream, ollama_upstream),
            policies=policies_yaml(**params),
        )
        served.append(gw)
        return gw

    yield make
    for gw in served:
        await gw.close()


async def post(gw: Served, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{gw.url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {gw.token}"},
        ) as r,
    ):
        return r.status, await r.json()


def remote_saw(*fakes: Any) -> list[str]:
    """Every body a remote fake received, as text with separators removed."""
    out = []
    for fake in fakes:
        for rec in fake.requests:
            out.append(json.dumps(rec.json).replace("-", "").replace(" ", ""))
    return out


# A chat request using every string-bearing field of the Chat Completions schema, plus
# fields the gateway does not know (top level and nested), which it passes through.
FULL_REQUEST: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a support assistant.", "name": "policy_bot"},
        {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."}]},
        {
            "role": "user",
            "name": "caller",
            "content": [{"type": "text", "text": "What is the status of my order?"}],
            "x_nested_unknown": "a note the gateway does not know",
        },
        {
            "role": "assistant",
            "content": None,
            "refusal": "I cannot say that.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order": "A-1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "order A-1: shipped"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "No comment."}]},
        {"role": "user", "content": "Thanks, and when will it arrive?"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look up an order by its number.",
                "parameters": {
                    "type": "object",
                    "title": "Lookup",
                    "properties": {
                        "order": {"type": "string", "description": "The order number."},
                        "channel": {"type": "string", "enum": ["web", "phone"]},
                    },
                    "required": ["order"],
                },
            },
        }
    ],
    "functions": [{"name": "legacy_fn", "description": "A legacy function."}],
    "function_call": {"name": "legacy_fn"},
    "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "description": "The answer shape.",
            "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        },
    },
    "stop": ["END", "STOP"],
    "user": "customer-17",
    "metadata": {"ticket": "T-100"},
    "prediction": {"type": "content", "content": "Your order will arrive soon."},
    "x_unknown_field": "something a newer API added",
    "x_unknown_object": {"note": ["deep", {"deeper": "text"}]},
}


def string_positions(
    node: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """(path, is_key) of every string value and every dict key in ``node``."""
    if isinstance(node, str):
        yield path, False
    elif isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k), True
            yield from string_positions(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from string_positions(v, (*path, i))


def plant(body: dict[str, Any], path: tuple[Any, ...], is_key: bool) -> dict[str, Any]:
    out = copy.deepcopy(body)
    parent: Any = out
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if is_key:
        parent[f"{last} {SSN}"] = parent.pop(last)
    else:
        parent[last] = f"{parent[last]} ref {SSN}"
    return out


POSITIONS = list(string_positions(FULL_REQUEST))


def test_the_template_covers_the_schema_fields() -> None:
    paths = {".".join(str(p) for p in path) for path, _k in POSITIONS}
    for needed in (
        "user",
        "stop.0",
        "metadata.ticket",
        "prediction.content",
        "tools.0.function.description",
        "tools.0.function.parameters.properties.order.description",
        "functions.0.description",
        "function_call.name",
        "messages.0.name",
        "messages.3.refusal",
        "messages.3.tool_calls.0.function.arguments",
        "messages.4.content",
        "messages.5.content.0.refusal",
        "response_format.json_schema.schema.properties.text.type",
        "x_unknown_field",
        "x_unknown_object.note.1.deeper",
    ):
        assert needed in paths
    assert len(POSITIONS) > 80


async def test_an_ssn_in_any_string_of_the_request_never_reaches_a_remote_model(
    make_gw: Any,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    gw = await make_gw()
    # The clean template itself goes remote: the test would prove nothing otherwise.
    for model in ("gpt", "claude"):
        status, answer = await post(gw, {**FULL_REQUEST, "model": model})
        assert status == 200, (model, answer)
    assert len(openai_upstream.chat_requests()) == 1
    assert len(anthropic_upstream.chat_requests()) == 1
    statuses: dict[int, int] = {}
    for path, is_key in POSITIONS:
        body = plant(FULL_REQUEST, path, is_key)
        for model in ("gpt", "claude"):
            status, _ = await post(gw, {**body, "model": model})
            statuses[status] = statuses.get(status, 0) + 1
    leaked = [b for b in remote_saw(openai_upstream, anthropic_upstream) if SSN_DIGITS in b]
    assert leaked == []
    # Most plants were rerouted to the local model; the rest were refused before any call
    # (an SSN as a role or a part type makes the request invalid), never sent remote.
    assert set(statuses) <= {200, 400}
    assert statuses[200] > len(POSITIONS)
    assert any(SSN_DIGITS in b for b in remote_saw(ollama_upstream))


# The issue's table of holes, and the fields it lists as never scanned.
EMAIL = "jane.doe@example.com"
PHONE = "+1 212-555-0123"
ISSUE_CASES: dict[str, dict[str, Any]] = {
    "user (email)": {"user": EMAIL},
    "metadata (email)": {"metadata": {"contact": EMAIL}},
    "tools[].function.description (SSN)": {
        "tools": [{"type": "function", "function": {"name": "f", "description": f"for {SSN}"}}]
    },
    "tool parameter description (phone)": {
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {
                        "type": "object",
                        "properties": {"x": {"type": "string", "description": f"call {PHONE}"}},
                    },
                },
            }
        ]
    },
    "stop (email)": {"stop": EMAIL},
    "stop list (email)": {"stop": ["END", EMAIL]},
    "message name": {"extra_messages": [{"role": "user", "name": f"ssn {SSN}", "content": "hi"}]},
    "prediction": {"prediction": {"type": "content", "content": f"ssn {SSN}"}},
    "legacy functions": {"functions": [{"name": "f", "description": f"ssn {SSN}"}]},
    "refusal part": {
        "extra_messages": [
            {"role": "assistant", "content": [{"type": "refusal", "refusal": f"ssn {SSN}"}]}
        ]
    },
    "tool-call arguments": {
        "extra_messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": json.dumps({"ssn": SSN})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ]
    },
    "tool result": {
        "extra_messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": f"customer ssn {SSN}"},
        ]
    },
}


def issue_body(case: dict[str, Any], model: str) -> dict[str, Any]:
    case = dict(case)
    extra = case.pop("extra_messages", [])
    return {
        "model": model,
        "messages": [*extra, {"role": "user", "content": "Summarise the release notes."}],
        **case,
    }


@pytest.mark.parametrize("case", sorted(ISSUE_CASES))
async def test_each_hole_from_the_issue_is_closed(
    case: str,
    make_gw: Any,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    gw = await make_gw()
    for model in ("gpt", "claude"):
        status, body = await post(gw, issue_body(ISSUE_CASES[case], model))
        assert status == 200, body
        assert body["openclaw"]["model"] == "sensitive"
    assert remote_saw(openai_upstream, anthropic_upstream) == []
    assert len(ollama_upstream.chat_requests()) == 2


def image_request(model: str = "gpt") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": PNG}},
                ],
            }
        ],
    }


async def test_unscannable_local_without_a_declared_reader_is_a_400_naming_the_part(
    make_gw: Any, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    gw = await make_gw()
    status, body = await post(gw, image_request())
    assert status == 400
    assert body["error"]["code"] == "unscannable_content"
    assert body["error"]["param"] == "messages[0].content[1]"
    assert "local_accepts" in body["error"]["message"]
    assert openai_upstream.requests == [] and ollama_upstream.chat_requests() == []


async def test_unscannable_local_goes_to_a_sensitive_model_that_reads_images(
    make_gw: Any, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    gw = await make_gw(local_accepts=["image"])
    status, body = await post(gw, image_request())
    assert status == 200, body
    assert body["openclaw"]["model"] == "sensitive"
    assert openai_upstream.requests == []
    [sent] = ollama_upstream.chat_requests()
    assert sent.json["messages"][0]["images"] == [PNG.split(",", 1)[1]]
    [rec] = gw.audit()
    [d] = rec["policies"]
    assert d["outcome"] == "applied" and "image at messages[0].content[1]" in d["detail"]


async def test_unscannable_refuse_is_a_400_naming_the_part(
    make_gw: Any, openai_upstream: OpenAIUpstream, ollama_upstream: OllamaUpstream
) -> None:
    gw = await make_gw(unscannable="refuse")
    audio = {
        "model": "gpt",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
                ],
            }
        ],
    }
    status, body = await post(gw, audio)
    assert status == 400
    assert body["error"]["param"] == "messages[0].content[0]"
    assert "audio" in body["error"]["message"]
    assert openai_upstream.requests == [] and ollama_upstream.requests == []


async def test_unscannable_allow_sends_it_and_says_so_in_the_audit_record(
    make_gw: Any, openai_upstream: OpenAIUpstream
) -> None:
    gw = await make_gw(unscannable="allow")
    status, body = await post(gw, image_request())
    assert status == 200 and body["openclaw"]["model"] == "gpt"
    assert len(openai_upstream.chat_requests()) == 1
    [rec] = gw.audit()
    assert rec["unscannable_allowed"] == [
        {"policy": "sensitive_data_local", "part": "messages[0].content[1]", "kind": "image"}
    ]


def test_an_adapter_that_cannot_carry_a_part_is_refused_at_load(
    openclaw_home: Path,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openclaw.assembly import build_gateway
    from openclaw.config import load_config
    from openclaw.errors import ConfigError

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    (openclaw_home / "models.yaml").write_text(
        models_yaml(openai_upstream, anthropic_upstream, ollama_upstream)
    )
    (openclaw_home / "policies.yaml").write_text(policies_yaml(local_accepts=["audio"]))
    with pytest.raises(ConfigError, match="cannot carry audio parts"):
        build_gateway(load_config(openclaw_home))


async def test_sensitive_model_down_is_still_a_503_with_no_remote_call(
    make_gw: Any,
    openai_upstream: OpenAIUpstream,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    gw = await make_gw()
    await ollama_upstream.stop()
    status, body = await post(gw, issue_body(ISSUE_CASES["user (email)"], "gpt"))
    assert status == 503, body
    assert openai_upstream.requests == [] and anthropic_upstream.requests == []


async def test_a_pii_engine_error_fails_closed(
    make_gw: Any, openai_upstream: OpenAIUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openclaw.policies.pii import PiiEngine

    gw = await make_gw()

    async def broken(self: PiiEngine, texts: Any) -> Any:
        raise RuntimeError("engine broke")

    monkeypatch.setattr(PiiEngine, "analyze_texts", broken)
    status, body = await post(gw, issue_body({"user": "someone"}, "gpt"))
    assert status >= 500, body
    assert openai_upstream.requests == []


_WORD = st.text(alphabet="abcdefgh XY", min_size=1, max_size=8)
_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | _WORD,
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(_WORD, children, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


async def test_unknown_fields_of_any_shape_never_carry_an_ssn_out(
    make_gw: Any, openai_upstream: OpenAIUpstream, anthropic_upstream: AnthropicUpstream
) -> None:
    """Hypothesis builds unknown fields of any nesting, with the SSN in a random string."""
    gw = await make_gw()
    loop = asyncio.get_running_loop()
    sent = {"planted": 0}

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        extra=st.dictionaries(_WORD.map(lambda k: f"x_{k}"), _VALUE, min_size=1, max_size=3),
        pick=st.integers(0, 40),
        model=st.sampled_from(["gpt", "claude"]),
    )
    def prop(extra: dict[str, Any], pick: int, model: str) -> None:
        positions = list(string_positions(extra))
        if not positions:
            return
        path, is_key = positions[pick % len(positions)]
        body = plant(
            {"model": model, "messages": [{"role": "user", "content": "Hello"}], **extra},
            path,
            is_key,
        )
        status, _ = asyncio.run_coroutine_threadsafe(post(gw, body), loop).result(30)
        assert status == 200
        sent["planted"] += 1

    # Hypothesis drives the requests from a worker thread; the gateway runs on this loop.
    await asyncio.to_thread(prop)
    assert sent["planted"] > 10
    assert [b for b in remote_saw(openai_upstream, anthropic_upstream) if SSN_DIGITS in b] == []
