"""What ``gateway status`` shows about services, limits, budgets, the cache and shared state.

:func:`limits_status` runs inside the daemon (it reads bucket levels and budgets from the
state backend, and never raises: a status page must not fail on a Redis outage);
:func:`status_lines` renders it for the human ``gateway status``.
"""

from __future__ import annotations

import logging
from typing import Any

from openclaw.assembly import Assembly
from openclaw.cache.stage import CacheStage
from openclaw.limits import plan
from openclaw.limits.ipfilter import ip_filter
from openclaw.limits.stage import LimitsStage, UpstreamQuota
from openclaw.state.base import StateUnavailable

log = logging.getLogger("openclaw.limits")


async def limits_status(parts: Assembly) -> dict[str, Any]:
    try:
        return await _collect(parts)
    except Exception as exc:  # a status page must never fail on the limits section
        log.exception("could not collect limits status")
        return {"error": f"{type(exc).__name__}: {exc}"}


async def _collect(parts: Assembly) -> dict[str, Any]:
    gw = parts.gateway
    cfg = gw.config
    pol = cfg.policies
    state = gw.state
    out: dict[str, Any] = {"state": await state.status()}
    backend = state.backend_for("limits")
    limits = next((s for s in gw.stages if isinstance(s, LimitsStage)), None)
    cache = next((s for s in gw.stages if isinstance(s, CacheStage)), None)
    quota = next((g for g in parts.dispatcher.gates if isinstance(g, UpstreamQuota)), None)

    registry = parts.services
    stored = registry.stored()
    services: dict[str, Any] = {}
    for svc in pol.services:
        entry: dict[str, Any] = {
            "token": svc.token.describe() if svc.token else None,
            "stored_tokens": len(stored.get(svc.name, [])),
            **plan.service_summary(svc),
        }
        if svc.max_concurrent is not None:
            entry["in_flight"] = await _safe(backend.in_flight(f"service:{svc.name}:concurrency"))
        if svc.budget is not None:
            spent = await _safe(state.backend_for("budgets").spent(plan.budget_key(svc.name)))
            if isinstance(spent, tuple):
                entry["spent_today"] = {"usd": round(spent[0], 6), "tokens": spent[1]}
        services[svc.name] = entry
    for name, tokens in stored.items():
        services.setdefault(name, {"token": None, "stored_tokens": len(tokens)})
    out["services"] = services
    if registry.unset:
        out["services_without_token"] = registry.unset

    buckets = list(limits.buckets()) if limits is not None else []
    if quota is not None:
        buckets += list(quota.buckets.values())
    levels = await _safe(backend.levels(buckets))
    out["buckets"] = {
        b.key: {
            "capacity": b.capacity,
            "per_minute": round(b.rate * 60, 3),
            "available": round(levels[i], 2) if isinstance(levels, list) else None,
        }
        for i, b in enumerate(buckets)
    }
    refused: dict[str, int] = {}
    if limits is not None:
        refused.update(limits.refused)
        out["queue_waiting"] = limits.waiting
        if limits.downgraded:
            out["budget_downgrades"] = dict(limits.downgraded)
    if quota is not None:
        refused.update(quota.refused)
    out["refused"] = refused
    if cache is not None:
        c = cache.status()
        c["entries"] = await _safe(state.backend_for("cache").cache_size())
        out["cache"] = c
    sec = pol.security
    if sec.ip_allow or sec.ip_deny:
        out["ip_lists"] = ip_filter(tuple(sec.ip_allow), tuple(sec.ip_deny)).status()
    return out


async def _safe(aw: Any) -> Any:
    try:
        return await aw
    except StateUnavailable:
        return None


def status_lines(data: dict[str, Any] | None) -> list[str]:
    """A few lines for the human ``gateway status``."""
    if not data:
        return []
    if "error" in data:
        return [f"limits: status unavailable ({data['error']})"]
    lines = []
    st = data.get("state") or {}
    where = st.get("backend", "memory")
    if st.get("url"):
        where += f" at {st['url']}"
        if st.get("reachable") is False:
            where += " [red](unreachable)[/]"
    lines.append(f"state: {where}")
    svcs = data.get("services") or {}
    if svcs:
        parts = []
        for name, s in svcs.items():
            p = name
            spent = s.get("spent_today")
            if spent:
                p += f" (today ${spent['usd']:.4f}, {spent['tokens']} tokens)"
            parts.append(p)
        lines.append("services: " + ", ".join(parts))
    refused = data.get("refused") or {}
    if refused:
        lines.append("refused: " + ", ".join(f"{k} {v}" for k, v in sorted(refused.items())))
    c = data.get("cache")
    if c:
        lines.append(
            f"cache: {c.get('entries') or 0} entries, {c['hits']} hits, {c['misses']} misses, "
            f"{c['deduplicated']} deduplicated"
        )
    ips = data.get("ip_lists")
    if ips:
        lines.append(
            f"ip lists: allow {len(ips['allow'])}, deny {len(ips['deny'])}, "
            f"refused {ips['refused']}"
        )
    return lines
