"""The policy engine end to end: the seed's policies, every built-in rule, shadow mode, when:."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from fakes import AnthropicUpstream, OllamaUpstream, OpenAIUpstream
from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.errors import ConfigError

PII_SAMPLES = {
    "EMAIL_ADDRESS": "Please email jane.doe@example.com about the refund.",
    "CREDIT_CARD": "The customer's card is 4111 1111 1111 1111, charge it again.",
    "US_SSN": "Her social security number is 536-90-4399 per the form.",
    "IBAN_CODE": "Wire it to GB82 WEST 1234 5698 7654 32 today.",
    "PHONE_NUMBER": "Call the customer back on +1 212-555-0123 this afternoon.",
}
CLEAN = "Summarise the release notes for version 2.3 in three bullet points."


def seed_models(anthropic: AnthropicUpstream, ollama: OllamaUpstream) -> str:
    """The seed's models.yaml, with the providers pointed at loopback fakes."""
    return f"""\
providers:
  anthropic: {{type: anthropic, base_url: "{anthropic.url}", api_key: "${{ANTHROPIC_API_KEY}}"}}
  ollama: {{type: ollama, base_url: "{ollama.url}"}}
models:
  general:
    provider: anthropic
    model: claude-sonnet-4-20250514
    use_for: [summarization, drafting, general_queries]
  sensitive:
    provider: ollama
    model: llama4:8b
    use_for: [customer_data, financial_records, internal_docs]
"""


@pytest.fixture
async def seed_gw(
    openclaw_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> Any:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    served = await serve_gateway(
        openclaw_home,
        models=seed_models(anthropic_upstream, ollama_upstream),
        policies=SEED_POLICIES,
    )
    yield served
    await served.close()


def sdk(gw: Served) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)


def decisions(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["policy"]: d for d in record["policies"]}


@pytest.mark.parametrize("entity", sorted(PII_SAMPLES))
async def test_pii_goes_to_sensitive_and_clean_goes_to_general(
    seed_gw: Served,
    entity: str,
    anthropic_upstream: AnthropicUpstream,
    ollama_upstream: OllamaUpstream,
) -> None:
    client = sdk(seed_gw)
    pii_text = PII_SAMPLES[entity]
    raw_pii = await client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": pii_text}]
    )
    raw_clean = await client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": CLEAN}]
    )
    assert raw_pii.headers["x-openclaw-model"] == "sensitive"
    assert raw_clean.headers["x-openclaw-model"] == "general"
    for raw in (raw_pii, raw_clean):
        assert raw.headers["x-openclaw-draft"] == "true"
        assert raw.parse().model_extra["openclaw"]["draft"] is True  # type: ignore[index]
    # The PII never left the machine: the remote fake saw only the clean prompt.
    sent = [json.dumps(r.json) for r in anthropic_upstream.chat_requests()]
    assert len(sent) == 1 and CLEAN in sent[0] and pii_text not in sent[0]
    assert len(ollama_upstream.chat_requests()) == 1

    rec_pii, rec_clean = seed_gw.audit()
    d = decisions(rec_pii)["sensitive_data_local"]
    assert d["outcome"] == "applied" and entity in d["entities"]
    assert d["model_before"] == "general" and d["model_after"] == "sensitive"
    assert decisions(rec_clean)["sensitive_data_local"]["outcome"] == "pass"
    assert rec_pii["draft"] is True and rec_clean["draft"] is True
    # content is audited, redacted
    assert rec_pii["content"]["mode"] == "redacted"
    assert f"<{entity}>" in rec_pii["content"]["messages"][0]["content"]
    log = (seed_gw.home / "audit.log").read_text()
    raw_value = {
        "EMAIL_ADDRESS": "jane.doe@example.com",
        "CREDIT_CARD": "4111 1111 1111 1111",
        "US_SSN": "536-90-4399",
        "IBAN_CODE": "GB82 WEST 1234 5698 7654 32",
        "PHONE_NUMBER": "212-555-0123",
    }[entity]
    assert raw_value not in log


