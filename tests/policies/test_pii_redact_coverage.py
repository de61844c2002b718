"""``redact_pii`` covers the same strings as routing, and restores them in every answer shape.

The remote fake sees placeholders in every field the walk covers (not only ``content``); the
client gets the real values back in message text and in tool-call arguments, whole and
streamed (where the fake splits the arguments mid-placeholder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from fakes import OpenAIUpstream
from fakes.upstreams import Reply
from harness import Served, serve_gateway

SSN = "536-90-4399"
EMAIL = "jane.o'hara@example.com"


@pytest.fixture
async def gw(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, openai_upstream: OpenAIUpstream
) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    served = await serve_gateway(
        openclaw_home,
        models=f"""\
providers:
  openai: {{type: openai, base_url: "{openai_upstream.url}", api_key: "${{OPENAI_API_KEY}}"}}
models:
  gpt: {{provider: openai, model: gpt-4o}}
default: gpt
""",
        policies="""\
pii: {spacy_model: none}
policies:
  - name: pseudonymise
    rule: redact_pii
    enforce: true
""",
    )
    yield served
    await served.close()


def client(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "file_claim",
            "description": f"Files a claim for the customer with SSN {SSN}.",
            "parameters": {
                "type": "object",
                "properties": {"ssn": {"type": "string", "description": f"e.g. {SSN}"}},
            },
        },
    }
]


async def test_every_field_is_masked_on_the_way_out(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    await client(gw).chat.completions.create(
        model="gpt",
        messages=[
            {"role": "user", "content": f"My SSN is {SSN}.", "name": "customer"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "file_claim", "arguments": json.dumps({"ssn": SSN})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": f"claim filed for {EMAIL}"},
        ],
        tools=TOOLS,
        user=EMAIL,
        stop=[EMAIL],
    )
    [sent] = openai_upstream.chat_requests()
    text = json.dumps(sent.json)
    assert SSN not in text and EMAIL not in text and "jane" not in text
    body = sent.json
    assert body["messages"][0]["content"] == "My SSN is <US_SSN_1>."
    assert json.loads(body["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {
        "ssn": "<US_SSN_1>"
    }
    assert body["tools"][0]["function"]["description"].endswith("SSN <US_SSN_1>.")
    assert body["user"] == "<EMAIL_ADDRESS_1>" and body["stop"] == ["<EMAIL_ADDRESS_1>"]
    assert body["messages"][2]["content"] == "claim filed for <EMAIL_ADDRESS_1>"


async def test_tool_call_arguments_are_restored_json_escaped(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    args = {"ssn": "<US_SSN_1>", "email": "<EMAIL_ADDRESS_1>"}
    openai_upstream.enqueue(Reply(tool_calls=[("file_claim", args)]))
    resp = await client(gw).chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": f"File a claim: SSN {SSN}, mail {EMAIL}."}],
        tools=TOOLS,
    )
    [call] = resp.choices[0].message.tool_calls or []
    # The apostrophe survives; a value with a quote would be escaped, not break the JSON.
    assert json.loads(call.function.arguments) == {"ssn": SSN, "email": EMAIL}


async def test_streamed_tool_call_arguments_are_restored_across_chunks(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    args = {"ssn": "<US_SSN_1>", "note": "for <EMAIL_ADDRESS_1> only"}
    openai_upstream.enqueue(Reply(tool_calls=[("file_claim", args)]))
    stream = await client(gw).chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": f"File a claim: SSN {SSN}, mail {EMAIL}."}],
        tools=TOOLS,
        stream=True,
    )
    pieces: list[str] = []
    async for chunk in stream:
        for c in chunk.choices:
            for call in c.delta.tool_calls or []:
                if call.function and call.function.arguments:
                    pieces.append(call.function.arguments)
    assert len(pieces) >= 2  # the fake sent the arguments in parts
    assert json.loads("".join(pieces)) == {"ssn": SSN, "note": f"for {EMAIL} only"}


async def test_streamed_text_is_restored(gw: Served, openai_upstream: OpenAIUpstream) -> None:
    stream = await client(gw).chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": f"Repeat my SSN {SSN} back to me."}],
        stream=True,
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert SSN in text and "<US_SSN_1>" not in text
    [sent] = openai_upstream.chat_requests()
    assert SSN not in json.dumps(sent.json)


async def test_an_image_is_refused_by_default_and_sent_when_allowed(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, openai_upstream: OpenAIUpstream
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    models = f"""\
providers:
  openai: {{type: openai, base_url: "{openai_upstream.url}", api_key: "${{OPENAI_API_KEY}}"}}
models:
  gpt: {{provider: openai, model: gpt-4o}}
default: gpt
"""
    image = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    for mode in ("refuse", "allow"):
        served = await serve_gateway(
            openclaw_home,
            models=models,
            policies=(
                "pii: {spacy_model: none}\npolicies:\n  - name: pseudonymise\n"
                f"    rule: redact_pii\n    enforce: true\n    params: {{unscannable: {mode}}}\n"
            ),
        )
        try:
            messages: Any = [{"role": "user", "content": image}]
            if mode == "refuse":
                with pytest.raises(openai.BadRequestError) as err:
                    await client(served).chat.completions.create(model="gpt", messages=messages)
                assert err.value.body["param"] == "messages[0].content[1]"  # type: ignore[index]
                assert openai_upstream.chat_requests() == []
            else:
                await client(served).chat.completions.create(model="gpt", messages=messages)
                assert len(openai_upstream.chat_requests()) == 1
                assert served.audit()[-1]["unscannable_allowed"][0]["kind"] == "image"
        finally:
            await served.close()
