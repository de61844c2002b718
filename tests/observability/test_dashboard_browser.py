"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright.

The daemon runs as users run it (``python -m openclaw gateway run`` in a subprocess, mock
provider, the seed policies) and gets real requests over HTTP. ``openclaw dashboard
--no-open`` mints the one-time link; Chromium opens it, must end up signed in on
``/dashboard`` with every chart drawn from those requests, and must see a new request appear
without a reload. Reused and expired links and a foreign ``Origin`` are refused. The page
may load nothing from anywhere but the daemon and must trip no CSP violation.

Chromium is required, not optional: ``.ci/run`` installs Debian's ``chromium`` package, and
locally ``apt-get install chromium`` does. Playwright never downloads a browser here; it is
pointed at ``/usr/bin/chromium`` and makes a fresh user-data-dir for each launch.
A screenshot is saved to ``out/dashboard.png`` (ignored by git) for CI to keep.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import SEED_POLICIES

CHROMIUM = os.environ.get("OPENCLAW_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "out" / "dashboard.png"

MODELS = """\
models:
  general:
    provider: mock
    model: mock-general
    cost_per_million_input_tokens: 3000
    cost_per_million_output_tokens: 15000
    use_for: [summarization]
  sensitive:
    provider: mock
    model: mock-local
    cost_per_million_input_tokens: 100
    cost_per_million_output_tokens: 200
  flaky:
    provider: mock
    model: mock-flaky
    max_retries: 0
default: general
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    def __init__(self, home: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.home, self.port, self.proc = home, port, proc
        self.base = f"http://127.0.0.1:{port}"
        self.token = (home / "gateway.token").read_text().strip()
        self.http = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            trust_env=False,
        )

    def env(self) -> dict[str, str]:
        return dict(os.environ, OPENCLAW_HOME=str(self.home), OPENCLAW_PORT=str(self.port))

    def chat(
        self, content: str, model: str = "general", service: str = "default", stream: bool = False
    ) -> tuple[int, str]:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": content}],
            "stream": stream,
        }
        r = self.http.post(
            "/v1/chat/completions", json=body, headers={"X-OpenClaw-Service": service}
        )
        return r.status_code, r.headers["X-OpenClaw-Request-Id"]

    def audit(self) -> list[dict[str, Any]]:
        lines = (self.home / "audit.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def login_link(self, ttl: float | None = None) -> str:
        r = self.http.post("/v1/dashboard/login-link", json={} if ttl is None else {"ttl": ttl})
        r.raise_for_status()
        return str(r.json()["url"])


@pytest.fixture
def daemon(openclaw_home: Path) -> Iterator[Daemon]:
    (openclaw_home / "models.yaml").write_text(MODELS)
    (openclaw_home / "policies.yaml").write_text(SEED_POLICIES)
    port = free_port()
    log = (openclaw_home / "daemon.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", str(port)],
        env=dict(os.environ, OPENCLAW_HOME=str(openclaw_home)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"daemon exited: {(openclaw_home / 'daemon.out').read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("daemon did not become healthy")
            time.sleep(0.1)
        d = Daemon(openclaw_home, port, proc)
        yield d
        d.http.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"the dashboard browser test needs Chromium at {CHROMIUM}: install Debian's "
            "'chromium' package (apt-get install -y chromium; .ci/run does this)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def cli_login_link(daemon: Daemon) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "openclaw", "dashboard", "--no-open"],
        env=daemon.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    assert url.startswith(daemon.base + "/dashboard/login?t=") and daemon.token not in url
    return url


def bar_total(page: Any, selector: str) -> float:
    return float(
        sum(
            float(v)
            for v in page.locator(selector).evaluate_all("n => n.map(e => e.dataset.value)")
        )
    )


def test_dashboard_in_chromium(daemon: Daemon, browser: Any) -> None:
    from playwright.sync_api import expect

    # Real traffic first: plain, streamed, PII-rerouted, failed.
    assert daemon.chat("hello from the crm", service="crm")[0] == 200
    assert daemon.chat("another crm question", service="crm")[0] == 200
    assert daemon.chat("stream the weekly summary", service="support", stream=True)[0] == 200
    assert daemon.chat("email alice@example.com her invoice", service="support")[0] == 200
    assert daemon.chat("mock:error now", model="flaky", service="batch")[0] == 502

    link = cli_login_link(daemon)
    context = browser.new_context(viewport={"width": 1400, "height": 1900})
    page = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" or "Security" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((daemon.base + "/", "data:")) else foreign.append(r.url),
    )

    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.url == daemon.base + "/dashboard"  # the secret is gone from the address bar
    page.wait_for_selector("body[data-loaded=true]", timeout=15_000)
    page.wait_for_selector("#live.on", timeout=10_000)

    # The charts are drawn, from the requests above.
    assert bar_total(page, "#chart-rpm rect.bar") == 5
    assert page.locator("#chart-latency circle.pt").count() >= 3  # p50, p95, p99
    assert page.locator("#chart-ttft circle.pt").count() >= 2  # the streamed request
    assert page.locator("#chart-errors circle.pt").count() >= 1
    assert bar_total(page, "#chart-pii rect.bar") == 1
    cost_models = page.locator("#chart-cost-model .hbar").evaluate_all(
        "n => n.map(e => e.dataset.label)"
    )
    assert cost_models[0] == "general" and "sensitive" in cost_models
    services = set(
        page.locator("#chart-tokens-service .hbar").evaluate_all("n => n.map(e => e.dataset.label)")
    )
    assert {"crm", "support"} <= services
    policies = page.locator("#chart-policies .hbar").evaluate_all(
        "n => n.map(e => e.dataset.label)"
    )
    assert {"no_autonomous_actions", "sensitive_data_local", "audit_everything"} <= set(policies)
    flaky = page.locator('#upstreams li[data-deployment="mock/mock-flaky"]')
    assert "1 failed" in flaky.inner_text()
    assert page.locator('#upstreams li[data-deployment="mock/mock-general"].breaker-closed').count()
    assert page.locator("#recent tbody tr").count() == 5
    drafts = page.locator("#recent tbody tr").evaluate_all(
        "rows => Object.fromEntries(rows.map(r => "
        "[r.dataset.requestId, r.querySelector('td.draft') !== null]))"
    )
    assert drafts == {r["request_id"]: r["draft"] for r in daemon.audit()}
    assert any(drafts.values())
    assert page.locator("#t-requests").inner_text() == "5"

    # A new request shows up live, without a reload.
    page.evaluate("window.__sameDocument = true")
    status, rid = daemon.chat("a brand new question", service="live")
    assert status == 200
    page.wait_for_selector(f'#recent tr.fresh[data-request-id="{rid}"]', timeout=10_000)
    expect(page.locator("#t-requests")).to_have_text("6", timeout=10_000)  # and the charts
    assert page.evaluate("window.__sameDocument") is True
    assert bar_total(page, "#chart-rpm rect.bar") == 6

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The cookie is worthless from a foreign Origin (the page itself never sends one).
    ok = context.request.get(daemon.base + "/dashboard/api/summary")
    assert ok.status == 200
    refused = context.request.get(
        daemon.base + "/dashboard/api/summary", headers={"Origin": "http://evil.example"}
    )
    assert refused.status == 403 and refused.json()["error"]["code"] == "origin_not_allowed"

    # The link that signed us in does not work twice, not even in a fresh browser.
    other = browser.new_context()
    page2 = other.new_page()
    again = page2.goto(link)
    assert again is not None and again.status == 403
    assert "already used" in page2.inner_text("body")
    assert not other.cookies()

    # An expired link is refused too.
    expired = daemon.login_link(ttl=0.05)
    time.sleep(0.1)
    late = page2.goto(expired)
    assert late is not None and late.status == 403 and not other.cookies()

    # Without a session the page shows how to sign in, and the data stays closed.
    bare = page2.goto(daemon.base + "/dashboard")
    assert bare is not None and bare.status == 401
    assert "openclaw dashboard" in page2.inner_text("body")
    other.close()

    assert not foreign, f"the page loaded something from elsewhere: {foreign}"
    assert not problems, f"console errors or CSP violations: {problems}"
    context.close()
