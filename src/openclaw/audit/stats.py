"""Figures over audit records: requests, errors, tokens, cost, latency, PII reroutes, drafts.

Definitions, so a hand count matches:

* an *error* is a record with ``status >= 400``;
* *tokens* are ``prompt_tokens`` and ``completion_tokens`` summed, missing counting as 0;
* *p50/p95* are nearest-rank percentiles of ``latency_ms`` over records that have one:
  the smallest value with at least that share of values at or below it;
* a *PII reroute* is a record whose ``policies`` hold a decision of rule
  ``if_context_contains_pii_use_sensitive_model`` with outcome ``applied``;
* a *draft* is a record with ``draft: true``.

Grouping is by ``service``, ``model``, ``provider`` or ``task``; a record without that field
falls in the group ``-``. Records are read through :class:`~openclaw.audit.record.AuditRecord`,
so a field holding the wrong JSON type counts as missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openclaw.audit.record import PII_RULE, AuditRecord

__all__ = ["GROUP_FIELDS", "Stats", "compute", "percentile"]

GROUP_FIELDS = ("service", "model", "provider", "task", "api")
NO_GROUP = "-"


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values; ``None`` when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _number(value: float | None) -> float:
    if value is not None and math.isfinite(value):
        return float(value)
    return 0.0


def is_pii_reroute(rec: AuditRecord) -> bool:
    return any(
        isinstance(d, dict) and d.get("rule") == PII_RULE and d.get("outcome") == "applied"
        for d in rec.policies
    )


@dataclass(slots=True)
class Stats:
    """The figures for one group (or for all records)."""

    key: str
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # served with no known price: cost_usd null, not in cost_usd
    pii_reroutes: int = 0
    drafts: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)

    def add(self, rec: AuditRecord) -> None:
        self.requests += 1
        if rec.status is not None and rec.status >= 400:
            self.errors += 1
        self.prompt_tokens += int(_number(rec.prompt_tokens))
        self.completion_tokens += int(_number(rec.completion_tokens))
        if rec.cost_usd is None:
            self.unpriced += rec.provider is not None and (rec.status or 0) < 400
        else:
            self.cost_usd += _number(rec.cost_usd)
        if rec.latency_ms is not None:
            self.latencies.append(float(rec.latency_ms))
        if is_pii_reroute(rec):
            self.pii_reroutes += 1
        if rec.draft:
            self.drafts += 1

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def latency(self, pct: float) -> float | None:
        self.latencies.sort()
        return percentile(self.latencies, pct)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "requests": self.requests,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
            "unpriced_requests": self.unpriced,
            "p50_latency_ms": self.latency(50),
            "p95_latency_ms": self.latency(95),
            "pii_reroutes": self.pii_reroutes,
            "drafts": self.drafts,
        }


def compute(
    records: Iterable[AuditRecord | Mapping[str, Any]], by: str | None = None
) -> tuple[list[Stats], Stats]:
    """(per-group figures, largest group first; figures over all records).

    Stored JSON objects are read as :class:`AuditRecord` first.
    """
    if by is not None and by not in GROUP_FIELDS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUP_FIELDS)}")
    total = Stats("total")
    groups: dict[str, Stats] = {}
    for item in records:
        rec = item if isinstance(item, AuditRecord) else AuditRecord.from_wire(item)
        total.add(rec)
        if by is not None:
            value = getattr(rec, by)
            if by == "api" and value is None:
                value = "chat"  # records written before the field existed were all chat
            key = NO_GROUP if value is None or value == "" else str(value)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Stats(key)
            group.add(rec)
    ordered = sorted(groups.values(), key=lambda s: (-s.requests, s.key))
    return ordered, total
