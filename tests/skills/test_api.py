"""``GET /v1/skills`` and ``POST /v1/skills/{name}/run``: answers, and every error status
in the OpenAI error shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from skillkit import ECHO_META, MakeSkill

from openclaw.daemon import make_app
from openclaw.server.state import AppState

TOKEN = "ocw_test_skills_api_token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(home: Path, aiohttp_client: Callable[[Any], Awaitable[Client]]) -> Any:
    state = AppState.build(home, TOKEN)
    c = await aiohttp_client(make_app(state))
    yield c
    await state.gateway.aclose()
    state.gateway.audit.close()


async def run(
    client: Client, name: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    r = await client.post(f"/v1/skills/{name}/run", data=data, headers={**AUTH, **(headers or {})})
    return r.status, await r.json()


def assert_error(payload: Any, code: str) -> dict[str, Any]:
    assert set(payload) == {"error"}
    err = payload["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == code
    return dict(err)


async def test_list_shows_every_skill_with_status(client: Client, make_skill: MakeSkill) -> None:
    make_skill("echo")
    make_skill("needs-tool", {**ECHO_META, "requires": {"bins": ["bash", "openclaw-no-such-tool"]}})
    r = await client.get("/v1/skills", headers=AUTH)
    assert r.status == 200
    data = {s["name"]: s for s in (await r.json())["data"]}
    assert {"echo", "needs-tool", "pr-review-prep", "incident-summary", "changelog-draft"} <= set(
        data
    )
    echo = data["echo"]
    assert (echo["status"], echo["source"], echo["version"]) == ("eligible", "home", "1.0.0")
    assert echo["inputs"][0] == {
        "name": "text",
        "type": "string",
        "required": True,
        "description": None,
    }
    assert data["needs-tool"]["reasons"] == ["missing binary 'openclaw-no-such-tool' (not on PATH)"]
    r = await client.get("/v1/skills?eligible=true", headers=AUTH)
    assert "needs-tool" not in {s["name"] for s in (await r.json())["data"]}


async def test_show_a_skill(client: Client) -> None:
    r = await client.get("/v1/skills/pr-review-prep", headers=AUTH)
    body = await r.json()
    assert r.status == 200 and body["version"] == "1.2.0"
    assert [s["name"] for s in body["steps"]] == ["collect-changes", "risk-scan"]
    r = await client.get("/v1/skills/nope", headers=AUTH)
    assert r.status == 404
    assert_error(await r.json(), "skill_not_found")


async def test_run_returns_outputs_draft_and_request_id(
    home: Path, client: Client, make_skill: MakeSkill
) -> None:
    make_skill("echo")
    r = await client.post(
        "/v1/skills/echo/run",
        json={"inputs": {"text": "hello"}},
        headers={**AUTH, "X-OpenClaw-Service": "ci-bot"},
    )
    assert r.status == 200
    body = await r.json()
    assert set(body) == {"outputs", "draft", "request_id"}
    assert body["outputs"]["shout"] == "HELLO"
    assert body["outputs"]["reply"].startswith("[mock] mock-general received:")
    assert body["draft"] is True and body["request_id"].startswith("req_")
    assert r.headers["X-OpenClaw-Request-Id"] == body["request_id"]
    rec = json.loads((home / "audit.log").read_text().splitlines()[-1])
    assert rec["request_id"] == body["request_id"] and rec["service"] == "ci-bot"
    assert rec["skill"]["name"] == "echo" and rec["skill"]["version"] == "1.0.0"


async def test_pii_in_inputs_goes_to_the_sensitive_model(
    client: Client, make_skill: MakeSkill
) -> None:
    make_skill("echo")
    status, body = await run(
        client, "echo", {"inputs": {"text": "my SSN is 078-05-1120, mail a@b.example"}}
    )
    assert status == 200
    assert body["outputs"]["reply"].startswith("[mock] mock-local received:")


async def test_unknown_skill_is_404(client: Client) -> None:
    status, body = await run(client, "no-such-skill", {"inputs": {}})
    assert status == 404
    err = assert_error(body, "skill_not_found")
    assert err["type"] == "invalid_request_error" and err["param"] == "name"


@pytest.mark.parametrize(
    ("body", "code", "param", "fragment"),
    [
        (
            {"inputs": {"text": 42}},
            "invalid_skill_inputs",
            "inputs.text",
            "inputs.text: expected string, got integer",
        ),
        ({"inputs": {}}, "invalid_skill_inputs", "inputs.text", "required string is missing"),
        (
            {"inputs": {"text": "a", "n": "2"}},
            "invalid_skill_inputs",
            "inputs.n",
            "expected integer",
        ),
        ({"inputs": "text=a"}, "invalid_skill_inputs", "inputs", "'inputs' must be a JSON object"),
        ({"input": {"text": "a"}}, "invalid_request", "input", "unknown field(s) input"),
        ([1, 2], "invalid_json", None, "must be a JSON object"),
        ("{not json", "invalid_json", None, "not valid JSON"),
    ],
)
async def test_bad_inputs_and_bodies_are_400(
    client: Client, make_skill: MakeSkill, body: Any, code: str, param: str | None, fragment: str
) -> None:
    make_skill("echo")
    status, payload = await run(client, "echo", body)
    assert status == 400
    err = assert_error(payload, code)
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert fragment in err["message"]


async def test_ineligible_skill_is_409(client: Client, make_skill: MakeSkill) -> None:
    make_skill(
        "needs-env",
        {**ECHO_META, "requires": {"bins": ["bash"], "env": ["OPENCLAW_TEST_UNSET_VAR"]}},
    )
    status, body = await run(client, "needs-env", {"inputs": {"text": "a"}})
    assert status == 409
    err = assert_error(body, "skill_ineligible")
    assert "missing environment variable OPENCLAW_TEST_UNSET_VAR" in err["message"]


async def test_failing_step_is_502_with_stderr(client: Client, make_skill: MakeSkill) -> None:
    make_skill("echo", scripts={"upper.sh": 'echo "gh: could not resolve host" >&2\nexit 4\n'})
    status, body = await run(client, "echo", {"inputs": {"text": "a"}})
    assert status == 502
    err = assert_error(body, "skill_step_failed")
    assert err["type"] == "skill_error"
    assert "exited with status 4" in err["message"] and "could not resolve host" in err["message"]


async def test_timed_out_step_is_502(client: Client, make_skill: MakeSkill) -> None:
    meta = {**ECHO_META, "steps": [{**ECHO_META["steps"][0], "timeout": 0.3}]}
    make_skill("slow", meta, scripts={"upper.sh": "sleep 20\n"})
    status, body = await run(client, "slow", {"inputs": {"text": "a"}})
    assert status == 502
    assert_error(body, "skill_step_timeout")


async def test_a_skill_that_does_not_lint_is_500_config_error(
    client: Client, make_skill: MakeSkill
) -> None:
    make_skill("broken", text="---\nname: broken\ndescription: x\nversion: 1.0.0\n---\n")
    status, body = await run(client, "broken", {"inputs": {}})
    assert status == 500
    err = assert_error(body, "skill_invalid")
    assert err["type"] == "config_error" and "declare at least one output" in err["message"]


async def test_the_skills_api_needs_the_token(client: Client) -> None:
    for method, path in (("GET", "/v1/skills"), ("POST", "/v1/skills/echo/run")):
        r = await client.request(method, path, json={"inputs": {}})
        assert r.status == 401
        assert_error(await r.json(), "missing_api_key")
