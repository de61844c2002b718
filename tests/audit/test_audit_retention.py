"""Retention by age: a flood of records rotates files but deletes none younger than keep_days."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openclaw.audit import AuditLog
from openclaw.audit.verify import verify
from openclaw.config.loader import parse_model
from openclaw.config.schema import PoliciesFile

MakeRecord = Callable[..., dict[str, Any]]


def rotated(path: Path) -> list[Path]:
    return sorted(path.parent.glob("audit.log.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))


def test_keep_days_keeps_every_rotated_file_younger_than_the_limit(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path, max_bytes=2000, keep=2, keep_days=7)
    log.write(make_record(request_id="served", status=200))
    for i in range(80):  # a flood of refusals after one served request
        log.write(make_record(request_id=f"refused-{i}", status=401, service="unauthenticated"))
    log.close()
    files = rotated(log_path)
    assert len(files) > 2  # more than 'keep': age, not count, decides
    report = verify(log_path)
    assert report.ok and report.from_genesis and report.records == 81
    first = files[-1].read_bytes().splitlines()[0]
    assert b'"request_id":"served"' in first


def test_keep_days_deletes_rotated_files_older_than_the_limit(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path, max_bytes=2000, keep_days=1)
    for i in range(30):
        log.write(make_record(request_id=f"r{i}"))
    old = rotated(log_path)
    assert old
    two_days_ago = time.time() - 2 * 86400
    for p in old:
        os.utime(p, (two_days_ago, two_days_ago))
    for i in range(30, 45):
        log.write(make_record(request_id=f"r{i}"))
    log.close()
    kept = rotated(log_path)
    assert all(p.stat().st_mtime > two_days_ago + 3600 for p in kept)
    report = verify(log_path)
    assert report.ok and not report.from_genesis  # the oldest were let go, the rest chain


def test_keep_counts_rotated_files_by_default(log_path: Path, make_record: MakeRecord) -> None:
    log = AuditLog(log_path, max_bytes=2000, keep=3)
    for i in range(60):
        log.write(make_record(request_id=f"r{i}"))
    log.close()
    assert [p.name for p in rotated(log_path)] == ["audit.log.1", "audit.log.2", "audit.log.3"]


def test_policies_yaml_takes_keep_days_and_an_anchor_key_reference() -> None:
    text = 'audit:\n  max_bytes: 10485760\n  keep_days: 30\n  anchor_key: "${AUDIT_ANCHOR_KEY}"\n'
    audit = parse_model(text, PoliciesFile, "policies.yaml").audit
    assert audit.keep_days == 30 and audit.anchor_key == "${AUDIT_ANCHOR_KEY}"
