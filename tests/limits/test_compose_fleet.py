"""compose.yaml's fleet config, run: two gateways with deploy/compose/policies.yaml on one
real Redis share the billing service's rate limit and budget ledger."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from limits_helpers import call, status
from limits_redis import RedisServer

from harness import serve_gateway

ROOT = Path(__file__).resolve().parents[2]
MOCK_FLEET_MODELS = """\
models:
  general: {provider: mock, model: mock-general, cost_per_million_input_tokens: 1000, cost_per_million_output_tokens: 1000}
  fast: {provider: mock, model: mock-fast}
  sensitive: {provider: mock, model: mock-local, use_for: [customer_data]}
default: general
"""


def compose_policies(redis_url: str, requests_per_minute: int) -> str:
    """deploy/compose/policies.yaml with the test's Redis and a limit small enough to hit."""
    doc = yaml.safe_load((ROOT / "deploy/compose/policies.yaml").read_text())
    assert doc["state"]["url"] == "redis://redis:6379/0"  # the compose service
    doc["state"].update(url=redis_url, prefix=f"t{uuid.uuid4().hex[:12]}:", timeout_ms=2000)
    [billing] = [s for s in doc["services"] if s["name"] == "billing"]
    billing["rate_limit"] = {"requests_per_minute": requests_per_minute}
    return yaml.safe_dump(doc)


async def test_two_gateways_on_the_compose_config_share_one_limit_and_ledger(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    policies = compose_policies(redis_server.url, requests_per_minute=2)
    a_home, b_home = tmp_path / "gateway-a", tmp_path / "gateway-b"
    a_home.mkdir()
    b_home.mkdir()
    a = await serve_gateway(a_home, models=MOCK_FLEET_MODELS, policies=policies)
    b = await serve_gateway(b_home, models=MOCK_FLEET_MODELS, policies=policies)
    billing = {"X-OpenClaw-Service": "billing"}
    try:
        assert (await call(a, headers=billing)).status == 200
        assert (await call(b, headers=billing)).status == 200
        third = await call(a, headers=billing)
        assert third.status == 429  # the other gateway's request counted here too
        assert third.headers["x-openclaw-limit"] == "service:billing:requests"
        # Both gateways charged the one ledger, and each reads the other's spend from it.
        charged = [r["limits"]["charged_usd"] for r in a.audit() + b.audit() if r["status"] == 200]
        assert len(charged) == 2 and all(usd > 0 for usd in charged)
        for gw in (a, b):
            spent = (await status(gw))["limits"]["services"]["billing"]["spent_today"]
            assert spent["usd"] == pytest.approx(sum(charged))
    finally:
        await a.close()
        await b.close()
