"""Building the audit record for one exchange (the writer adds ``v``, ``prev`` and ``hash``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openclaw.pipeline.exchange import Exchange


def build_record(ex: Exchange) -> dict[str, Any]:
    err = ex.error
    rec: dict[str, Any] = {
        "ts": datetime.fromtimestamp(ex.ts, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "request_id": ex.request_id,
        "api": ex.api,
        "service": ex.service,
        "channel": ex.channel,
        "task": ex.task,
        "model": ex.alias,
        "requested_model": ex.requested_model,
        "provider": ex.provider,
        "provider_model": ex.provider_model,
        "stream": ex.stream,
        "status": ex.status,
        "error": None
        if err is None
        else {"code": err.code, "type": err.type, "message": err.message},
        "latency_ms": round(ex.latency_ms, 2),
        "ttft_ms": None if ex.ttft_ms is None else round(ex.ttft_ms, 2),
        "prompt_tokens": ex.prompt_tokens,
        "completion_tokens": ex.completion_tokens,
        "cost_usd": ex.cost_usd,
        "request_sha256": ex.request_sha256,
        "response_sha256": ex.response_sha256,
        "policies": [d.to_dict() for d in ex.decisions],
        "draft": ex.draft,
        "attempts": [a.to_dict() for a in ex.attempts],
        "fallback": ex.fallback_from,
        "cache": ex.cache,
    }
    if ex.stream:
        rec["stream_cut"] = ex.stream_cut
        rec["chunks_delivered"] = ex.chunks_sent
        rec["chars_delivered"] = ex.chars_sent
    if ex.skill is not None:
        rec["skill"] = ex.skill_audit if ex.skill_audit is not None else ex.skill
    rec.update(ex.audit_extra)
    return rec
