"""The dashboard over HTTP: one-time links, the session cookie, CSP, JSON, live events, CLI."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.cli import main
from openclaw.observability.sessions import COOKIE

MODELS = """\
models:
  general:
    provider: mock
    model: mock-general
    cost_per_million_input_tokens: 3000
    cost_per_million_output_tokens: 15000
  sensitive:
    provider: mock
    model: mock-local
"""
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
async def gw(openclaw_home: Path) -> AsyncIterator[Served]:
    served = await serve_gateway(openclaw_home, models=MODELS, policies=SEED_POLICIES)
    yield served
    await served.close()


async def request(
    gw: Served,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
) -> tuple[int, dict[str, str], str, list[str]]:
    """(status, headers, body, Set-Cookie values); never follows redirects. Asks for HTML
    first, as a browser does, unless ``headers`` says otherwise."""
    hdrs = {"Accept": BROWSER_ACCEPT, **(headers or {})}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, gw.base + path, headers=hdrs, json=json, allow_redirects=False) as r,
    ):
        return r.status, dict(r.headers), await r.text(), r.headers.getall("Set-Cookie", [])


async def mint(gw: Served, **body: Any) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(gw.base + "/v1/dashboard/login-link", headers=gw.auth, json=body or None) as r,
    ):
        assert r.status == 200, await r.text()
        data: dict[str, Any] = await r.json()
        return data


async def sign_in(gw: Served) -> dict[str, str]:
    """Headers carrying a fresh dashboard session cookie."""
    link = await mint(gw)
    status, _, _, cookies = await request(gw, "GET", link["path"])
    assert status == 303
    jar = SimpleCookie()
    jar.load(cookies[0])
    return {"Cookie": f"{COOKIE}={jar[COOKIE].value}"}


async def chat(gw: Served, content: str, service: str = "default") -> str:
    body = {"model": "general", "messages": [{"role": "user", "content": content}]}
    headers = dict(gw.auth, **{"X-OpenClaw-Service": service})
    async with (
        aiohttp.ClientSession() as s,
        s.post(gw.url + "/chat/completions", json=body, headers=headers) as r,
    ):
        assert r.status == 200
        return r.headers["X-OpenClaw-Request-Id"]


# ------------------------------------------------------------------ one-time login links


async def test_login_links_need_the_bearer_token(gw: Served) -> None:
    status, _, body, _ = await request(gw, "POST", "/v1/dashboard/login-link")
    assert status == 401 and '"code":"missing_api_key"' in body


async def test_a_login_link_signs_in_once_with_a_strict_httponly_cookie(gw: Served) -> None:
    link = await mint(gw)
    assert link["url"] == gw.base + link["path"] and link["expires_in"] == 60
    assert gw.token not in link["url"]  # the long-lived token never goes into a URL

    status, headers, _, cookies = await request(gw, "GET", link["path"])
    assert status == 303 and headers["Location"] == "/dashboard"
    [cookie] = cookies
    attrs = {a.strip().lower() for a in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= attrs
    assert gw.token not in cookie
    assert headers["Referrer-Policy"] == "no-referrer"  # the link never leaks onwards

    status, headers, body, cookies = await request(gw, "GET", link["path"])
    assert status == 403 and cookies == []
    assert headers["Content-Type"].startswith("text/html")
    assert "already used" in body and "openclaw dashboard" in body


async def test_an_expired_link_is_refused(gw: Served) -> None:
    link = await mint(gw, ttl=0)
    status, _, body, cookies = await request(gw, "GET", link["path"])
    assert status == 403 and "expired" in body and cookies == []


@pytest.mark.parametrize(
    "path", ["/dashboard/login", "/dashboard/login?t=", "/dashboard/login?t=guess"]
)
async def test_a_missing_or_guessed_link_is_refused(gw: Served, path: str) -> None:
    status, _, _, cookies = await request(gw, "GET", path)
    assert status == 403 and cookies == []


async def test_a_bad_ttl_is_an_openai_shaped_400(gw: Served) -> None:
    for ttl in ("soon", -1, True):
        status, _, body, _ = await request(
            gw, "POST", "/v1/dashboard/login-link", headers=gw.auth, json={"ttl": ttl}
        )
        assert status == 400 and '"param":"ttl"' in body


# ------------------------------------------------------------------ the page and its data


async def test_the_page_needs_a_session_not_the_token(gw: Served) -> None:
    for headers in ({}, gw.auth, {"Cookie": f"{COOKIE}=forged"}):
        status, h, body, _ = await request(gw, "GET", "/dashboard", headers=headers)
        assert status == 401 and h["Content-Type"].startswith("text/html")
        assert "openclaw dashboard" in body and "<script" not in body


async def test_api_clients_get_openai_shaped_errors_instead_of_pages(gw: Served) -> None:
    json_only = {"Accept": "application/json"}
    status, _, body, _ = await request(gw, "GET", "/dashboard", headers=json_only)
    assert status == 401 and '"code":"dashboard_session_required"' in body
    link = await mint(gw)
    await request(gw, "GET", link["path"])
    status, _, body, _ = await request(gw, "GET", link["path"], headers=json_only)
    assert status == 403 and '"code":"login_link_invalid"' in body


class _Inventory(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] in ("script", "style") and data.strip():
            self.inline_script = True


async def test_the_page_sets_a_strict_csp_and_has_no_inline_code(gw: Served) -> None:
    status, headers, body, _ = await request(gw, "GET", "/dashboard", headers=await sign_in(gw))
    assert status == 200
    csp = {d.split()[0]: d.split()[1:] for d in headers["Content-Security-Policy"].split("; ")}
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["connect-src"] == ["'self'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)
    assert headers["X-Frame-Options"] == "DENY"

    page = _Inventory()
    page.feed(body)
    assert not page.inline_script
    for tag, attrs in page.tags:
        assert "style" not in attrs and not any(a.startswith("on") for a in attrs), tag
        if tag in ("script", "style"):
            assert tag == "script" and attrs.get("src", "").startswith("/dashboard/static/")
        for key in ("src", "href", "action"):
            if key in attrs:
                assert (attrs[key] or "").startswith("/dashboard/"), (tag, attrs)


def test_static_files_load_nothing_from_outside_the_machine() -> None:
    root = resources.files("openclaw.observability").joinpath("static")
    names = sorted(p.name for p in root.iterdir())
    assert {"dashboard.html", "dashboard.js", "charts.js", "dashboard.css"} <= set(names)
    for name in names:
        text = root.joinpath(name).read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"')]+", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)  # the SVG namespace name
        assert "innerHTML" not in text and "eval(" not in text, name  # data goes in as text


async def test_static_files_carry_the_csp_and_unknown_names_are_404(gw: Served) -> None:
    status, headers, _, _ = await request(gw, "GET", "/dashboard/static/charts.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    for name in ("nope.js", "..%2Fsessions.py", "%2E%2E%2F__init__.py"):
        status, _, _, _ = await request(gw, "GET", f"/dashboard/static/{name}")
        assert status == 404


async def test_summary_needs_a_session_and_then_shows_real_requests(gw: Served) -> None:
    status, _, body, _ = await request(gw, "GET", "/dashboard/api/summary")
    assert status == 401 and '"code":"dashboard_session_required"' in body

    ids = [await chat(gw, "hello", service="crm") for _ in range(2)]
    ids.append(await chat(gw, "mail bob@example.com", service="support"))
    async with (
        aiohttp.ClientSession() as s,
        s.get(gw.base + "/dashboard/api/summary", headers=await sign_in(gw)) as r,
    ):
        assert r.status == 200
        data = await r.json()
    assert data["totals"]["requests"] == 3 and data["totals"]["pii_reroutes"] == 1
    assert [e["request_id"] for e in data["recent"]] == ids[::-1]
    assert all(e["draft"] for e in data["recent"])
    assert {r["name"] for r in data["by_service"]} == {"crm", "support"}
    assert sum(m["requests"] for m in data["timeline"]) == 3
    assert {u["deployment"] for u in data["upstreams"]} == {"mock/mock-general", "mock/mock-local"}
    assert "hello" not in str(data) and "bob@example.com" not in str(data)  # metadata only


async def test_events_stream_each_new_request(gw: Served) -> None:
    cookie = await sign_in(gw)
    async with (
        aiohttp.ClientSession() as s,
        s.get(gw.base + "/dashboard/api/events", headers=cookie) as r,
    ):
        assert r.status == 200 and r.headers["Content-Type"] == "text/event-stream"
        assert (await r.content.readuntil(b"\n\n")).startswith(b"retry:")
        rid = await chat(gw, "live please")
        frame = await asyncio.wait_for(r.content.readuntil(b"\n\n"), timeout=5)
    assert frame.startswith(b"event: request\ndata: ") and rid.encode() in frame
    assert b"live please" not in frame


async def test_events_need_a_session(gw: Served) -> None:
    status, _, body, _ = await request(gw, "GET", "/dashboard/api/events")
    assert status == 401 and '"type":"authentication_error"' in body


async def test_a_foreign_origin_or_host_is_refused_even_with_a_session(gw: Served) -> None:
    cookie = await sign_in(gw)
    for path in ("/dashboard", "/dashboard/api/summary", "/dashboard/api/events"):
        status, _, body, _ = await request(
            gw, "GET", path, headers=dict(cookie, Origin="http://evil.example")
        )
        assert status == 403 and '"code":"origin_not_allowed"' in body
    status, _, body, _ = await request(
        gw, "GET", "/dashboard", headers=dict(cookie, Host="evil.example")
    )
    assert status == 403 and '"code":"host_not_allowed"' in body
    link = await mint(gw)
    status, _, _, cookies = await request(
        gw, "GET", link["path"], headers={"Origin": "http://evil.example"}
    )
    assert status == 403 and cookies == []


async def test_signing_out_ends_the_session(gw: Served) -> None:
    cookie = await sign_in(gw)
    status, _, _, cookies = await request(gw, "POST", "/dashboard/logout", headers=cookie)
    assert status == 200 and any("Max-Age=0" in c for c in cookies)
    status, _, _, _ = await request(gw, "GET", "/dashboard/api/summary", headers=cookie)
    assert status == 401


# ------------------------------------------------------------------ the CLI


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


async def test_cli_opens_a_one_time_link_in_the_browser(
    gw: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    port = str(gw.server.port)
    result = await asyncio.to_thread(_invoke, ["dashboard", "--port", port])
    assert result.exit_code == 0, result.output
    assert "Opened the OpenClaw dashboard" in result.output
    [url] = opened
    assert url.startswith(gw.base + "/dashboard/login?t=") and gw.token not in url
    status, _, _, _ = await request(gw, "GET", url.removeprefix(gw.base))
    assert status == 303

    result = await asyncio.to_thread(_invoke, ["dashboard", "--no-open", "--port", port])
    assert result.exit_code == 0 and len(opened) == 1
    printed = result.stdout.strip()
    assert printed.startswith(gw.base + "/dashboard/login?t=") and printed != url


def test_cli_says_when_the_gateway_is_not_running() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(main, ["dashboard", "--no-open", "--port", str(port)])
    assert result.exit_code == 1
    assert "cannot reach the gateway" in result.output and "gateway start" in result.output


async def test_open_event_streams_end_when_the_daemon_shuts_down(openclaw_home: Path) -> None:
    gw = await serve_gateway(openclaw_home, models=MODELS)
    cookie = await sign_in(gw)
    async with (
        aiohttp.ClientSession() as s,
        s.get(gw.base + "/dashboard/api/events", headers=cookie) as r,
    ):
        await r.content.readuntil(b"\n\n")
        closing = asyncio.create_task(gw.close())
        rest = await asyncio.wait_for(r.content.read(), timeout=5)  # EOF, not a drain timeout
        await closing
    assert rest == b""
