"""The audit record: its fields, its canonical form and its place in the hash chain.

A record is one JSON object on one line. The gateway fills the request fields
(:data:`FIELDS`); the writer adds the chain fields:

``v``
    schema version (:data:`SCHEMA_VERSION`).
``file_start``
    ``true`` on the first record of each file and absent elsewhere, so deleting the first
    line of the oldest file is as detectable as deleting any other line.
``seq``
    sequence number: one more than the record before it (1 for the first of a chain), so
    the anchor (:mod:`.anchor`) can say how many records a cut tail took.
``prev``
    ``hash`` of the record before it (across rotated files); :data:`GENESIS` for the first
    record of a new chain.
``hash``
    ``sha256`` (hex) of :func:`canonical` of the record without ``hash``, i.e. of the JSON
    with sorted keys and no whitespace as ``orjson`` writes it (``OPT_SORT_KEYS``).

Deleting, editing, inserting or reordering a line breaks either that line's ``hash`` or the
next line's ``prev``. What a hash chain cannot show on its own is a cut at either end (the
newest records, or whole rotated-away files); the writer keeps the head in an anchor file
for that (:mod:`.anchor`), and ``openclaw audit verify`` compares the two.

:class:`AuditRecord` is the one typed model of a record. The pipeline builds it
(:func:`openclaw.pipeline.record.build_record`) and the writer stores
:meth:`AuditRecord.to_wire`; ``audit stats``, ``audit tail`` and the status page read stored
lines through :meth:`AuditRecord.from_wire`; ``audit export`` writes one CSV column per field,
in the model's order; the gateway's observers (metrics, dashboard feed, events) receive it
beside the exchange it was built from. Built-in facts are declared fields; plugins put theirs
in ``extensions``, stored as one ``"extensions"`` object so they can never overwrite a
built-in field.
"""

from __future__ import annotations

import hashlib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import orjson

SCHEMA_VERSION = 1
GENESIS = "0" * 64
# The rule whose ``applied`` outcome means a request was rerouted because it carried PII
# (a name from the policies.yaml vocabulary; a test pins it to the rule's own).
PII_RULE = "if_context_contains_pii_use_sensitive_model"

# The fields of schema 1 that every reader may rely on (``content`` only when a policy asks
# for it). The full set, in export order, is :data:`COLUMNS`; a test keeps this within it.
FIELDS: tuple[str, ...] = (
    "ts",  # RFC 3339 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z
    "request_id",
    "service",
    "channel",
    "task",
    "model",  # the model alias that served the request
    "provider",
    "provider_model",  # the provider's own model name
    "status",  # HTTP status sent to the client
    "error",  # null, or {"code", "type", "message"}
    "latency_ms",
    "ttft_ms",  # time to first token, streams only
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "request_sha256",
    "response_sha256",
    "policies",  # list of {"policy", "rule", "outcome", "enforce", ...}
    "draft",
    "attempts",
    "content",  # only when a policy asks for content
)
CHAIN_FIELDS: tuple[str, ...] = ("v", "file_start", "seq", "prev", "hash")


# --------------------------------------------------------------------------- nested facts
# TypedDicts rather than classes: they are the JSON objects themselves, so building a record
# copies nothing and a reader gets them straight from ``orjson.loads``.
class ErrorFacts(TypedDict):
    code: str | None
    type: str
    message: str


class DecisionFacts(TypedDict):
    """One policy decision (:class:`openclaw.pipeline.exchange.PolicyDecision`)."""

    policy: str
    rule: str
    outcome: str  # applied | would_apply | pass | error
    enforce: bool
    entities: NotRequired[list[str]]
    model_before: NotRequired[str | None]
    model_after: NotRequired[str | None]
    detail: NotRequired[str]


class AttemptFacts(TypedDict):
    """One call (or quota skip) of one deployment."""

    deployment: str  # "provider/model"
    provider: str
    outcome: str  # "ok", "ok_repaired" or an error code
    latency_ms: float
    status: int | None


class BudgetFacts(TypedDict):
    """A service's daily budget was spent: what was spent and what the gateway did."""

    service: str
    exceeded: str  # usd_per_day | tokens_per_day
    spent_usd: float
    spent_tokens: int
    usd_per_day: float | None
    tokens_per_day: int | None
    action: str  # block | downgrade | none (already on the downgrade model)
    model_before: NotRequired[str | None]
    model_after: NotRequired[str]


class LimitsCharge(TypedDict):
    """What the limits charged once the request ended."""

    estimated_tokens: int
    charged_tokens: int
    charged_usd: NotRequired[float]


class ContentCapture(TypedDict):
    """The prompt and answer an audit policy asked to keep, in its ``content`` mode."""

    mode: str  # full | redacted | hashes
    messages: list[dict[str, Any]]
    response: str | None


