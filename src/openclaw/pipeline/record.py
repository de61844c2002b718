"""Building the audit record of one exchange (the writer adds ``v``, ``prev`` and ``hash``)."""

from __future__ import annotations

from datetime import UTC, datetime

from openclaw.audit.record import AuditRecord
from openclaw.pipeline.exchange import Exchange


def build_record(ex: Exchange) -> AuditRecord:
    err = ex.error
    facts = ex.audit
    return AuditRecord(
        ts=datetime.fromtimestamp(ex.ts, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        request_id=ex.request_id,
        api=ex.api,
        service=ex.service,
        channel=ex.channel,
        task=ex.task,
        model=ex.alias,
        requested_model=ex.requested_model,
        provider=ex.provider,
        provider_model=ex.provider_model,
        stream=ex.stream,
        status=ex.status,
        error=None if err is None else {"code": err.code, "type": err.type, "message": err.message},
        latency_ms=round(ex.latency_ms, 2),
        ttft_ms=None if ex.ttft_ms is None else round(ex.ttft_ms, 2),
        prompt_tokens=ex.prompt_tokens,
        completion_tokens=ex.completion_tokens,
        cost_usd=ex.cost_usd,
        request_sha256=facts.request_sha256,
        response_sha256=facts.response_sha256,
        policies=[d.to_dict() for d in ex.decisions],
        draft=ex.draft,
        attempts=[a.to_dict() for a in ex.attempts],
        fallback=ex.fallback_from,
        cache=ex.cache,
        stream_cut=ex.stream_cut if ex.stream else None,
        chunks_delivered=ex.chunks_sent if ex.stream else None,
        chars_delivered=ex.chars_sent if ex.stream else None,
        skill=ex.skill_audit if ex.skill_audit is not None else ex.skill,
        auth=facts.auth,
        claimed_service=facts.claimed_service,
        refused_at=facts.refused_at,
        path=facts.path,
        client_gone=facts.client_gone,
        refusals_summarised=facts.refusals_summarised,
        since=facts.since,
        channel_user=facts.channel_user,
        channel_conversation=facts.channel_conversation,
        limit=facts.limit,
        budget=facts.budget,
        queued_ms=facts.queued_ms,
        limits=facts.limits,
        cache_reason=facts.cache_reason,
        cache_key=facts.cache_key,
        dedup_of=facts.dedup_of,
        context_skipped=facts.context_skipped,
        json_repaired=facts.json_repaired,
        content=facts.content,
        pii_entities=facts.pii_entities,
        unscannable_allowed=facts.unscannable_allowed,
        extensions=ex.extensions,
    )
