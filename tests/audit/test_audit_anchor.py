"""The anchor: a cut tail or a replaced log is caught, and says how many records are missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from openclaw.audit import AuditLog
from openclaw.audit.anchor import AnchorError, anchor_path, read_anchor
from openclaw.audit.verify import verify
from openclaw.cli.audit import cli

WriteLog = Callable[..., list[dict[str, Any]]]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_the_anchor_names_the_newest_record(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=3)
    last = orjson.loads(log_path.read_bytes().splitlines()[-1])
    anchor = read_anchor(anchor_path(log_path))
    assert anchor is not None
    assert (anchor.seq, anchor.head, anchor.keyed) == (3, last["hash"], False)


def test_verify_reports_how_many_records_a_cut_tail_took(
    log_path: Path, write_log: WriteLog
) -> None:
    write_log(n=10)
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join(lines[:7]))  # the chain that is left is itself valid
    assert verify(log_path).ok  # without the anchor, nothing shows
    result = run("verify", "--anchor")
    assert result.exit_code == 1
    assert f"{log_path}:8: the log ends at record #7" in result.output
    assert "3 record(s) missing from the end" in result.output
    assert "missing: 3 record(s)" in result.output


def test_verify_checks_the_anchor_whenever_it_exists(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=4)
    log_path.write_bytes(b"".join(log_path.read_bytes().splitlines(keepends=True)[:2]))
    assert run("verify").exit_code == 1


def test_verify_catches_a_log_replaced_by_a_fresh_valid_chain(
    log_path: Path, write_log: WriteLog, make_record: Callable[..., dict[str, Any]]
) -> None:
    write_log(n=5)
    saved = anchor_path(log_path).read_bytes()
    log_path.unlink()
    forged = AuditLog(log_path)
    for i in range(8):  # longer than the real one, so no record is "missing"
        forged.write(make_record(request_id=f"forged-{i}"))
    forged.close()
    anchor_path(log_path).write_bytes(saved)  # e.g. the copy kept elsewhere, or a keyed one
    result = run("verify", "--anchor")
    assert result.exit_code == 1
    assert f"{log_path}:5: record #5 is not the one the anchor" in result.output
    assert "the log was replaced or rewritten" in result.output


def test_a_deleted_log_with_its_anchor_left_is_not_reported_as_fine(
    log_path: Path, write_log: WriteLog
) -> None:
    write_log(n=2)
    log_path.unlink()
    result = run("verify")
    assert result.exit_code == 1 and "2 record(s) missing from the end" in result.output


def test_an_intact_log_passes_with_the_anchor(log_path: Path, write_log: WriteLog) -> None:
    write_log(n=6, max_bytes=2000, keep=10)
    result = run("verify", "--anchor")
    assert result.exit_code == 0, result.output
    assert "anchor: record #6" in result.output and "missing: 0" in result.output


def test_verify_anchor_fails_when_there_is_no_anchor(tmp_path: Path) -> None:
    result = run("verify", "--anchor", "--file", str(tmp_path / "x.log"))
    assert result.exit_code == 1 and "no anchor file" in result.output


def test_an_anchor_kept_elsewhere_can_be_given(
    log_path: Path, write_log: WriteLog, tmp_path: Path
) -> None:
    write_log(n=4)
    copy = tmp_path / "offsite.anchor"
    copy.write_bytes(anchor_path(log_path).read_bytes())
    write_log(n=1)
    anchor_path(log_path).unlink()
    log_path.write_bytes(b"".join(log_path.read_bytes().splitlines(keepends=True)[:3]))
    result = run("verify", "--anchor", str(copy))
    assert result.exit_code == 1 and "1 record(s) missing" in result.output


# -- the HMAC key ----------------------------------------------------------------------


@pytest.fixture
def keyed(openclaw_home: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("OPENCLAW_TEST_ANCHOR_KEY", "k3y-outside-the-audit-dir")
    (openclaw_home / "policies.yaml").write_text(
        'audit:\n  anchor_key: "${OPENCLAW_TEST_ANCHOR_KEY}"\n'
    )
    return b"k3y-outside-the-audit-dir"


def test_a_keyed_anchor_verifies_and_a_forged_one_does_not(
    log_path: Path, keyed: bytes, make_record: Callable[..., dict[str, Any]]
) -> None:
    log = AuditLog(log_path, anchor_key=keyed)
    for i in range(3):
        log.write(make_record(request_id=f"r{i}"))
    log.close()
    ok = run("verify", "--anchor")
    assert ok.exit_code == 0 and "HMAC checked" in ok.output

    # Someone rewrites the log and an anchor to match it, without the key.
    log_path.unlink()
    anchor_path(log_path).unlink()
    forged = AuditLog(log_path)
    forged.write(make_record(request_id="forged"))
    forged.close()
    bad = run("verify", "--anchor")
    assert bad.exit_code == 1 and "carries no HMAC although audit.anchor_key is set" in bad.output

    data = orjson.loads(anchor_path(log_path).read_bytes())
    data["hmac"] = "0" * 64
    anchor_path(log_path).write_bytes(orjson.dumps(data))
    with pytest.raises(AnchorError, match="HMAC does not match"):
        read_anchor(anchor_path(log_path), keyed)


def test_the_writer_built_from_settings_keys_its_anchor(
    openclaw_home: Path, keyed: bytes, make_record: Callable[..., dict[str, Any]]
) -> None:
    from openclaw.config import load_config

    (openclaw_home / "models.yaml").write_text("models:\n  m: {provider: mock, model: x}\n")
    settings = load_config(openclaw_home).policies.audit
    log = AuditLog.from_settings(openclaw_home / "audit.log", settings)
    log.write(make_record())
    log.close()
    anchor = read_anchor(anchor_path(openclaw_home / "audit.log"), keyed)
    assert anchor is not None and anchor.keyed and anchor.seq == 1