class PiiSighting(TypedDict):
    """What caused a PII decision, without the value: ``policy stats`` counts these."""

    policy: str
    type: str  # the entity type, e.g. PERSON
    masked: str  # initials only: "J*** D***"
    digest: str  # HMAC of the normalised value, keyed by $OPENCLAW_HOME/pii.key


class UnscannablePart(TypedDict):
    """A part the PII scan could not read that ``unscannable: allow`` let through."""

    policy: str
    part: str  # where in the request, e.g. messages[0].content[1]
    kind: str  # image | audio | file | video | data


# --------------------------------------------------------------------------- the record
# How a field goes on the wire. "always": written on every record, null when unknown.
# "if_set": written only when not None (keys that older records simply lack).
# "chain": added by the writer; read back from stored lines.
_WIRE = "wire"


def _always(default: Any = None) -> Any:
    if isinstance(default, list):
        return field(default_factory=list, metadata={_WIRE: "always"})
    return field(default=default, metadata={_WIRE: "always"})


def _if_set() -> Any:
    return field(default=None, metadata={_WIRE: "if_set"})


def _chain() -> Any:
    return field(default=None, metadata={_WIRE: "chain"})


@dataclass(slots=True, kw_only=True)
class AuditRecord:
    """One audit record. Field order is export order. Treat it as read-only.

    The pipeline fills every field it knows; a reader gets the defaults for fields a stored
    line lacks (older records) or holds with the wrong JSON type (a hand-edited one), so
    code reading a record never needs ``isinstance`` checks.

    Not ``frozen``: it is built once per request, and a frozen dataclass sets each of its
    fields through ``object.__setattr__``, which made building it cost about 1.7 times as
    much (``python -m benchmarks.audit_record``) for a guarantee that stops at the first
    nested list or dict anyway.
    """

    ts: str | None = _always()  # RFC 3339 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z
    request_id: str | None = _always()
    api: str | None = _always()  # the ingress: chat | messages | responses | embeddings
    service: str | None = _always()
    channel: str | None = _always()
    task: str | None = _always()
    model: str | None = _always()  # the model alias that served the request
    requested_model: str | None = _always()  # what the client asked for
    provider: str | None = _always()
    provider_model: str | None = _always()  # the provider's own model name
    stream: bool = _always(False)
    status: int | None = _always()  # HTTP status sent to the client
    error: ErrorFacts | None = _always()
    latency_ms: float | None = _always()
    ttft_ms: float | None = _always()  # time to first token, streams only
    prompt_tokens: int | None = _always()
    completion_tokens: int | None = _always()
    cost_usd: float | None = _always()
    request_sha256: str | None = _always()  # null when the body was never read
    response_sha256: str | None = _always()
    policies: list[DecisionFacts] = _always([])
    draft: bool = _always(False)
    attempts: list[AttemptFacts] = _always([])
    fallback: str | None = _always()  # the alias a fallback came from
    cache: str | None = _always()  # hit | miss | bypass
    # streams only
    stream_cut: bool | None = _if_set()
    chunks_delivered: int | None = _if_set()
    chars_delivered: int | None = _if_set()
    # set by the stage that knows them, absent otherwise
    skill: dict[str, Any] | None = _if_set()  # {"name", "version", "inputs": digests}
    auth: str | None = _if_set()  # "service_token" when a service's own token was used
    claimed_service: str | None = _if_set()  # X-OpenClaw-Service that the token contradicted
    refused_at: str | None = _if_set()  # door | pipeline_entry: refused before an exchange
    path: str | None = _if_set()  # the URL path of a request refused at the door
    client_gone: str | None = _if_set()  # why a client was let go (write_timeout)
    refusals_summarised: int | None = _if_set()  # a summary: door refusals it stands for
    since: float | None = _if_set()  # a summary: when its first refusal came (epoch s)
    channel_user: str | None = _if_set()  # a channel refusal: who (a Slack user id)
    channel_conversation: str | None = _if_set()  # a channel refusal: where
    refusals: dict[str, Any] | None = _if_set()  # a channel summary: count, total, first, last
    limit: str | None = _if_set()  # the limit that refused the request (X-OpenClaw-Limit)
    budget: BudgetFacts | None = _if_set()
    queued_ms: float | None = _if_set()  # time spent waiting for a rate limit
    limits: LimitsCharge | None = _if_set()
    cache_reason: str | None = _if_set()  # why the cache was bypassed
    cache_key: str | None = _if_set()  # first 16 hex digits of the cache key
    dedup_of: str | None = _if_set()  # request id whose answer this one shared
    context_skipped: list[str] | None = _if_set()  # deployments whose context was too small
    json_repaired: bool | None = _if_set()
    content: ContentCapture | None = _if_set()  # only when an audit policy asks for it
    pii_entities: list[PiiSighting] | None = _if_set()  # what a PII rule acted on, masked
    unscannable_allowed: list[UnscannablePart] | None = _if_set()  # sent unscanned, by opt-out
    # plugins' facts, stored as one object so they cannot shadow a built-in field
    extensions: dict[str, Any] = field(default_factory=dict, metadata={_WIRE: "extensions"})
    # the hash chain (see the module docstring)
    v: int | None = _chain()
    file_start: bool | None = _chain()
    seq: int | None = _chain()  # 1, 2, 3 ... across rotations; the anchor keeps the last
    prev: str | None = _chain()
    hash: str | None = _chain()

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as stored (before the writer adds the chain fields)."""
        out = dict(zip(_ALWAYS, _get_always(self), strict=True))
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.extensions:
            out["extensions"] = self.extensions
        return out

    @classmethod
    def from_wire(cls, stored: Mapping[str, Any]) -> AuditRecord:
        """The record a stored JSON object holds.

        Keys the model does not declare (a plugin's facts in records from before
        ``extensions``) are read into ``extensions``; a declared field whose value has the
        wrong JSON type reads as its default.
        """
        known: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for key, value in stored.items():
            fits = _FITS.get(key)
            if key == "extensions":
                if isinstance(value, dict):
                    extensions.update(value)
            elif fits is None:
                extensions[key] = value
            elif fits(value):
                known[key] = value
        return cls(**known, extensions=extensions)


def _fits(tp: Any) -> Callable[[Any], bool]:
    """A check that a JSON value has the type ``tp`` declares (``bool`` is no number)."""
    allowed: list[type] = []
    for t in typing.get_args(tp) if isinstance(tp, types.UnionType) else (tp,):
        origin = typing.get_origin(t) or t
        if t is Any:
            return lambda value: True
        if origin is float:
            allowed += [int, float]
        elif typing.is_typeddict(t) or origin is dict:
            allowed.append(dict)
        elif isinstance(origin, type):
            allowed.append(origin)
    kinds = tuple(allowed)
    if bool in kinds:
        return lambda value: isinstance(value, kinds)
    return lambda value: isinstance(value, kinds) and not isinstance(value, bool)


_HINTS = typing.get_type_hints(AuditRecord)
_FITS: Mapping[str, Callable[[Any], bool]] = types.MappingProxyType(
    {f.name: _fits(_HINTS[f.name]) for f in fields(AuditRecord)}
)
_ALWAYS = tuple(f.name for f in fields(AuditRecord) if f.metadata[_WIRE] == "always")
_OPTIONAL = tuple(f.name for f in fields(AuditRecord) if f.metadata[_WIRE] in ("if_set", "chain"))
_get_always = attrgetter(*_ALWAYS)

#: The columns of ``audit export --format csv``: every field of :class:`AuditRecord`, in order.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AuditRecord))

_HEX64 = re.compile(r"[0-9a-f]{64}")


def canonical(record: Mapping[str, Any], default: Callable[[Any], Any] | None = None) -> bytes:
    """The bytes a record's ``hash`` is taken over (pass the record without ``hash``).

    ``default`` lets the writer turn values JSON has no type for into ones it has; what it
    returns is what gets stored, so a reader needs none.
    """
    return orjson.dumps(record, default=default, option=orjson.OPT_SORT_KEYS)


def record_hash(record: Mapping[str, Any]) -> str:
    """The ``hash`` a stored record should carry: sha256 of it without ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def is_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def now_ts() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_time(record: Mapping[str, Any]) -> datetime | None:
    """``ts`` as an aware UTC datetime (RFC 3339 text or epoch seconds), else ``None``."""
    ts = record.get("ts")
    try:
        if isinstance(ts, str):
            t = datetime.fromisoformat(ts)
            return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        if isinstance(ts, int | float) and not isinstance(ts, bool):
            return datetime.fromtimestamp(ts / 1000 if ts > 1e11 else ts, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def rotated_path(path: Path, n: int) -> Path:
    """``audit.log.<n>``: the n-th newest rotated file."""
    return path.with_name(f"{path.name}.{n}")


def log_files(path: Path) -> list[Path]:
    """The live file and its rotated files that exist, oldest first (``.N`` ... ``.1``, live)."""
    numbered: list[tuple[int, Path]] = []
    prefix = path.name + "."
    try:
        for p in path.parent.iterdir():
            suffix = p.name[len(prefix) :]
            if p.name.startswith(prefix) and suffix.isdigit() and p.is_file():
                numbered.append((int(suffix), p))
    except FileNotFoundError:
        return []
    files = [p for _, p in sorted(numbered, reverse=True)]
    if path.is_file():
        files.append(path)
    return files
