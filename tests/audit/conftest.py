"""Fixtures for the audit tests: the log path under ``OPENCLAW_HOME`` and record builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openclaw.audit import AuditLog

PII_RULE = "if_context_contains_pii_use_sensitive_model"


def _record(**fields: Any) -> dict[str, Any]:
    """A record shaped like the pipeline's, with every field the issue asks for."""
    rec: dict[str, Any] = {
        "ts": "2025-01-31T12:00:00.000Z",
        "request_id": "req-1",
        "service": "billing",
        "channel": None,
        "task": "summarize",
        "model": "fast",
        "provider": "openai",
        "provider_model": "gpt-4o-mini",
        "status": 200,
        "error": None,
        "latency_ms": 120.5,
        "ttft_ms": None,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_usd": 0.0001,
        "request_sha256": "a" * 64,
        "response_sha256": "b" * 64,
        "policies": [],
        "draft": False,
        "attempts": [{"deployment": "openai-1", "provider": "openai", "outcome": "ok"}],
    }
    rec.update(fields)
    return rec


def _pii_decision(outcome: str = "applied") -> dict[str, Any]:
    return {
        "policy": "pii-local",
        "rule": PII_RULE,
        "outcome": outcome,
        "enforce": outcome == "applied",
        "entities": ["EMAIL_ADDRESS"],
        "model_before": "fast",
        "model_after": "local",
    }


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return _record


@pytest.fixture
def pii_decision() -> Callable[..., dict[str, Any]]:
    return _pii_decision


@pytest.fixture
def log_path(openclaw_home: Path) -> Path:
    return openclaw_home / "audit.log"


@pytest.fixture
def write_log(log_path: Path) -> Callable[..., list[dict[str, Any]]]:
    """Write records (default: n plain ones) to the default log; returns what was written."""

    def write(
        records: list[dict[str, Any]] | None = None,
        *,
        n: int = 5,
        max_bytes: int = 50 * 1024 * 1024,
        keep: int = 5,
    ) -> list[dict[str, Any]]:
        recs = (
            records if records is not None else [_record(request_id=f"req-{i}") for i in range(n)]
        )
        log = AuditLog(log_path, max_bytes=max_bytes, keep=keep)
        try:
            for rec in recs:
                log.write(rec)
        finally:
            log.close()
        return recs

    return write
