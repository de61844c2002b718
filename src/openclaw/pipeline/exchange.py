"""The :class:`Exchange`: one request's whole story as it flows through the pipeline.

Stages read and write it instead of passing arguments along. A policy that reroutes sets
``alias``; one that must keep data local sets ``local_only``; one that answers by itself sets
``response``. Response transforms (draft marking, restoring pseudonyms) are registered as
filters so the same code serves streamed and non-streamed answers.

Facts that only the audit record keeps go in ``ex.audit`` (:class:`AuditFacts`, one typed
field per fact, e.g. ``ex.audit.limit = "global:requests"``); a plugin's own facts go in
``ex.extensions`` (``ex.extensions["my_plugin"] = {...}``), which the record stores as its
``extensions`` object.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from openclaw.audit.record import (
    AttemptFacts,
    BudgetFacts,
    ContentCapture,
    DecisionFacts,
    LimitsCharge,
    PiiSighting,
    UnscannablePart,
)
from openclaw.errors import OpenClawError

Json = dict[str, Any]
ChunkFilter = Callable[[Json], Json]
ResponseFilter = Callable[[Json], Json]
#: Run (awaited, in order) after the exchange ends and before its audit record is written.
RecordHook = Callable[[], Awaitable[None]]


#: The outcome of an attempt that a provider's own quota (``providers.<name>.
#: requests_per_minute``) skipped before any call: not an upstream request.
QUOTA_SKIPPED = "provider_quota_exceeded"
#: The status recorded when the client went away before the answer was complete (nginx's).
CLIENT_CLOSED = 499


@dataclass(slots=True)
class Attempt:
    deployment: str  # "provider/model"
    provider: str
    outcome: str  # "ok" or an error code
    latency_ms: float
    status: int | None = None
    ended: float = field(default_factory=time.time)  # wall clock, for trace spans

    def to_dict(self) -> AttemptFacts:
        return {
            "deployment": self.deployment,
            "provider": self.provider,
            "outcome": self.outcome,
            "latency_ms": round(self.latency_ms, 2),
            "status": self.status,
        }


@dataclass(slots=True)
class PolicyDecision:
    policy: str
    rule: str
    outcome: str  # applied | would_apply | pass | error
    enforce: bool
    entities: list[str] | None = None
    model_before: str | None = None
    model_after: str | None = None
    detail: str | None = None

    def to_dict(self) -> DecisionFacts:
        d: DecisionFacts = {
            "policy": self.policy,
            "rule": self.rule,
            "outcome": self.outcome,
            "enforce": self.enforce,
        }
        if self.entities is not None:
            d["entities"] = self.entities
        if self.model_before is not None or self.model_after is not None:
            d["model_before"] = self.model_before
            d["model_after"] = self.model_after
        if self.detail:
            d["detail"] = self.detail
        return d

    def header(self) -> str:
        s = f"{self.policy}={self.outcome}"
        if self.model_after and self.model_after != self.model_before:
            s += f";model={self.model_after}"
        return s


@dataclass(slots=True)
class AuditFacts:
    """What stages learn about a request that only its audit record keeps.

    Each field is the :class:`~openclaw.audit.record.AuditRecord` field of the same name
    (documented there); ``None`` leaves it out of the record.
    """

    request_sha256: str | None = None  # gateway: of the body as received
    response_sha256: str | None = None  # gateway: of the answer's choices (or streamed text)
    auth: str | None = None  # server
    claimed_service: str | None = None  # server
    refused_at: str | None = None  # server: refusals before the pipeline
    path: str | None = None  # server: refusals before the pipeline
    client_gone: str | None = None  # gateway: why the client was let go (write_timeout)
    refusals_summarised: int | None = None  # server: a summary record of door refusals
    since: float | None = None  # server: when the first summarised refusal came (epoch s)
    channel_user: str | None = None  # channels: who was refused (a Slack user id)
    channel_conversation: str | None = None  # channels: where (a Slack conversation id)
    limit: str | None = None  # limits (and any refusal naming X-OpenClaw-Limit)
    budget: BudgetFacts | None = None  # limits
    queued_ms: float | None = None  # limits
    limits: LimitsCharge | None = None  # limits, when the request ends
    cache_reason: str | None = None  # cache
    cache_key: str | None = None  # cache
    dedup_of: str | None = None  # cache
    context_skipped: list[str] | None = None  # dispatch
    json_repaired: bool | None = None  # dispatch
    content: ContentCapture | None = None  # the audit policy's content capture
    pii_entities: list[PiiSighting] | None = None  # PII rules: what they acted on, masked
    unscannable_allowed: list[UnscannablePart] | None = None  # PII rules: unscanned, allowed


@dataclass(slots=True)
class Exchange:
    request_id: str
    body: Json
    service: str = "default"
    channel: str | None = None
    task: str | None = None
    stream: bool = False
    include_usage: bool = False
    requested_model: str | None = None
    client_ip: str | None = None
    # routing
    alias: str | None = None
    local_only: bool = False  # set by the PII policy: never leave the machine
    forced_by: str | None = None  # policy that chose the alias
    fallback_from: str | None = None
    # outcome
    response: Json | None = None
    status: int = 200
    error: OpenClawError | None = None
    provider: str | None = None
    provider_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    draft: bool = False
    cache: str | None = None  # hit | miss | bypass
    cache_control: str | None = None  # the client's X-OpenClaw-Cache header: on | off
    attempts: list[Attempt] = field(default_factory=list)
    decisions: list[PolicyDecision] = field(default_factory=list)
    # stream bookkeeping
    ttft_ms: float | None = None
    chunks_sent: int = 0
    chars_sent: int = 0
    stream_cut: bool = False
    # filters registered by stages
    chunk_filters: list[ChunkFilter] = field(default_factory=list)
    response_filters: list[ResponseFilter] = field(default_factory=list)
    record_hooks: list[RecordHook] = field(default_factory=list)
    final_chunk_extra: Json = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    audit: AuditFacts = field(default_factory=AuditFacts)
    extensions: Json = field(default_factory=dict)  # plugins' facts for the audit record
    scratch: Json = field(default_factory=dict)  # stages' own per-request state
    skill: Json | None = None  # {"name", "version", "inputs"}: the PII policy scans the inputs
    skill_audit: Json | None = None  # what the record says of the skill (input digests)
    api: str = "chat"  # the ingress: chat | messages | responses | embeddings
    traceparent: str | None = None  # the caller's W3C trace context, if it sent one
    stage_timings: list[tuple[str, float, float]] = field(default_factory=list)  # name, ts, ms
    trace: Any = None  # the tracer's handle on this request (openclaw.telemetry)
    started: float = field(default_factory=time.perf_counter)
    ts: float = field(default_factory=time.time)

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def fail(self, exc: OpenClawError) -> None:
        self.error = exc
        self.status = exc.status
        limit = exc.headers.get("X-OpenClaw-Limit")
        if limit:  # a refusal by a limit names it: the audit record and metrics say which
            self.audit.limit = limit
