"""Auth, DNS-rebinding and cross-site protection, and the error shape on every route."""

from __future__ import annotations

import itertools
import json
import os
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from harness import MOCK_MODELS, Served, serve_gateway
from openclaw.daemon import serve
from openclaw.errors import ConfigError
from openclaw.server.auth import (
    TOKEN_FILE_ENV,
    bind_problem,
    ensure_token,
    read_token,
    token_path,
)


@pytest.fixture
async def gw(openclaw_home: Path) -> Any:
    served = await serve_gateway(openclaw_home)
    yield served
    await served.close()


async def call(
    gw: Served,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.request(
            method, gw.base + path, headers=headers or {}, data=body, allow_redirects=False
        ) as r,
    ):
        text = await r.text()
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, {"not_json": f"{r.content_type}: {text[:80]}"}


CHAT = b'{"messages": [{"role": "user", "content": "hi"}]}'


def test_token_file_is_created_with_mode_0600(openclaw_home: Path) -> None:
    from openclaw.server.auth import ensure_token

    token = ensure_token(openclaw_home)
    p = openclaw_home / "gateway.token"
    assert p.read_text().strip() == token and len(token) > 30
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert ensure_token(openclaw_home) == token  # stable across starts


def test_env_token_wins(openclaw_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openclaw.server.auth import ensure_token

    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "from-env")
    assert ensure_token(openclaw_home) == "from-env"
    assert not (openclaw_home / "gateway.token").exists()


async def test_missing_token_is_401(gw: Served) -> None:
    status, body = await call(gw, "POST", "/v1/chat/completions", body=CHAT)
    assert status == 401 and body["error"]["code"] == "missing_api_key"


async def test_wrong_token_is_401(gw: Served) -> None:
    status, body = await call(
        gw, "POST", "/v1/chat/completions", {"Authorization": "Bearer nope"}, CHAT
    )
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    status, _ = await call(gw, "GET", "/v1/models", {"Authorization": f"Basic {gw.token}"})
    assert status == 401


REFUSALS = [
    # (what, headers beyond the token, body, status, code, refused_at)
    ("no token", {"Authorization": ""}, CHAT, 401, "missing_api_key", "door"),
    ("wrong token", {"Authorization": "Bearer nope"}, CHAT, 401, "invalid_api_key", "door"),
    ("foreign Host", {"Host": "evil.example.com"}, CHAT, 403, "host_not_allowed", "door"),
    ("foreign Origin", {"Origin": "https://evil.example"}, CHAT, 403, "origin_not_allowed", "door"),
    ("malformed JSON", {}, b'{"messages": [', 400, "invalid_json", "pipeline_entry"),
    ("schema error", {}, b'{"messages": "not a list"}', 400, None, "pipeline_entry"),
    ("body over the limit", {}, b'{"x": "' + b"a" * (11 * 1024 * 1024) + b'"}', 413, None,
     "pipeline_entry"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "headers", "body", "status", "code", "where"),
    REFUSALS,
    ids=[r[0] for r in REFUSALS],
)
async def test_every_refused_model_request_has_one_audit_record(
    gw: Served,
    what: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str | None,
    where: str,
) -> None:
    hdrs = {**gw.auth, "Content-Type": "application/json", **headers}
    hdrs = {k: v for k, v in hdrs.items() if v}
    async with (
        aiohttp.ClientSession() as s,
        s.post(gw.base + "/v1/chat/completions", headers=hdrs, data=body) as r,
    ):
        got = await r.json()
        request_id = r.headers.get("X-OpenClaw-Request-Id")
    assert r.status == status and "error" in got
    if code is not None:
        assert got["error"]["code"] == code
    records = gw.audit()
    assert len(records) == 1, records
    rec = records[0]
    assert rec["request_id"] == request_id and request_id.startswith("req_")
    assert rec["status"] == status and rec["error"]["code"] == got["error"]["code"]
    assert rec["refused_at"] == where and rec["model"] is None and rec["provider"] is None
    # Only an authenticated caller names its service in the record.
    assert rec["service"] == ("unauthenticated" if where == "door" else "default")


async def test_a_refused_record_keeps_the_hash_chain_and_no_request_content(gw: Served) -> None:
    from openclaw.audit.record import record_hash

    secret = "4111 1111 1111 1111"
    bad = json.dumps({"messages": [{"role": secret, "content": "hi"}]})  # 400: bad role
    await call(gw, "POST", "/v1/chat/completions", gw.auth, bad.encode())
    await call(gw, "POST", "/v1/chat/completions", {}, CHAT)
    ok = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    assert (await call(gw, "POST", "/v1/chat/completions", gw.auth, ok))[0] == 200
    records = gw.audit()
    assert [r["status"] for r in records] == [400, 401, 200]
    for prev, rec in itertools.pairwise(records):
        assert rec["prev"] == prev["hash"]
    assert all(r["hash"] == record_hash(r) for r in records)
    assert secret not in (gw.home / "audit.log").read_text()


async def test_refusals_of_routes_without_model_work_are_not_audited(gw: Served) -> None:
    await call(gw, "GET", "/v1/models")  # 401: a read, not a model request
    await call(gw, "GET", "/v1/nope", gw.auth)  # 404
    assert gw.audit() == []


