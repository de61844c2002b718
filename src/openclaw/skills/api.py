"""The Skills HTTP API: :func:`install` is one of the daemon's ROUTES.

- ``GET /v1/skills`` lists every skill found (``?eligible=true`` for the runnable ones), with
  status, reasons and declared inputs and outputs.
- ``GET /v1/skills/{name}`` is ``skill show`` (404 for an unknown skill).
- ``POST /v1/skills/{name}/run`` with ``{"inputs": {...}}`` runs it and answers
  ``{"outputs": {...}, "draft": bool, "request_id": "req_..."}``; ``request_id`` names the
  model step's audit record (null for a skill with no model step). An instruction-only
  skill takes ``{"inputs": {"input": "..."}}`` and answers ``{"outputs": {"answer": ...}}``.

``{name}`` must fit the skill-name grammar (400 ``invalid_skill_name`` otherwise, before any
file is touched), and nothing this module answers carries an absolute path: skills are shown
as ``source:relative/path`` (:meth:`~openclaw.skills.discovery.Skill.describe`).

Errors keep the OpenAI shape of every route (the one error middleware renders them): unknown
skill 404, bad inputs or body 400, ineligible skill 409, a failing step 502, a SKILL.md that
does not lint 500 ``config_error``, and whatever the model step's pipeline raises (a policy's
403, an upstream's 502/504). The request's ``X-OpenClaw-Service`` and ``X-OpenClaw-Channel``
headers are passed to the model step, so ``when:`` clauses of policies apply to skill runs.

Skills are read from disk for every request (off the event loop), so a new or edited skill is
live without a reload. The model step uses the gateway current when the request arrived.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from openclaw.errors import InvalidRequest
from openclaw.server.app import json_response
from openclaw.server.auth import read_token
from openclaw.server.ingress import STATE, read_json
from openclaw.server.state import AppState
from openclaw.skills.attach import SKILL_HEADER, attach_skill, resolve_skill, skill_record
from openclaw.skills.discovery import discover, find_skill
from openclaw.skills.env import Secrets
from openclaw.skills.runner import DEFAULT_SERVICE, SkillRunner


async def list_skills(request: web.Request) -> web.Response:
    st = request.app[STATE]
    skills = await asyncio.to_thread(discover, st.home)
    only_eligible = request.query.get("eligible", "").lower() in ("1", "true", "yes")
    data = [s.describe(public=True) for s in skills.values() if s.eligible or not only_eligible]
    return json_response({"object": "list", "data": data})


async def show_skill(request: web.Request) -> web.Response:
    st = request.app[STATE]
    skill = await asyncio.to_thread(find_skill, st.home, request.match_info["name"])
    return json_response(skill.describe(detail=True, public=True))


async def run_skill(request: web.Request) -> web.Response:
    st = request.app[STATE]
    gw = st.gateway  # pin: a reload mid-run does not switch configs under the model step
    name = request.match_info["name"]
    skill = await asyncio.to_thread(find_skill, st.home, name)
    body, _raw = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidRequest(
            'the body must be a JSON object: {"inputs": {...}}', code="invalid_json"
        )
    unknown = sorted(set(body) - {"inputs"})
    if unknown:
        raise InvalidRequest(
            f'unknown field(s) {", ".join(unknown)}; the body is {{"inputs": {{...}}}}',
            param=unknown[0],
        )
    runner = SkillRunner(
        gw,
        secrets=Secrets.of(gw.config, token=st.token or read_token(st.home), home=st.home),
        service=request.headers.get("X-OpenClaw-Service") or DEFAULT_SERVICE,
        channel=request.headers.get("X-OpenClaw-Channel"),
        home=st.home,
    )
    result = await runner.run(skill, body.get("inputs", {}))
    headers = {"X-OpenClaw-Request-Id": result.request_id} if result.request_id else None
    return json_response(result.to_api(), headers=headers)


async def attach_from_header(
    request: web.Request, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``X-OpenClaw-Skill: NAME`` on a chat request: the instruction-only skill's body goes
    before the caller's messages, and the audit record names the skill."""
    name = request.headers.get(SKILL_HEADER)
    if not name:
        return body, None
    home = request.app[STATE].home
    skill = await asyncio.to_thread(resolve_skill, home, name)
    return attach_skill(body, skill), skill_record(skill)


def install(app: web.Application, state: AppState) -> None:
    app.router.add_get("/v1/skills", list_skills)
    app.router.add_get("/v1/skills/{name}", show_skill)
    app.router.add_post("/v1/skills/{name}/run", run_skill)
    state.body_hooks.append(attach_from_header)
