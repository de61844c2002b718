"""What ``gateway status`` shows, gathered inside the daemon (``GET /v1/openclaw/status``).

Secrets are described, never shown: a key appears as ``${OPENAI_API_KEY} (set)``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from openclaw import __version__
from openclaw.audit.reader import parse_line, reverse_lines
from openclaw.audit.record import AuditRecord, log_files, record_time
from openclaw.server.limits_status import limits_status
from openclaw.server.state import AppState

#: ``gateway status`` shows requests and errors over this many seconds.
RECENT_WINDOW = 300.0
#: Records are appended when a request ends; one that began up to this long before a newer
#: one may follow it in the file, so reading backwards stops only this far past the window.
_LATE_RECORD_SLACK = 120.0
_RECENT_SCAN_LIMIT = 200_000


async def _probe(name: str, prov: Any) -> tuple[str, dict[str, Any]]:
    try:
        ok, detail = await asyncio.wait_for(prov.health(), timeout=3.0)
    except Exception as exc:  # a status page must never fail on one bad upstream
        ok, detail = False, type(exc).__name__
    return name, {**prov.describe(), "reachable": ok, "detail": detail}


def recent_activity(
    path: Path, window: float = RECENT_WINDOW, now: float | None = None
) -> dict[str, Any]:
    """Requests and errors in the last ``window`` seconds, read backwards from the log's end.

    Read from the audit log rather than counted in memory, so the figure survives a restart
    and counts what was really recorded. Reading is bounded: files last written before the
    window are not opened, and a very busy log stops after ``_RECENT_SCAN_LIMIT`` lines
    (``partial`` says so).
    """
    since = (time.time() if now is None else now) - window
    out: dict[str, Any] = {"window_seconds": window, "requests": 0, "errors": 0}
    scanned = 0
    for p in reversed(log_files(path)):
        try:
            if p.stat().st_mtime < since:
                break  # written before the window: it and older files hold nothing newer
            f = p.open("rb")
        except OSError:
            continue
        with f:
            for raw in reverse_lines(f):
                scanned += 1
                if scanned > _RECENT_SCAN_LIMIT:
                    out["partial"] = True
                    return out
                rec = parse_line(raw)
                t = record_time(rec) if rec is not None and "request_id" in rec else None
                if rec is None or t is None:
                    continue
                ts = t.timestamp()
                if ts < since - _LATE_RECORD_SLACK:
                    return out
                if ts >= since:
                    out["requests"] += 1
                    typed = AuditRecord.from_wire(rec)
                    if typed.error or (typed.status is not None and typed.status >= 400):
                        out["errors"] += 1
    return out


async def _recent(path: Path) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(recent_activity, path)
    except Exception as exc:  # a status page must never fail on an unreadable log
        return {"window_seconds": RECENT_WINDOW, "error": type(exc).__name__}


async def collect_status(st: AppState) -> dict[str, Any]:
    gw = st.gateway
    cfg = st.config
    probes = await asyncio.gather(*(_probe(n, p) for n, p in gw.providers.items()))
    providers = dict(probes)
    breakers = gw.dispatcher.breakers.snapshot()
    models = {}
    for alias, spec in cfg.models.models.items():
        models[alias] = {
            "strategy": spec.strategy,
            "use_for": spec.use_for,
            "fallbacks": spec.fallbacks,
            "default": alias == cfg.default_alias,
            "deployments": [
                {
                    "provider": d.provider,
                    "model": d.model,
                    "breaker": breakers.get(f"{d.provider}/{d.model}", {}).get("state", "closed"),
                    "reachable": providers.get(d.provider, {}).get("reachable"),
                }
                for d in spec.deployments
            ],
        }
    only_mock = bool(gw.providers) and all(p.type == "mock" for p in gw.providers.values())
    policy_status: dict[str, Any] = {}
    for stage in gw.stages:
        for r in getattr(stage, "rules", []):
            policy_status.update(r.status())
    audit_path = gw.audit.path
    try:
        audit_size = os.path.getsize(audit_path)
    except OSError:
        audit_size = 0
    return {
        "version": __version__,
        "pid": os.getpid(),
        "started": st.started,
        "uptime_seconds": round(time.time() - st.started, 1),
        "address": f"http://{st.host}:{st.port}",
        "auth": "bearer token" if st.auth else "off",
        "home": str(st.home),
        "config_files": {
            name: (st.home / name).exists()
            for name in ("models.yaml", "policies.yaml", "channels.yaml")
        },
        "last_reload": st.last_reload.to_dict() if st.last_reload else None,
        "default_model": cfg.default_alias,
        "models": models,
        "providers": providers,
        "mock_only": only_mock,
        "policies": [
            {"name": p.name, "rule": p.rule, "enforce": p.enforce} for p in cfg.policies.policies
        ],
        "pii": policy_status.get("pii_mode"),
        "pii_note": policy_status.get("pii_note"),
        "audit": {"path": str(audit_path), "bytes": audit_size, "last_error": gw.audit.last_error},
        # Who started this process: set by the service units and by `gateway start`.
        "service_manager": os.environ.get("OPENCLAW_SERVICE_MANAGER") or "foreground",
        "recent": await _recent(Path(audit_path)),
        "limits": await limits_status(st.assembly),
    }
