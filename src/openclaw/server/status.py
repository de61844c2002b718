"""What ``gateway status`` shows, gathered inside the daemon (``GET /v1/openclaw/status``).

Secrets are described, never shown: a key appears as ``${OPENAI_API_KEY} (set)``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from openclaw import __version__
from openclaw.server.state import AppState


async def _probe(name: str, prov: Any) -> tuple[str, dict[str, Any]]:
    try:
        ok, detail = await asyncio.wait_for(prov.health(), timeout=3.0)
    except Exception as exc:  # a status page must never fail on one bad upstream
        ok, detail = False, type(exc).__name__
    return name, {**prov.describe(), "reachable": ok, "detail": detail}


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
    }
