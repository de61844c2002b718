"""GET /openapi.json describes exactly the API routes the daemon's app serves."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from harness import serve_gateway
from openclaw.server import openapi

#: Routes that are not part of the JSON API: the dashboard's pages and Slack's webhook.
NOT_API = re.compile(r"^/(dashboard|slack/)")


async def test_the_document_and_the_router_list_the_same_routes(openclaw_home: Path) -> None:
    served = await serve_gateway(openclaw_home)
    try:
        app = served.server.app
        assert app is not None
        served_routes = set()
        for r in app.router.routes():
            info = r.resource.get_info() if r.resource is not None else {}
            path = info.get("path") or info.get("formatter") or ""
            path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)
            if r.method in ("GET", "POST") and path and not NOT_API.match(path):
                served_routes.add((r.method.lower(), path))
        documented = {
            (method, path) for path, ops in openapi.document()["paths"].items() for method in ops
        }
        assert documented == served_routes
        async with httpx.AsyncClient(base_url=served.base) as c:
            assert (await c.get("/openapi.json")).status_code == 401  # behind the token
            doc = (await c.get("/openapi.json", headers=served.auth)).json()
        assert doc["openapi"].startswith("3.1") and doc["paths"].keys() == {
            p for _, p in documented
        }
    finally:
        await served.close()
