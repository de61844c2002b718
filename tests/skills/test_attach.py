"""Instruction-only skills through the gateway: ``X-OpenClaw-Skill`` on a chat request (the
official OpenAI SDK against a running gateway), ``POST /v1/skills/NAME/run`` and
``openclaw skill run``. The model is a fake OpenAI upstream, so each test sees what it got."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from click.testing import CliRunner
from skillkit import POLICIES, MakeSkill

from fakes import OpenAIUpstream
from fakes.upstreams import ThreadedUpstream
from harness import Served, serve_gateway
from openclaw.cli import main
from openclaw.skills.attach import SkillNotAttachable, attach_skill, resolve_skill
from openclaw.skills.discovery import find_skill

TONE = """\
---
name: tone-check
description: Rewrite a message so it reads calm and direct.
metadata: {"openclaw": {"emoji": "🧘"}}
---

Rewrite the user's message so it is calm, direct and kind. Keep every fact.
"""


def models(fake: OpenAIUpstream) -> str:
    return f"""\
providers:
  fake: {{type: openai_compatible, base_url: "{fake.url}"}}
models:
  general: {{provider: fake, model: gpt-fake, use_for: [summarization]}}
  sensitive: {{provider: mock, model: mock-local, use_for: [customer_data]}}
default: general
"""


@pytest.fixture
async def gw(openclaw_home: Path, openai_upstream: OpenAIUpstream, make_skill: MakeSkill) -> Any:
    make_skill("tone-check", text=TONE)
    make_skill("echo")
    served = await serve_gateway(openclaw_home, models=models(openai_upstream), policies=POLICIES)
    yield served
    await served.close()


def sdk(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


def test_attach_puts_the_instructions_first_and_keeps_the_callers_messages(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    make_skill("tone-check", text=TONE)
    skill = resolve_skill(openclaw_home, "tone-check")
    body = {"model": "general", "messages": [{"role": "system", "content": "Be short."}]}
    out = attach_skill(body, skill)
    assert out["messages"][0] == {
        "role": "system",
        "content": "Rewrite the user's message so it is calm, direct and kind. Keep every fact.",
    }
    assert out["messages"][1:] == body["messages"] and out["model"] == "general"
    assert len(body["messages"]) == 1  # the caller's body is not changed


def test_a_skill_with_a_contract_is_not_attachable(
    openclaw_home: Path, make_skill: MakeSkill
) -> None:
    make_skill("echo")
    with pytest.raises(SkillNotAttachable, match="POST /v1/skills/echo/run"):
        resolve_skill(openclaw_home, "echo")


async def test_the_skill_header_attaches_instructions_and_the_audit_names_the_skill(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue(text="Could we talk about the deadline?")
    resp = await sdk(gw).chat.completions.create(
        model="general",
        messages=[{"role": "user", "content": "WHY IS THIS LATE"}],
        extra_headers={"X-OpenClaw-Skill": "tone-check"},
    )
    assert "Could we talk about the deadline?" in (resp.choices[0].message.content or "")
    sent = openai_upstream.last.json["messages"]
    assert sent[0]["role"] == "system" and sent[0]["content"].startswith("Rewrite the user's")
    assert sent[1] == {"role": "user", "content": "WHY IS THIS LATE"}
    record = gw.audit()[-1]
    assert record["skill"] == {"name": "tone-check", "version": None, "via": "header"}
    assert record["status"] == 200


async def test_the_skill_header_works_on_a_stream(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue(text="calm words")
    stream = await sdk(gw).chat.completions.create(
        model="general",
        messages=[{"role": "user", "content": "ANGRY"}],
        stream=True,
        extra_headers={"X-OpenClaw-Skill": "tone-check"},
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert "calm words" in text
    assert openai_upstream.last.json["messages"][0]["role"] == "system"
    assert gw.audit()[-1]["skill"]["name"] == "tone-check"


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("../../etc", 400, "invalid_skill_name"),
        ("no-such-skill", 404, "skill_not_found"),
        ("echo", 400, "skill_not_attachable"),
    ],
)
async def test_the_skill_header_refuses_bad_names_unknown_and_contract_skills(
    gw: Served, openai_upstream: OpenAIUpstream, name: str, status: int, code: str
) -> None:
    with pytest.raises(openai.APIStatusError) as err:
        await sdk(gw).chat.completions.create(
            model="general",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-OpenClaw-Skill": name},
        )
    assert err.value.status_code == status
    body = err.value.body
    assert isinstance(body, dict) and body["code"] == code
    assert openai_upstream.chat_requests() == []
    assert str(gw.home) not in json.dumps(body)


async def test_the_run_api_runs_an_instruction_only_skill(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    openai_upstream.enqueue(text="Please send the report by noon.")
    async with httpx.AsyncClient(base_url=gw.base, headers=gw.auth) as http:
        r = await http.post(
            "/v1/skills/tone-check/run", json={"inputs": {"input": "REPORT. NOON. NOW."}}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "Please send the report by noon." in body["outputs"]["answer"]
    assert body["draft"] is True
    assert openai_upstream.last.json["messages"][1]["content"] == "REPORT. NOON. NOW."
    record = gw.audit()[-1]
    assert record["request_id"] == body["request_id"]
    assert record["skill"]["name"] == "tone-check"
    assert record["skill"]["inputs"]["input"].startswith("sha256:")


def test_the_cli_runs_an_instruction_only_skill(
    openclaw_home: Path,
    upstream_thread: Callable[[OpenAIUpstream], ThreadedUpstream[OpenAIUpstream]],
    make_skill: MakeSkill,
) -> None:
    # The CLI runs its own event loop, so the fake serves from a thread of its own.
    openai_upstream = upstream_thread(OpenAIUpstream()).fake
    make_skill("tone-check", text=TONE)
    (openclaw_home / "models.yaml").write_text(models(openai_upstream))
    (openclaw_home / "policies.yaml").write_text(POLICIES)
    openai_upstream.enqueue(text="A calmer note.")
    result = CliRunner().invoke(
        main, ["skills", "run", "tone-check", "-i", "input=FIX IT", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "A calmer note." in out["outputs"]["answer"] and out["draft"] is True
    assert openai_upstream.last.json["messages"][0]["content"].startswith("Rewrite the user's")
    record = json.loads((openclaw_home / "audit.log").read_text().splitlines()[-1])
    assert record["skill"]["name"] == "tone-check"
    assert find_skill(openclaw_home, "tone-check").instruction_only


async def test_pii_in_a_request_with_a_skill_still_goes_to_the_local_model(
    gw: Served, openai_upstream: OpenAIUpstream
) -> None:
    resp = await sdk(gw).chat.completions.create(
        model="general",
        messages=[{"role": "user", "content": "mail jane.doe@example.com, it is LATE"}],
        extra_headers={"X-OpenClaw-Skill": "tone-check"},
    )
    assert (resp.choices[0].message.content or "").startswith("[mock] mock-local")
    assert openai_upstream.chat_requests() == []  # nothing left the machine
    record = gw.audit()[-1]
    assert record["skill"]["name"] == "tone-check" and record["model"] == "sensitive"