async def test_explicit_model_request_is_rerouted(seed_gw: Served) -> None:
    raw = await sdk(seed_gw).chat.completions.with_raw_response.create(
        model="claude-sonnet-4-20250514",
        messages=[{"role": "user", "content": PII_SAMPLES["CREDIT_CARD"]}],
    )
    assert raw.headers["x-openclaw-model"] == "sensitive"
    assert "sensitive_data_local=applied;model=sensitive" in raw.headers["x-openclaw-policy"]


async def test_pii_in_system_assistant_and_tool_messages_counts(seed_gw: Served) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You help the support team."},
        {"role": "user", "content": "Look up the account."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "owner email: bob.smith@example.org"},
        {"role": "user", "content": "Summarise that."},
    ]
    raw = await sdk(seed_gw).chat.completions.with_raw_response.create(
        model="general", messages=messages
    )
    assert raw.headers["x-openclaw-model"] == "sensitive"


async def test_streaming_response_is_marked_draft_and_rerouted(seed_gw: Served) -> None:
    stream = await sdk(seed_gw).chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": PII_SAMPLES["EMAIL_ADDRESS"]}],
        stream=True,
    )
    chunks = [c async for c in stream]
    facts = chunks[-1].model_extra["openclaw"]  # type: ignore[index]
    assert facts["draft"] is True and facts["model"] == "sensitive"
    rec = seed_gw.audit()[0]
    assert rec["draft"] is True and rec["stream"] is True


