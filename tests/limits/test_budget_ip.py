"""Daily budgets (block and downgrade) and the IP allow/deny lists, with the memory backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from limits_helpers import BILLING_TOKEN, MODELS, call, last_record, sdk, status

from harness import Served
from openclaw.config import load_config
from openclaw.errors import ConfigError
from openclaw.limits.ipfilter import IpFilter
from openclaw.pipeline.stage import EventRelay
from openclaw.server.limits_status import limits_status

# MODELS prices `general` at $1 a token, so one request spends dollars; `cheap` is free.


def budget(spec: str, extra: str = "") -> str:
    return (
        'services:\n  - name: billing\n    token: "${SVC_BILLING_TOKEN}"\n'
        f"    budget: {spec}\n" + extra
    )


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        EventRelay, "emit", lambda self, kind, data=None, key=None: seen.append((kind, data or {}))
    )
    return seen


async def metrics_text(served: Served) -> str:
    async with httpx.AsyncClient(base_url=served.base, headers=served.auth) as c:
        r = await c.get("/metrics")
        r.raise_for_status()
        return r.text


# -- budgets: block ----------------------------------------------------------------------


async def test_a_spent_usd_budget_blocks_with_429_budget_exceeded_until_midnight(
    serve: Any, events: list[tuple[str, dict[str, Any]]]
) -> None:
    gw = await serve(budget("{usd_per_day: 0.5, on_exceed: block}"))
    first = await call(gw, BILLING_TOKEN)
    assert first.status == 200  # nothing spent yet: the check is before the call
    spent = last_record(gw)
    assert spent["cost_usd"] > 0.5
    assert spent["limits"]["charged_usd"] == spent["cost_usd"]

    r = await call(gw, BILLING_TOKEN)
    assert r.status == 429
    assert r.code == "budget_exceeded"
    assert r.body["error"]["type"] == "rate_limit_error"
    msg = r.body["error"]["message"]
    assert "daily budget of service 'billing' is spent" in msg and "00:00 UTC" in msg
    assert 1 <= int(r.headers["retry-after"]) <= 86401  # seconds to the next UTC midnight
    assert r.headers["x-openclaw-limit"] == "budget:billing:usd_per_day"

    rec = last_record(gw)
    assert rec["status"] == 429 and rec["error"]["code"] == "budget_exceeded"
    assert rec["limit"] == "budget:billing:usd_per_day"
    assert rec["provider"] is None  # no upstream was called
    assert rec["budget"] == {
        "service": "billing",
        "exceeded": "usd_per_day",
        "spent_usd": round(spent["cost_usd"], 6),
        "spent_tokens": spent["limits"]["charged_tokens"],
        "usd_per_day": 0.5,
        "tokens_per_day": None,
        "action": "block",
    }
    assert [k for k, _ in events] == ["budget_exceeded"]
    assert events[0][1]["action"] == "block" and events[0][1]["request_id"] == rec["request_id"]

    # other callers have budgets of their own (none here)
    assert (await call(gw)).status == 200


async def test_a_spent_token_budget_blocks_and_the_sdk_sees_a_rate_limit_error(
    serve: Any,
) -> None:
    gw = await serve(budget("{tokens_per_day: 5}"))
    assert (
        await call(gw, BILLING_TOKEN, model="cheap", content="one two three four")
    ).status == 200
    charged = last_record(gw)["limits"]["charged_tokens"]
    assert charged >= 5

    client = sdk(gw, BILLING_TOKEN)
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(
            model="cheap",
            messages=[{"role": "user", "content": "hi"}],
        )
    await client.close()
    assert info.value.code == "budget_exceeded"
    assert info.value.response.headers["x-openclaw-limit"] == "budget:billing:tokens_per_day"
    assert f"{charged} of 5 tokens" in info.value.message
    rec = last_record(gw)
    assert rec["budget"]["exceeded"] == "tokens_per_day"
    assert rec["budget"]["spent_tokens"] == charged
    assert rec["budget"]["action"] == "block"


async def test_a_budget_block_shows_in_metrics_and_status(serve: Any) -> None:
    gw = await serve(budget("{usd_per_day: 0.5}"))
    await call(gw, BILLING_TOKEN)
    assert (await call(gw, BILLING_TOKEN)).status == 429
    assert (await call(gw, BILLING_TOKEN)).status == 429
    text = await metrics_text(gw)
    assert 'openclaw_rate_limit_blocked_total{limit_id="budget:billing:usd_per_day"} 2.0' in text
    lim = (await status(gw))["limits"]
    assert lim["refused"] == {"budget:billing:usd_per_day": 2}
    billing = lim["services"]["billing"]
    assert billing["budget"] == {"usd_per_day": 0.5, "on_exceed": "block"}
    assert billing["spent_today"]["usd"] > 0.5
    assert billing["spent_today"]["tokens"] > 0


async def test_a_config_reload_keeps_todays_spending(serve: Any, openclaw_home: Path) -> None:
    gw = await serve(budget("{usd_per_day: 0.5}"))
    await call(gw, BILLING_TOKEN)
    assert (await call(gw, BILLING_TOKEN)).status == 429
    # a new budget of the same size, with another service beside it: the ledger stays
    (openclaw_home / "policies.yaml").write_text(
        budget("{usd_per_day: 0.5}", "  - name: reports\n    budget: {usd_per_day: 0.5}\n")
    )
    assert (await gw.state.reload("test")).ok
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 429 and r.code == "budget_exceeded"
    # raising the budget above what was spent lets the service through again
    (openclaw_home / "policies.yaml").write_text(budget("{usd_per_day: 1000}"))
    assert (await gw.state.reload("test")).ok
    assert (await call(gw, BILLING_TOKEN)).status == 200


# -- budgets: downgrade ------------------------------------------------------------------


async def test_a_spent_budget_with_downgrade_routes_to_the_cheaper_alias(
    serve: Any, events: list[tuple[str, dict[str, Any]]]
) -> None:
    gw = await serve(budget("{usd_per_day: 0.5, on_exceed: 'downgrade:cheap'}"))
    r = await call(gw, BILLING_TOKEN)
    assert r.status == 200
    assert r.headers["x-openclaw-model"] == "general"
    assert "x-openclaw-budget" not in r.headers
    assert "budget" not in last_record(gw)

    r = await call(gw, BILLING_TOKEN)
    assert r.status == 200
    assert r.headers["x-openclaw-model"] == "cheap"
    assert r.headers["x-openclaw-budget"] == (
        "downgraded; exceeded=usd_per_day; from=general; to=cheap"
    )
    assert r.body["openclaw"]["model"] == "cheap"
    assert r.body["openclaw"]["provider_model"] == "mock-cheap"
    rec = last_record(gw)
    assert rec["model"] == "cheap" and rec["requested_model"] == "general"
    assert rec["provider_model"] == "mock-cheap"
    assert rec["budget"]["action"] == "downgrade"
    assert rec["budget"]["model_before"] == "general"
    assert rec["budget"]["model_after"] == "cheap"
    assert rec["budget"]["exceeded"] == "usd_per_day"
    assert "limit" not in rec  # not refused
    assert [k for k, _ in events] == ["budget_exceeded"]
    assert events[0][1]["action"] == "downgrade"

    # asking for the downgrade model itself changes nothing, and says so
    r = await call(gw, BILLING_TOKEN, model="cheap")
    assert r.status == 200 and r.headers["x-openclaw-model"] == "cheap"
    assert "x-openclaw-budget" not in r.headers
    assert last_record(gw)["budget"]["action"] == "none (already on the downgrade model)"

    lim = (await status(gw))["limits"]
    assert lim["budget_downgrades"] == {"billing": 1}
    assert lim["refused"] == {}


async def test_a_downgraded_stream_is_served_by_the_cheaper_alias(serve: Any) -> None:
    gw = await serve(budget("{usd_per_day: 0.5, on_exceed: 'downgrade:cheap'}"))
    await call(gw, BILLING_TOKEN)
    client = sdk(gw, BILLING_TOKEN)
    raw = await client.chat.completions.with_raw_response.create(
        model="general", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert raw.headers["x-openclaw-model"] == "cheap"
    assert raw.headers["x-openclaw-budget"].startswith("downgraded;")
    chunks = [ch async for ch in raw.parse()]
    assert chunks and "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    await client.close()
    assert last_record(gw)["budget"]["action"] == "downgrade"


# -- IP allow / deny -------------------------------------------------------------------


def ip_lists(allow: list[str] | None = None, deny: list[str] | None = None) -> str:
    text = "security:\n"
    if allow is not None:
        text += f"  ip_allow: {allow}\n"
    if deny is not None:
        text += f"  ip_deny: {deny}\n"
    return text


async def _raw_chat(served: Served, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.base) as c:
        return await c.post(
            "/v1/chat/completions",
            json={"model": "general", "messages": [{"role": "user", "content": "hi"}]},
            headers={**served.auth, **(headers or {})},
        )


def _assert_ip_refused(r: httpx.Response) -> None:
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "ip_not_allowed"
    assert err["type"] == "permission_error"
    assert "127.0.0.1" in err["message"] and "security.ip_allow / ip_deny" in err["message"]


async def test_an_address_outside_ip_allow_is_refused_with_403_ip_not_allowed(
    serve: Any,
) -> None:
    gw = await serve(ip_lists(allow=["10.0.0.0/8", "fd00::/8"]))
    client = sdk(gw)
    with pytest.raises(openai.PermissionDeniedError) as info:
        await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "hi"}]
        )
    await client.close()
    assert info.value.code == "ip_not_allowed"
    r = await _raw_chat(gw)
    _assert_ip_refused(r)
    # audited at the door, before auth and the pipeline: no service, model or upstream
    recs = [rec for rec in gw.audit() if "request_id" in rec]
    assert len(recs) == 2
    assert recs[-1]["request_id"] == r.headers["x-openclaw-request-id"]
    for rec in recs:
        assert rec["status"] == 403 and rec["error"]["code"] == "ip_not_allowed"
        assert rec["refused_at"] == "door" and rec["service"] == "unauthenticated"
        assert rec["model"] is None and rec["provider"] is None and rec["attempts"] == []


async def test_an_address_inside_ip_allow_is_admitted(serve: Any) -> None:
    gw = await serve(ip_lists(allow=["10.0.0.0/8", "127.0.0.0/8"]))
    assert (await call(gw)).status == 200


async def test_an_address_in_ip_deny_is_refused(serve: Any) -> None:
    gw = await serve(ip_lists(deny=["127.0.0.1"]))
    _assert_ip_refused(await _raw_chat(gw))


async def test_an_ip_deny_elsewhere_admits_this_address(serve: Any) -> None:
    gw = await serve(ip_lists(deny=["10.0.0.0/8"]))
    assert (await call(gw)).status == 200


async def test_ip_deny_wins_over_ip_allow(serve: Any) -> None:
    gw = await serve(ip_lists(allow=["127.0.0.0/8"], deny=["127.0.0.1/32"]))
    _assert_ip_refused(await _raw_chat(gw))


async def test_the_ip_check_comes_before_auth_and_covers_every_path(serve: Any) -> None:
    gw = await serve(ip_lists(allow=["10.0.0.0/8"]))
    async with httpx.AsyncClient(base_url=gw.base) as c:
        # no token at all: the address is refused first, so nothing is learnt about auth
        _assert_ip_refused(await c.post("/v1/chat/completions", json={}))
        _assert_ip_refused(await c.get("/healthz"))
        _assert_ip_refused(await c.get("/v1/models", headers=gw.auth))


async def test_x_forwarded_for_cannot_claim_an_allowed_address(serve: Any) -> None:
    gw = await serve(ip_lists(allow=["10.0.0.0/8"]))
    r = await _raw_chat(gw, {"X-Forwarded-For": "10.1.2.3", "X-Real-IP": "10.1.2.3"})
    _assert_ip_refused(r)


async def test_refused_addresses_are_counted_for_status(serve: Any) -> None:
    gw = await serve(ip_lists(allow=["10.20.30.0/24"], deny=["10.20.30.40"]))
    before = (await limits_status(gw.state.assembly))["ip_lists"]["refused"]
    _assert_ip_refused(await _raw_chat(gw))
    _assert_ip_refused(await _raw_chat(gw))
    lists = (await limits_status(gw.state.assembly))["ip_lists"]
    assert lists["allow"] == ["10.20.30.0/24"] and lists["deny"] == ["10.20.30.40/32"]
    assert lists["refused"] == before + 2
    assert lists["last_refused"] == "127.0.0.1"


def test_ipv4_mapped_ipv6_peers_are_checked_as_their_ipv4_address() -> None:
    f = IpFilter(("10.0.0.0/8",), ("10.9.9.9",))
    assert f.allows("::ffff:10.1.2.3")
    assert not f.allows("::ffff:10.9.9.9")
    assert not f.allows("::ffff:192.168.1.1")
    assert not f.allows(None)  # unknown peer with an allow list set
    assert IpFilter((), ("10.0.0.0/8",)).allows(None)  # deny list only: unknown is admitted
    assert IpFilter(("fe80::/10",), ()).allows("fe80::1%eth0")  # zone id is ignored


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        (
            "security:\n  ip_deny: ['10.0.0.300']\n",
            r"security\.ip_deny: .*'10\.0\.0\.300' is not an IP address or CIDR block",
        ),
        (
            "security:\n  ip_allow: ['127.0.0.1', 'fe80::/129']\n",
            r"security\.ip_allow: .*'fe80::/129' is not an IP address or CIDR block",
        ),
        (
            "security:\n  ip_allow: [localhost]\n",
            r"'localhost' is not an IP address or CIDR block \(e\.g\. 10\.0\.0\.0/8, ::1\)",
        ),
    ],
)
def test_a_bad_ip_list_entry_is_refused_at_load(
    openclaw_home: Path, policies: str, message: str
) -> None:
    (openclaw_home / "models.yaml").write_text(MODELS)
    (openclaw_home / "policies.yaml").write_text(policies)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(openclaw_home)
    assert "policies.yaml" in str(info.value)
