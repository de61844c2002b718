"""What one audit record costs on the request path: build it, turn it into the stored JSON.

The record is built once per request (:func:`openclaw.pipeline.record.build_record`) and
serialised by the writer with ``orjson`` and sorted keys. This times that pair, in CPU time
per record (best of several rounds, so other load on the machine counts less), for:

* ``dict``: how ``build_record`` built records before the typed model (a dict literal and
  the free-form extras merged in), against ``build_record`` + ``to_wire`` now;
* ``AuditRecord``: the slotted dataclass the gateway uses (``build_record`` + ``to_wire``,
  and the record alone from the same values);
* ``frozen``: the same dataclass with ``frozen=True``;
* ``pydantic``: a ``BaseModel`` with the same fields, validated, and via ``model_construct``
  (nested objects as plain dicts: pydantic refuses ``typing.TypedDict`` before Python 3.12).

Each for a typical request and for one on which every stage recorded a fact.

    python -m benchmarks.audit_record [--rounds 25]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import operator
import time
import timeit
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pydantic

from openclaw.audit.record import AuditRecord
from openclaw.errors import RateLimited
from openclaw.pipeline.exchange import Attempt, AuditFacts, Exchange, PolicyDecision
from openclaw.pipeline.record import build_record

SORTED = orjson.OPT_SORT_KEYS
PER_ROUND = 2000


def typical() -> Exchange:
    ex = Exchange(request_id="req_1", body={}, requested_model="general")
    ex.alias, ex.provider, ex.provider_model = "general", "openai", "gpt-4o-mini"
    ex.attempts.append(Attempt("openai/gpt-4o-mini", "openai", "ok", 120.5, 200))
    pii = "if_context_contains_pii_use_sensitive_model"
    ex.decisions.append(PolicyDecision("pii", pii, "pass", True))
    ex.prompt_tokens, ex.completion_tokens, ex.cost_usd = 10, 5, 0.0001
    ex.audit.request_sha256, ex.audit.response_sha256 = "a" * 64, "b" * 64
    ex.audit.limits = {"estimated_tokens": 10, "charged_tokens": 15}
    return ex


def every_fact() -> Exchange:
    ex = typical()
    ex.stream = True
    ex.skill = {"name": "s", "version": "1", "inputs": {"x": "sha256:00"}}
    ex.audit = AuditFacts(
        request_sha256="a" * 64,
        response_sha256="b" * 64,
        auth="service_token",
        claimed_service="other",
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
        context_skipped=["small"],
        json_repaired=True,
        content={"mode": "full", "messages": [], "response": "hi"},
    )
    ex.fail(RateLimited("slow down", headers={"X-OpenClaw-Limit": "global:requests"}))
    return ex


def _plain(tp: Any) -> Any:
    """``tp`` with TypedDicts replaced by ``dict[str, Any]`` (for pydantic on 3.11)."""
    if typing.is_typeddict(tp):
        return dict[str, Any]
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if not args or origin is dict:
        return tp
    if origin is list:
        return list[_plain(args[0])]
    return functools.reduce(operator.or_, [_plain(a) for a in args])


def _field_defaults() -> dict[str, tuple[Any, Any]]:
    hints = typing.get_type_hints(AuditRecord)
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(AuditRecord):
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else pydantic.Field(default_factory=f.default_factory)
        )
        out[f.name] = (_plain(hints[f.name]), default)
    return out


def candidates(ex: Exchange) -> dict[str, Callable[[], bytes]]:
    kw = {f.name: getattr(r, f.name) for r in [build_record(ex)] for f in dataclasses.fields(r)}
    optional = [n for n in kw if n not in build_record(Exchange(request_id="r", body={})).to_wire()]
    pmodel = pydantic.create_model("PRecord", **_field_defaults())  # type: ignore[call-overload]
    frozen = dataclasses.make_dataclass(
        "Frozen",
        [(f.name, Any, _copy_field(f)) for f in dataclasses.fields(AuditRecord)],
        slots=True,
        kw_only=True,
        frozen=True,
    )
    frozen.to_wire = AuditRecord.to_wire  # type: ignore[attr-defined]

    extras = {
        f.name: getattr(ex.audit, f.name)
        for f in dataclasses.fields(ex.audit)
        if getattr(ex.audit, f.name) is not None
    }

    def as_dict() -> bytes:
        return orjson.dumps(dict_record(ex, extras), option=SORTED)

    def pydantic_dump(model: Any) -> bytes:
        d = model.model_dump()
        for n in optional:
            if d[n] is None:
                del d[n]
        if not d["extensions"]:
            del d["extensions"]
        return orjson.dumps(d, option=SORTED)

    return {
        "dict, as build_record was": as_dict,
        "AuditRecord: build_record + to_wire": lambda: orjson.dumps(
            build_record(ex).to_wire(), option=SORTED
        ),
        "AuditRecord from the same kwargs": lambda: orjson.dumps(
            AuditRecord(**kw).to_wire(), option=SORTED
        ),
        "the same, frozen=True": lambda: orjson.dumps(frozen(**kw).to_wire(), option=SORTED),
        "pydantic, validated": lambda: pydantic_dump(pmodel(**kw)),
        "pydantic, model_construct": lambda: pydantic_dump(pmodel.model_construct(**kw)),
    }


def dict_record(ex: Exchange, extras: dict[str, Any]) -> dict[str, Any]:
    """The record as ``build_record`` made it before :class:`AuditRecord` (for comparison)."""
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
        "request_sha256": extras.get("request_sha256"),
        "response_sha256": extras.get("response_sha256"),
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
        rec["skill"] = ex.skill
    for k, v in extras.items():
        if k not in ("request_sha256", "response_sha256"):
            rec[k] = v
    return rec


def _copy_field(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return dataclasses.field(default=f.default)
    return dataclasses.field(default_factory=f.default_factory)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.audit_record", description=__doc__)
    ap.add_argument("--rounds", type=int, default=25, help="best of this many rounds")
    args = ap.parse_args(argv)
    for name, ex in (("typical request", typical()), ("every fact set", every_fact())):
        cases = candidates(ex)
        stored = [orjson.loads(fn()) for fn in cases.values()]
        for rec in stored:
            rec.pop("latency_ms")  # build_record reads the time afresh
        assert all(rec == stored[0] for rec in stored), "the candidates must store the same JSON"
        print(f"{name}: CPU µs per record (build + orjson, sorted keys)")
        for label, fn in cases.items():
            t = timeit.repeat(fn, number=PER_ROUND, repeat=args.rounds, timer=time.process_time)
            print(f"  {label:38s} {min(t) / PER_ROUND * 1e6:7.2f}")


if __name__ == "__main__":
    main()