async def test_sensitive_model_down_gives_503_and_no_remote_call(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch, anthropic_upstream: AnthropicUpstream
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    # The fake sits on loopback; in production Anthropic is remote, so make it count as such.
    from openclaw.providers.anthropic import AnthropicProvider

    monkeypatch.setattr(AnthropicProvider, "is_local", property(lambda self: False))
    models = f"""\
providers:
  anthropic: {{type: anthropic, base_url: "{anthropic_upstream.url}", api_key: "${{ANTHROPIC_API_KEY}}"}}
  ollama: {{type: ollama, base_url: "http://127.0.0.1:9"}}
models:
  general: {{provider: anthropic, model: claude-sonnet-4-20250514, fallbacks: [sensitive]}}
  sensitive:
    provider: ollama
    model: llama4:8b
    fallbacks: [general]
    max_retries: 1
    timeouts: {{connect: 0.5, first_token: 1, total: 3}}
"""
    served = await serve_gateway(openclaw_home, models=models, policies=SEED_POLICIES)
    try:
        with pytest.raises(openai.APIStatusError) as info:
            await sdk(served).chat.completions.create(
                model="auto", messages=[{"role": "user", "content": PII_SAMPLES["US_SSN"]}]
            )
        assert info.value.status_code == 503
        assert (
            "sensitive model" in info.value.message
            and "not sent to a remote model" in info.value.message
        )
        assert anthropic_upstream.chat_requests() == []  # never fell back to the remote model
        rec = served.audit()[0]
        assert rec["status"] == 503
        assert all(a["provider"] == "ollama" for a in rec["attempts"])
    finally:
        await served.close()


async def test_remote_sensitive_model_is_refused_at_load(openclaw_home: Path) -> None:
    models = "models:\n  general: {provider: mock, model: m}\n  sensitive: {provider: openai, model: gpt-4o}\n"
    with pytest.raises(ConfigError) as info:
        await serve_gateway(openclaw_home, models=models, policies=SEED_POLICIES)
    assert "not on this machine" in info.value.message and "allow_remote" in info.value.message


async def test_remote_sensitive_model_allowed_when_policy_says_so(openclaw_home: Path) -> None:
    models = "models:\n  general: {provider: mock, model: m}\n  sensitive: {provider: openai, model: gpt-4o}\n"
    pol = (
        "policies:\n  - name: pii\n    rule: if_context_contains_pii_use_sensitive_model\n"
        "    params: {allow_remote: true}\n"
    )
    served = await serve_gateway(openclaw_home, models=models, policies=pol)
    await served.close()


async def test_missing_sensitive_alias_is_refused_at_load(openclaw_home: Path) -> None:
    with pytest.raises(ConfigError, match=r"'sensitive' is not in models\.yaml"):
        await serve_gateway(
            openclaw_home,
            models="models:\n  general: {provider: mock, model: m}\n",
            policies=SEED_POLICIES,
        )


SHADOW = """\
policies:
  - name: drafts
    rule: all_outputs_are_drafts
    enforce: false
  - name: pii
    rule: if_context_contains_pii_use_sensitive_model
    enforce: false
  - name: no_secrets
    rule: deny
    enforce: false
    params: {if_contains: ["password\\\\s*="]}
"""


async def test_shadow_mode_records_would_apply_without_changing_the_request(
    openclaw_home: Path,
) -> None:
    served = await serve_gateway(openclaw_home, policies=SHADOW)
    try:
        raw = await sdk(served).chat.completions.with_raw_response.create(
            model="general",
            messages=[
                {"role": "user", "content": "password = hunter2, mail me at a.b@example.com"}
            ],
        )
        assert raw.headers["x-openclaw-model"] == "general"  # not rerouted
        assert "x-openclaw-draft" not in raw.headers
        d = decisions(served.audit()[0])
        assert d["drafts"]["outcome"] == "would_apply"
        assert d["pii"]["outcome"] == "would_apply" and d["pii"]["model_after"] == "sensitive"
        assert d["no_secrets"]["outcome"] == "would_apply"
        assert served.audit()[0]["draft"] is False
    finally:
        await served.close()


async def test_shadow_audit_content_and_shadow_redaction_change_nothing(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    """The two rules the SHADOW set above leaves out: in shadow mode the audit record gets
    no content, and the remote model sees the raw value (both marked would_apply)."""
    models = f'providers:\n  remote: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: remote, model: m}}\n'
    pol = (
        "policies:\n"
        "  - name: audit_all\n    rule: log_all_requests_and_responses\n    enforce: false\n"
        "  - name: pseudonymise\n    rule: redact_pii\n    enforce: false\n"
    )
    served = await serve_gateway(openclaw_home, models=models, policies=pol)
    email = "jane.doe@example.com"
    try:
        await sdk(served).chat.completions.create(
            model="general", messages=[{"role": "user", "content": f"Write to {email} today"}]
        )
        sent = openai_upstream.chat_requests()[0].json["messages"][0]["content"]
        assert email in sent  # shadow: not pseudonymised
        rec = served.audit()[0]
        d = decisions(rec)
        assert d["audit_all"]["outcome"] == "would_apply"
        assert d["pseudonymise"]["outcome"] == "would_apply"
        assert rec.get("content") is None  # shadow: no content captured
        assert email not in (served.home / "audit.log").read_text()
    finally:
        await served.close()


async def test_when_models_scopes_a_policy_to_the_requested_alias(openclaw_home: Path) -> None:
    pol = """\
policies:
  - name: general_drafts
    rule: all_outputs_are_drafts
    when: {models: [general]}
"""
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        client = sdk(served)
        r1 = await client.chat.completions.with_raw_response.create(
            model="general", messages=[{"role": "user", "content": "hi"}]
        )
        r2 = await client.chat.completions.with_raw_response.create(
            model="sensitive", messages=[{"role": "user", "content": "hi"}]
        )
        assert r1.headers.get("x-openclaw-draft") == "true"
        assert "x-openclaw-draft" not in r2.headers
        first, second = served.audit()
        assert first["draft"] is True and second["draft"] is False
    finally:
        await served.close()


async def test_when_scopes_a_policy_to_services_and_tasks(openclaw_home: Path) -> None:
    pol = """\
policies:
  - name: billing_drafts
    rule: all_outputs_are_drafts
    when: {services: [billing]}
  - name: hr_deny
    rule: deny
    when: {tasks: [hr_review]}
    params: {if_contains: [salary], message: "salary questions go to HR"}
"""
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        client = sdk(served)
        r1 = await client.chat.completions.with_raw_response.create(
            model="general",
            messages=[{"role": "user", "content": "salary?"}],
            extra_headers={"X-OpenClaw-Service": "billing"},
        )
        assert r1.headers["x-openclaw-draft"] == "true"
        r2 = await client.chat.completions.with_raw_response.create(
            model="general",
            messages=[{"role": "user", "content": "salary?"}],
            extra_headers={"X-OpenClaw-Service": "search"},
        )
        assert "x-openclaw-draft" not in r2.headers
        with pytest.raises(openai.PermissionDeniedError) as info:
            await client.chat.completions.create(
                model="general",
                messages=[{"role": "user", "content": "what is my salary"}],
                extra_headers={"X-OpenClaw-Task": "hr_review"},
            )
        assert (
            info.value.code == "policy_violation"
            and "salary questions go to HR" in info.value.message
        )
        policies_seen = [[d["policy"] for d in r["policies"]] for r in served.audit()]
        assert policies_seen[1] == []  # neither policy applies to service=search without the task
    finally:
        await served.close()


async def test_deny_by_entity_is_403_policy_violation(openclaw_home: Path) -> None:
    pol = "policies:\n  - name: no_cards\n    rule: deny\n    params: {entities: [CREDIT_CARD], message: no card data}\n"
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        with pytest.raises(openai.PermissionDeniedError) as info:
            await sdk(served).chat.completions.create(
                model="general", messages=[{"role": "user", "content": PII_SAMPLES["CREDIT_CARD"]}]
            )
        assert info.value.status_code == 403
        body = info.value.body
        assert isinstance(body, dict) and body["type"] == "policy_violation"
        assert "4111" not in info.value.message  # raw PII never in errors
        rec = served.audit()[0]
        assert rec["status"] == 403
        [d] = rec["policies"]
        assert d["policy"] == "no_cards" and d["outcome"] == "applied"
        assert d["entities"] == ["CREDIT_CARD"]
    finally:
        await served.close()


async def test_draft_label_prefix_and_tool_calls_are_proposals(openclaw_home: Path) -> None:
    pol = "policies:\n  - name: d\n    rule: all_outputs_are_drafts\n    params: {label: prefix}\n"
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        client = sdk(served)
        r = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hi"}]
        )
        assert (r.choices[0].message.content or "").startswith("[DRAFT] ")
        r = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "mock:tool"}]
        )
        call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.model_extra["proposal"] is True  # type: ignore[index]
        stream = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text.startswith("[DRAFT] ")
    finally:
        await served.close()


