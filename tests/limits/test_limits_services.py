"""Service identity: a service's token names it, and it cannot claim to be another."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from limits_helpers import BILLING_TOKEN, MODELS, SUPPORT_TOKEN, call, last_record

from harness import Served, serve_gateway
from openclaw.assembly import build_gateway
from openclaw.cli import main
from openclaw.config import load_config
from openclaw.errors import ConfigError

SERVICES = """\
services:
  - name: billing
    token: "${SVC_BILLING_TOKEN}"
    deny_models: [sensitive]
  - name: support
    token: "${SVC_SUPPORT_TOKEN}"
    allow_models: [cheap, "gen*"]
  - name: reports
"""


@pytest.fixture
async def gw(openclaw_home: Path, monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setenv("SVC_BILLING_TOKEN", BILLING_TOKEN)
    monkeypatch.setenv("SVC_SUPPORT_TOKEN", SUPPORT_TOKEN)
    served = await serve_gateway(openclaw_home, models=MODELS, policies=SERVICES)
    yield served
    await served.close()


async def test_a_service_token_identifies_its_service(gw: Served) -> None:
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 200
    rec = last_record(gw)
    assert rec["service"] == "billing"
    assert rec["auth"] == "service_token"


async def test_a_service_token_may_repeat_its_own_name(gw: Served) -> None:
    r = await call(gw, BILLING_TOKEN, headers={"X-OpenClaw-Service": "billing"})
    assert r.status == 200


async def test_a_spoofed_service_header_is_refused_and_audited(gw: Served) -> None:
    r = await call(gw, BILLING_TOKEN, headers={"X-OpenClaw-Service": "support"})
    assert r.status == 403
    assert r.code == "service_mismatch"
    assert "billing" in r.body["error"]["message"]
    rec = last_record(gw)
    assert rec["service"] == "billing"
    assert rec["claimed_service"] == "support"
    assert rec["status"] == 403


async def test_the_gateway_token_is_admin_and_may_name_any_service(gw: Served) -> None:
    r = await call(gw, headers={"X-OpenClaw-Service": "support"})
    assert r.status == 200
    rec = last_record(gw)
    assert rec["service"] == "support"
    assert "auth" not in rec
    r = await call(gw)
    assert r.status == 200 and last_record(gw)["service"] == "default"


async def test_an_unknown_token_is_refused(gw: Served) -> None:
    r = await call(gw, "ocs_not_a_real_token")
    assert r.status == 401
    assert r.code == "invalid_api_key"


async def test_a_service_token_cannot_call_admin_routes(gw: Served) -> None:
    async with httpx.AsyncClient(base_url=gw.base) as c:
        r = await c.get("/v1/openclaw/status", headers={"Authorization": f"Bearer {BILLING_TOKEN}"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "gateway_token_required"
        r = await c.get("/v1/models", headers={"Authorization": f"Bearer {BILLING_TOKEN}"})
        assert r.status_code == 200


async def test_deny_models_refuses_a_model(gw: Served) -> None:
    r = await call(gw, BILLING_TOKEN, model="sensitive")
    assert r.status == 403
    assert r.code == "model_not_allowed"
    assert r.body["error"]["param"] == "model"
    assert (await call(gw, BILLING_TOKEN, model="cheap")).status == 200


async def test_allow_models_admits_only_the_listed_models_and_globs(gw: Served) -> None:
    assert (await call(gw, SUPPORT_TOKEN, model="cheap")).status == 200
    assert (await call(gw, SUPPORT_TOKEN, model="general")).status == 200  # gen*
    r = await call(gw, SUPPORT_TOKEN, model="sensitive")
    assert r.status == 403 and r.code == "model_not_allowed"


async def test_allow_models_applies_to_an_admin_acting_as_the_service(gw: Served) -> None:
    r = await call(gw, model="sensitive", headers={"X-OpenClaw-Service": "support"})
    assert r.status == 403 and r.code == "model_not_allowed"


async def test_stored_tokens_add_rotate_and_remove(gw: Served, openclaw_home: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(main, ["service", "add", "reports"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    assert token.startswith("ocs_")
    stored = (openclaw_home / "services.json").read_text()
    assert token not in stored  # only the hash is kept
    assert (openclaw_home / "services.json").stat().st_mode & 0o777 == 0o600

    assert (await call(gw, token)).status == 200
    assert last_record(gw)["service"] == "reports"

    again = runner.invoke(main, ["service", "add", "reports"])
    assert again.exit_code != 0 and "rotate" in again.output

    rotated = runner.invoke(main, ["service", "rotate", "reports", "--grace", "1h"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new != token
    assert (await call(gw, new)).status == 200
    assert (await call(gw, token)).status == 200  # inside the grace window

    rotated = runner.invoke(main, ["service", "rotate", "reports", "--grace", "0"])
    newest = rotated.stdout.strip()
    assert (await call(gw, newest)).status == 200
    # No grace: every earlier token ends now (an emergency rotation), the first one too.
    assert (await call(gw, new)).status == 401
    assert (await call(gw, token)).status == 401

    removed = runner.invoke(main, ["service", "remove", "reports"])
    assert removed.exit_code == 0
    assert (await call(gw, newest)).status == 401


def test_service_list_shows_sources_and_limits_but_no_token_values(
    gw: Served, openclaw_home: Path
) -> None:
    runner = CliRunner()
    token = runner.invoke(main, ["service", "add", "adhoc"]).stdout.strip()
    out = runner.invoke(main, ["service", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["billing"]["token_ref"] == "${SVC_BILLING_TOKEN} (set)"
    assert rows["billing"]["limits"] == {"deny_models": ["sensitive"]}
    assert rows["adhoc"]["in_policies_yaml"] is False
    assert len(rows["adhoc"]["stored_tokens"]) == 1
    assert BILLING_TOKEN not in out.stdout and token not in out.stdout
    human = runner.invoke(main, ["service", "list"])
    assert human.exit_code == 0 and "billing" in human.stdout


def test_service_cli_has_help_for_every_command() -> None:
    runner = CliRunner()
    for sub in ("list", "add", "rotate", "remove"):
        r = runner.invoke(main, ["service", sub, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_service_cli_refuses_a_bad_name_and_a_bad_grace() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["service", "add", "no spaces"]).exit_code == 2
    runner.invoke(main, ["service", "add", "ok"])
    r = runner.invoke(main, ["service", "rotate", "ok", "--grace", "soon"])
    assert r.exit_code == 2 and "duration" in r.output
    r = runner.invoke(main, ["service", "rotate", "nobody"])
    assert r.exit_code == 1 and "service add" in r.output


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ("services:\n  - name: a\n    allow_models: [genral]\n", "'genral' is not a model alias"),
        (
            "services:\n  - name: a\n    budget: {usd_per_day: 1, on_exceed: 'downgrade:nope'}\n",
            "'nope' is not a model alias",
        ),
        ("limits:\n  models:\n    nope: {requests_per_minute: 1}\n", "limits.models.nope"),
        ("services:\n  - name: a\n    budget: {on_exceed: block}\n", "usd_per_day or"),
        (
            "services:\n  - name: a\n    deny_models: [cheap]\n"
            "    budget: {usd_per_day: 1, on_exceed: 'downgrade:cheap'}\n",
            "may not use 'cheap'",
        ),
        (
            "services:\n  - name: a\n    allow_models: [general]\n"
            "    budget: {usd_per_day: 1, on_exceed: 'downgrade:cheap'}\n",
            "may not use 'cheap'",
        ),
    ],
)
def test_names_that_must_be_model_aliases_are_checked_at_load(
    openclaw_home: Path, policies: str, message: str
) -> None:
    (openclaw_home / "models.yaml").write_text(MODELS)
    (openclaw_home / "policies.yaml").write_text(policies)
    with pytest.raises(ConfigError, match=message):
        build_gateway(load_config(openclaw_home))


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ("services:\n  - name: a\n  - name: a\n", "must be unique"),
        ("services:\n  - name: a\n    token: plaintext\n", "environment reference"),
        ("services:\n  - name: 'bad name'\n", "service name"),
        ("services:\n  - name: a\n    budget: {usd_per_day: 1, on_exceed: panic}\n", "on_exceed"),
        ("services:\n  - name: a\n    rate_limit: {requests_per_minute: 0}\n", "greater than"),
        ("security:\n  ip_allow: [10.0.0.0/33]\n", "not an IP address or CIDR"),
        ("state:\n  backend: redis\n", "needs url"),
        ("state:\n  backend: redis\n  url: 'redis://:hunter2@localhost'\n", "state.password"),
        ("limits:\n  globl: {requests_per_minute: 1}\n", "did you mean 'global'"),
        ("cache:\n  ttl_second: 5\n", "did you mean 'ttl_seconds'"),
    ],
)
def test_bad_limits_config_is_refused_with_a_reason(
    openclaw_home: Path, policies: str, message: str
) -> None:
    (openclaw_home / "models.yaml").write_text(MODELS)
    (openclaw_home / "policies.yaml").write_text(policies)
    with pytest.raises(ConfigError, match=message):
        load_config(openclaw_home)
