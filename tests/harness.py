"""A gateway served on a real loopback port for tests, built from YAML strings.

``await serve_gateway(home, models=..., policies=...)`` writes the files, builds the
:class:`AppState` exactly as the daemon does, and serves the app with aiohttp's TestServer.
The returned :class:`Served` has ``url`` (``.../v1`` for SDKs), ``token``, ``state`` and
``audit()`` (the parsed audit records so far).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from openclaw.clock import Clock
from openclaw.daemon import make_app
from openclaw.server.auth import ensure_token
from openclaw.server.state import AppState

MOCK_MODELS = """\
models:
  general:
    provider: mock
    model: mock-general
    use_for: [summarization, drafting, general_queries]
  sensitive:
    provider: mock
    model: mock-local
    use_for: [customer_data, financial_records, internal_docs]
"""

SEED_POLICIES = """\
policies:
  - name: no_autonomous_actions
    rule: all_outputs_are_drafts
    enforce: true
  - name: sensitive_data_local
    rule: if_context_contains_pii_use_sensitive_model
    enforce: true
  - name: audit_everything
    rule: log_all_requests_and_responses
    enforce: true
"""


@dataclass
class Served:
    server: TestServer
    state: AppState
    token: str
    home: Path

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def url(self) -> str:
        return self.base + "/v1"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def audit(self) -> list[dict[str, Any]]:
        path = self.home / "audit.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    async def close(self) -> None:
        await self.server.close()
        await self.state.gateway.aclose()
        self.state.gateway.audit.close()


async def serve_gateway(
    home: Path,
    *,
    models: str = MOCK_MODELS,
    policies: str | None = None,
    channels: str | None = None,
    clock: Clock | None = None,
) -> Served:
    (home / "models.yaml").write_text(models)
    if policies is not None:
        (home / "policies.yaml").write_text(policies)
    if channels is not None:
        (home / "channels.yaml").write_text(channels)
    token = ensure_token(home)
    state = AppState.build(home, token, clock=clock)
    server = TestServer(make_app(state), host="127.0.0.1")
    await server.start_server()
    state.port = server.port or 0
    return Served(server, state, token, home)
