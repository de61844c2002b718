"""Two differently configured gateways in one process share nothing.

Buckets, the service registry, events, PII engines and audit logs hang off each assembled
application, not off module globals, so a limit spent on one is not spent on the other and
an event raised by one is not heard by the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import MOCK_MODELS, serve_gateway
from limits.limits_helpers import BILLING_TOKEN, call

SERVICE = """\
services:
  - name: billing
    token: ${{BILLING_TOKEN}}
    rate_limit: {{requests_per_minute: {rpm}, burst: {rpm}}}
policies:
  - {{name: pii, rule: if_context_contains_pii_use_sensitive_model, enforce: true,
     params: {{entities: [{entity}]}}}}
"""


async def test_two_gateways_in_one_process_do_not_interfere(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("BILLING_TOKEN", BILLING_TOKEN)
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    home_a.mkdir()
    home_b.mkdir()
    a = await serve_gateway(
        home_a, models=MOCK_MODELS, policies=SERVICE.format(rpm=1, entity="EMAIL_ADDRESS")
    )
    b = await serve_gateway(
        home_b, models=MOCK_MODELS, policies=SERVICE.format(rpm=100, entity="PHONE_NUMBER")
    )
    heard_a: list[str] = []
    heard_b: list[str] = []
    a.state.gateway.events.subscribe(lambda kind, data, key: heard_a.append(kind))
    b.state.gateway.events.subscribe(lambda kind, data, key: heard_b.append(kind))
    try:
        # The same service name and token: a's one request a minute is not b's hundred.
        assert (await call(a, BILLING_TOKEN)).status == 200
        assert (await call(a, BILLING_TOKEN)).status == 429
        assert [(await call(b, BILLING_TOKEN)).status for _ in range(3)] == [200, 200, 200]
        assert heard_a == ["rate_limited"] and heard_b == []

        # Each has its own PII settings and engines: an email is PII for a only.
        pa, pb = a.state.assembly.shared, b.state.assembly.shared
        assert pa.pii is not pb.pii and pa.memory is not pb.memory
        r = await call(b, BILLING_TOKEN, content="mail jane.doe@example.com")
        assert r.body["openclaw"]["model"] == "general"

        # Each writes its own audit log.
        assert len(a.audit()) == 2 and len(b.audit()) == 4
        assert {rec["status"] for rec in a.audit()} == {200, 429}
    finally:
        await a.close()
        await b.close()