async def test_audit_content_modes(openclaw_home: Path) -> None:
    pol = "policies:\n  - name: a\n    rule: log_all_requests_and_responses\n    params: {content: hashes}\n"
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        await sdk(served).chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hello"}]
        )
        content = served.audit()[0]["content"]
        assert content["mode"] == "hashes" and len(content["messages"][0]["content"]) == 64
        assert "hello" not in json.dumps(content)
    finally:
        await served.close()


async def test_audit_write_failure_fails_closed_before_upstream(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    models = f'providers:\n  up: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: up, model: m}}\n'
    pol = "policies:\n  - name: audit_everything\n    rule: log_all_requests_and_responses\n"
    served = await serve_gateway(openclaw_home, models=models, policies=pol)
    try:
        served.state.gateway.audit.close()
        audit_path = openclaw_home / "audit.log"
        if audit_path.exists():
            audit_path.unlink()
        audit_path.mkdir()  # the audit log cannot be opened for writing, even as root
        with pytest.raises(openai.APIStatusError) as info:
            await sdk(served).chat.completions.create(
                model="general", messages=[{"role": "user", "content": "x"}]
            )
        assert info.value.status_code == 503 and info.value.code == "audit_unavailable"
        assert openai_upstream.chat_requests() == []  # nothing went upstream
    finally:
        audit_path.rmdir()
        await served.close()


async def test_redact_pii_round_trip(openclaw_home: Path, openai_upstream: OpenAIUpstream) -> None:
    models = f'providers:\n  remote: {{type: openai_compatible, base_url: "{openai_upstream.url}"}}\nmodels:\n  general: {{provider: remote, model: m}}\n'
    pol = "policies:\n  - name: pseudonymise\n    rule: redact_pii\n"
    served = await serve_gateway(openclaw_home, models=models, policies=pol)
    email = "jane.doe@example.com"
    try:
        client = sdk(served)
        r = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": f"Write to {email} today"}]
        )
        sent = openai_upstream.chat_requests()[0].json["messages"][0]["content"]
        assert email not in sent and "<EMAIL_ADDRESS_1>" in sent  # the remote model never sees it
        assert email in (
            r.choices[0].message.content or ""
        )  # the client gets it back (the fake echoes)
        stream = await client.chat.completions.create(
            model="general",
            messages=[{"role": "user", "content": f"Write to {email} today"}],
            stream=True,
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert email in text and "<EMAIL_ADDRESS" not in text
        assert all(email not in json.dumps(req.json) for req in openai_upstream.chat_requests())
    finally:
        await served.close()


async def test_custom_rule_from_examples(openclaw_home: Path) -> None:
    pol = (
        "plugins: [examples.custom_rule]\n"
        "policies:\n  - name: codenames\n    rule: no_codenames\n    params: {codenames: [bluebird]}\n"
    )
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        client = sdk(served)
        with pytest.raises(openai.PermissionDeniedError):
            await client.chat.completions.create(
                model="general", messages=[{"role": "user", "content": "status of Bluebird?"}]
            )
        ok = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hello"}]
        )
        assert ok.choices[0].message.content
    finally:
        await served.close()


