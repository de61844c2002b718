"""The audit record an exchange produces: every key declared, no fact left behind."""

from __future__ import annotations

import dataclasses

import orjson

from openclaw.audit.record import COLUMNS, AuditRecord
from openclaw.errors import RateLimited
from openclaw.pipeline.exchange import Attempt, AuditFacts, Exchange, PolicyDecision
from openclaw.pipeline.record import build_record


def busy_exchange() -> Exchange:
    """An exchange on which every stage has said everything it can say."""
    ex = Exchange(request_id="req_1", body={}, stream=True, requested_model="general")
    ex.alias, ex.provider, ex.provider_model = "general", "mock", "mock-1"
    ex.attempts.append(Attempt("mock/mock-1", "mock", "ok", 12.345, 200))
    ex.decisions.append(PolicyDecision("p", "r", "applied", True, ["EMAIL_ADDRESS"], "a", "b"))
    ex.skill = {"name": "s", "version": "1", "inputs": {"x": "sha256:00"}}
    ex.audit = AuditFacts(
        request_sha256="a" * 64,
        response_sha256="b" * 64,
        auth="service_token",
        claimed_service="other",
        refused_at="door",
        path="/v1/chat/completions",
        client_gone="write_timeout",
        refusals_summarised=3,
        since=1700000000.0,
        channel_user="U1",
        channel_conversation="C1",
        pii_entities=[{"policy": "p", "type": "PERSON", "masked": "J***", "digest": "ab"}],
        unscannable_allowed=[{"policy": "p", "part": "messages[0].content[1]", "kind": "image"}],
        budget={
            "service": "s",
            "exceeded": "usd_per_day",
            "spent_usd": 1.0,
            "spent_tokens": 10,
            "usd_per_day": 1.0,
            "tokens_per_day": None,
            "action": "block",
        },
        queued_ms=1.5,
        limits={"estimated_tokens": 10, "charged_tokens": 12},
        cache_reason="header",
        cache_key="0123456789abcdef",
        dedup_of="req_0",
        context_skipped=["small"],
        json_repaired=True,
        content={"mode": "full", "messages": [], "response": "hi"},
    )
    ex.fail(RateLimited("slow down", headers={"X-OpenClaw-Limit": "global:requests"}))
    ex.extensions["my_plugin"] = {"score": 3}
    return ex


def test_every_key_build_record_writes_is_a_declared_field() -> None:
    wire = build_record(busy_exchange()).to_wire()
    assert set(wire) <= set(COLUMNS), set(wire) - set(COLUMNS)


def test_every_audit_fact_reaches_the_record() -> None:
    ex = busy_exchange()
    wire = build_record(ex).to_wire()
    for f in dataclasses.fields(AuditFacts):
        assert wire[f.name] == getattr(ex.audit, f.name), f.name
    assert wire["limit"] == "global:requests"
    assert wire["extensions"] == {"my_plugin": {"score": 3}}


def test_facts_nobody_set_are_absent_and_request_fields_are_null() -> None:
    wire = build_record(Exchange(request_id="req_1", body={})).to_wire()
    optional = {f.name for f in dataclasses.fields(AuditFacts)} - {
        "request_sha256",
        "response_sha256",
    }
    assert not optional & set(wire)
    assert "extensions" not in wire and "stream_cut" not in wire and "skill" not in wire
    assert wire["channel"] is None and wire["request_sha256"] is None
    assert wire["stream"] is False and wire["policies"] == [] and wire["attempts"] == []


def test_a_record_reads_back_as_it_was_built() -> None:
    record = build_record(busy_exchange())
    assert AuditRecord.from_wire(orjson.loads(orjson.dumps(record.to_wire()))) == record
