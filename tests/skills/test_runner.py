"""The model step: the full gateway pipeline (PII routing, drafts, audit), routing by model or
task, JSON mode, and how the answer becomes typed outputs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from skillkit import ECHO_META, MakeSkill

from openclaw.assembly import build_gateway
from openclaw.config import load_config
from openclaw.errors import OpenClawError
from openclaw.pipeline.gateway import Gateway
from openclaw.providers.base import Json, ProviderCall
from openclaw.providers.mock import MockProvider
from openclaw.skills.discovery import find_skill
from openclaw.skills.runner import SkillRunner, input_digests, parse_answer_json


class ScriptedProvider(MockProvider):
    """The mock adapter, answering with queued texts (the last one repeats) and remembering
    each request body."""

    def __init__(self, answers: list[str]) -> None:
        from openclaw.config.schema import ProviderConfig

        super().__init__("mock", ProviderConfig(type="mock"))
        self.answers = answers
        self.bodies: list[Json] = []

    async def complete(self, call: ProviderCall) -> Json:
        self.bodies.append(call.body)
        resp = await super().complete(call)
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        resp["choices"][0]["message"]["content"] = text
        return resp


@pytest.fixture
async def gateway(home: Path) -> AsyncIterator[Gateway]:
    gw = build_gateway(load_config(home))
    yield gw
    await gw.aclose()
    gw.audit.close()


def audit_records(home: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]


async def test_pii_in_a_skill_is_routed_to_the_sensitive_model_and_audited(
    home: Path, make_skill: MakeSkill, gateway: Gateway
) -> None:
    make_skill("echo")
    skill = find_skill(home, "echo")
    result = await SkillRunner(gateway).run(skill, {"text": "write to jane.doe@example.com"})
    assert result.model == "sensitive"
    assert "mock-local" in result.outputs["reply"]
    assert result.outputs["shout"] == "WRITE TO JANE.DOE@EXAMPLE.COM"  # trailing newline dropped
    (rec,) = audit_records(home)
    assert rec["request_id"] == result.request_id
    assert rec["model"] == "sensitive" and rec["service"] == "skills"
    assert rec["skill"]["name"] == "echo" and rec["skill"]["version"] == "1.0.0"
    pii = next(p for p in rec["policies"] if p["policy"] == "sensitive_data_local")
    assert pii["outcome"] == "applied" and "EMAIL_ADDRESS" in pii["entities"]
    # The address reaches the audit log only through the (redacted) prompt.
    assert "jane.doe@example.com" not in (home / "audit.log").read_text().lower()


async def test_pii_only_in_an_input_the_prompt_does_not_show_still_routes_locally(
    home: Path, make_skill: MakeSkill, gateway: Gateway
) -> None:
    meta = {
        **ECHO_META,
        "inputs": [*ECHO_META["inputs"], {"name": "contact", "type": "string", "required": False}],
    }
    make_skill("echo", meta, scripts={"upper.sh": "echo fine\n"})
    skill = find_skill(home, "echo")
    result = await SkillRunner(gateway).run(
        skill, {"text": "hello", "contact": "call +1 415 555 0132"}
    )
    assert result.model == "sensitive"


async def test_a_clean_skill_run_uses_the_general_model_and_is_a_draft(
    home: Path, make_skill: MakeSkill, gateway: Gateway
) -> None:
    make_skill("echo", version="2.3.1")
    skill = find_skill(home, "echo")
    runner = SkillRunner(gateway, service="release-bot", channel="developer_terminal")
    result = await runner.run(skill, {"text": "ship it"})
    assert result.model == "general" and result.provider == "mock"
    assert result.draft is True
    assert result.to_api() == {
        "outputs": {"reply": result.outputs["reply"], "shout": "SHIP IT"},
        "draft": True,
        "request_id": result.request_id,
    }
    (rec,) = audit_records(home)
    assert rec["draft"] is True
    assert rec["service"] == "release-bot" and rec["channel"] == "developer_terminal"
    assert rec["skill"] == {
        "name": "echo",
        "version": "2.3.1",
        "inputs": input_digests({"text": "ship it", "n": 1}),
    }
    assert rec["skill"]["inputs"]["n"].startswith("sha256:")


async def test_model_and_task_route_the_model_step(
    home: Path, make_skill: MakeSkill, gateway: Gateway
) -> None:
    make_skill("by-alias", {**ECHO_META, "model": "sensitive"}, scripts={"upper.sh": "echo x\n"})
    make_skill("by-task", {**ECHO_META, "task": "customer_data"}, scripts={"upper.sh": "echo x\n"})
    runner = SkillRunner(gateway)
    assert (await runner.run(find_skill(home, "by-alias"), {"text": "a"})).model == "sensitive"
    assert (await runner.run(find_skill(home, "by-task"), {"text": "a"})).model == "sensitive"
    records = audit_records(home)
    assert [r["task"] for r in records] == [None, "customer_data"]


JSON_META: dict[str, Any] = {
    "inputs": [{"topic": "string"}],
    "outputs": [
        {"name": "title", "type": "string"},
        {"name": "points", "type": "array"},
        {"name": "score", "type": "integer"},
    ],
    "prompt": "Three points about {{ topic }}.",
}


def scripted_gateway(home: Path, answers: list[str]) -> tuple[Gateway, ScriptedProvider]:
    provider = ScriptedProvider(answers)
    return build_gateway(load_config(home), providers={"mock": provider}), provider


async def test_structured_outputs_use_json_mode(home: Path, make_skill: MakeSkill) -> None:
    make_skill("points", JSON_META, scripts={})
    answer = '{"title": "Gateways", "points": ["one", "two"], "score": 7}'
    gw, provider = scripted_gateway(home, [answer])
    result = await SkillRunner(gw).run(find_skill(home, "points"), {"topic": "gateways"})
    assert result.outputs == {"title": "Gateways", "points": ["one", "two"], "score": 7}
    (body,) = provider.bodies
    assert body["response_format"] == {"type": "json_object"}
    prompt = body["messages"][-1]["content"]
    assert prompt.startswith("Three points about gateways.")
    assert '- "points": array' in prompt and '- "score": integer' in prompt
    await gw.aclose()


def test_json_answers_are_read_through_fences_labels_and_chatter() -> None:
    obj = {"a": 1}
    assert parse_answer_json('```json\n{"a": 1}\n```') == obj
    assert parse_answer_json('[DRAFT] {"a": 1}') == obj
    assert parse_answer_json('Sure! Here it is: {"a": 1} Hope that helps.') == obj
    assert parse_answer_json("no JSON here") is None


async def test_a_json_answer_with_the_draft_label_still_parses(
    home: Path, make_skill: MakeSkill
) -> None:
    (home / "policies.yaml").write_text(
        "policies:\n  - {name: drafts, rule: all_outputs_are_drafts, params: {label: prefix}}\n"
    )
    make_skill("points", JSON_META, scripts={})
    gw, _ = scripted_gateway(home, ['{"title": "t", "points": [], "score": 1}'])
    result = await SkillRunner(gw).run(find_skill(home, "points"), {"topic": "x"})
    assert result.outputs["score"] == 1 and result.draft
    await gw.aclose()


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"title": "t", "points": []}', "the model's JSON answer has no 'score'"),
        (
            '{"title": "t", "points": "a, b", "score": 1}',
            "output 'points' (from answer.points): expected array",
        ),
        # Not JSON even after the dispatcher's one repair attempt: the pipeline's own 502.
        ("I would rather not.", "not valid JSON, also after one repair attempt"),
    ],
)
async def test_an_answer_that_does_not_fit_the_outputs_is_a_502(
    home: Path, make_skill: MakeSkill, answer: str, problem: str
) -> None:
    make_skill("points", JSON_META, scripts={})
    gw, _ = scripted_gateway(home, [answer])
    with pytest.raises(OpenClawError) as info:
        await SkillRunner(gw).run(find_skill(home, "points"), {"topic": "x"})
    assert info.value.status == 502 and problem in info.value.message
    await gw.aclose()


async def test_lenient_mode_reports_keys_the_mock_cannot_know(
    home: Path, make_skill: MakeSkill, gateway: Gateway
) -> None:
    make_skill("points", JSON_META, scripts={})
    result = await SkillRunner(gateway, lenient_model=True).run(
        find_skill(home, "points"), {"topic": "x"}
    )
    assert result.unchecked == ["title", "points", "score"]
    assert result.outputs == {}


async def test_text_answers_are_coerced_to_the_declared_type(
    home: Path, make_skill: MakeSkill
) -> None:
    meta = {
        "inputs": [{"q": "string"}],
        "outputs": [{"name": "count", "type": "integer", "from": "answer"}],
        "prompt": "How many? {{ q }}",
    }
    make_skill("count", meta, scripts={})
    gw, provider = scripted_gateway(home, [" 12\n"])
    result = await SkillRunner(gw).run(find_skill(home, "count"), {"q": "x"})
    assert result.outputs == {"count": 12}
    assert "response_format" not in provider.bodies[0]
    await gw.aclose()