async def test_unknown_rule_suggests_the_nearest(openclaw_home: Path) -> None:
    pol = "policies:\n  - name: d\n    rule: all_output_are_drafts\n"
    with pytest.raises(ConfigError, match="did you mean 'all_outputs_are_drafts'"):
        await serve_gateway(openclaw_home, policies=pol)


async def test_bad_params_fail_at_load_naming_the_policy(openclaw_home: Path) -> None:
    pol = "policies:\n  - name: d\n    rule: all_outputs_are_drafts\n    params: {lable: prefix}\n"
    with pytest.raises(ConfigError, match=r"policy 'd': params\.lable"):
        await serve_gateway(openclaw_home, policies=pol)


async def test_crashing_rule_fails_closed(
    openclaw_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await serve_gateway(openclaw_home, policies=SEED_POLICIES)
    try:
        stage = served.state.gateway.stages[0]

        async def boom(ex: Any) -> Any:
            raise RuntimeError("bug")

        monkeypatch.setattr(stage.rules[1], "evaluate", boom)  # type: ignore[attr-defined]
        async with (
            aiohttp.ClientSession() as s,
            s.post(
                f"{served.url}/chat/completions",
                headers=served.auth,
                json={"messages": [{"role": "user", "content": "x"}]},
            ) as r,
        ):
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "policy_error"
    finally:
        await served.close()


def test_audit_log_is_mode_0600(openclaw_home: Path) -> None:
    from openclaw.audit import AuditLog

    log = AuditLog(openclaw_home / "audit.log")
    log.write({"request_id": "r1"})
    log.close()
    assert stat.S_IMODE(os.stat(openclaw_home / "audit.log").st_mode) == 0o600