async def test_healthz_needs_no_token(gw: Served) -> None:
    status, body = await call(gw, "GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com",
        "evil.example.com:18789",
        "192.168.1.20:18789",
        "attacker.localhost.evil.com",
    ],
)
async def test_foreign_host_header_is_refused(gw: Served, host: str) -> None:
    status, body = await call(gw, "GET", "/v1/models", {**gw.auth, "Host": host})
    assert status == 403 and body["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["localhost:18789", "127.0.0.1", "[::1]:18789", "127.0.0.1:1"])
async def test_loopback_host_header_is_accepted(gw: Served, host: str) -> None:
    status, _ = await call(gw, "GET", "/v1/models", {**gw.auth, "Host": host})
    assert status == 200


@pytest.mark.parametrize("origin", ["https://evil.example.com", "null", "http://10.0.0.5:3000"])
async def test_foreign_origin_is_refused_even_with_a_token(gw: Served, origin: str) -> None:
    status, body = await call(
        gw, "POST", "/v1/chat/completions", {**gw.auth, "Origin": origin}, CHAT
    )
    assert status == 403 and body["error"]["code"] == "origin_not_allowed"


async def test_loopback_origin_is_accepted(gw: Served) -> None:
    status, _ = await call(gw, "GET", "/v1/models", {**gw.auth, "Origin": "http://localhost:5173"})
    assert status == 200


async def test_allowed_hosts_and_origins_from_config(openclaw_home: Path) -> None:
    pol = "security:\n  allowed_hosts: [gateway.internal]\n  allowed_origins: ['https://tools.internal']\n"
    served = await serve_gateway(openclaw_home, policies=pol)
    try:
        h = {**served.auth, "Host": "gateway.internal:18789", "Origin": "https://tools.internal"}
        status, _ = await call(served, "GET", "/v1/models", h)
        assert status == 200
    finally:
        await served.close()


async def test_non_loopback_bind_without_auth_refuses_to_start(openclaw_home: Path) -> None:
    from openclaw.daemon import serve
    from openclaw.errors import ConfigError

    with pytest.raises(ConfigError, match="without authentication"):
        await serve(openclaw_home, "0.0.0.0", 0, auth=False)


ROUTES = [
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/openclaw/status"),
    ("GET", "/readyz"),
    ("GET", "/v1/nope"),
    ("DELETE", "/v1/chat/completions"),
    ("GET", "/metrics"),
]


async def test_every_route_answers_errors_in_the_openai_shape(gw: Served) -> None:
    """datasette's habit: walk the routes, provoke errors, check one shape everywhere.

    The client says it wants JSON, as API clients do; a browser asking for text/html may
    get an HTML page from the dashboard instead.
    """
    app = gw.server.app
    assert app is not None
    paths = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"  # HEAD answers carry no body
    }
    # The authenticated errors first: the walk below sends ~50 bad tokens, after which the
    # auth throttle (security.auth_throttle) answers this address 429 for a while.
    status, body = await call(gw, "DELETE", "/v1/chat/completions", gw.auth)
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    status, body = await call(gw, "GET", "/v1/nope", gw.auth)
    assert status == 404 and body["error"]["code"] == "not_found"
    checked = 0
    for method, path in sorted(paths | set(ROUTES)):
        if "{" in path:
            path = path.replace("{name}", "no-such-thing")
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {**gw.auth, "Origin": "https://evil.example"},
        ):
            status, body = await call(gw, method, path, {**headers, "Accept": "application/json"})
            if status < 400:
                continue
            assert set(body) == {"error"}, (method, path, body)
            assert set(body["error"]) == {"message", "type", "param", "code"}, (method, path)
            checked += 1
    assert checked >= 12


async def test_non_loopback_bind_without_allowed_hosts_refuses_to_start(
    openclaw_home: Path,
) -> None:
    (openclaw_home / "models.yaml").write_text(MOCK_MODELS)
    with pytest.raises(ConfigError, match=r"without security\.allowed_hosts"):
        await serve(openclaw_home, "0.0.0.0", 0)


@pytest.mark.parametrize(
    ("host", "auth", "allowed", "problem"),
    [
        ("127.0.0.1", False, [], None),
        ("::1", True, [], None),
        ("0.0.0.0", False, ["openclaw"], "without authentication"),
        ("0.0.0.0", True, [], "without security.allowed_hosts"),
        ("0.0.0.0", True, ["openclaw"], None),
        ("10.0.0.5", True, ["openclaw.internal"], None),
    ],
)
def test_binding_off_loopback_needs_auth_and_allowed_hosts(
    host: str, auth: bool, allowed: list[str], problem: str | None
) -> None:
    found = bind_problem(host, auth, lambda: allowed)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_the_token_can_come_from_a_mounted_secret_file(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "run-secrets" / "gateway-token"
    secret.parent.mkdir()
    secret.write_text("ocw_from_the_secret\n")
    monkeypatch.setenv(TOKEN_FILE_ENV, str(secret))
    assert ensure_token(openclaw_home) == "ocw_from_the_secret"
    assert not token_path(openclaw_home).exists()  # no second token made beside it
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "ocw_env_wins")
    assert read_token(openclaw_home) == "ocw_env_wins"


@pytest.mark.parametrize("content", [None, "  \n"])
def test_a_named_token_file_that_is_missing_or_empty_is_an_error_not_a_new_token(
    openclaw_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    secret = tmp_path / "gateway-token"
    if content is not None:
        secret.write_text(content)
    monkeypatch.setenv(TOKEN_FILE_ENV, str(secret))
    with pytest.raises(ConfigError, match=TOKEN_FILE_ENV):
        ensure_token(openclaw_home)
    assert not token_path(openclaw_home).exists()
