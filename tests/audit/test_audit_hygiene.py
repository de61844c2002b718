"""What reaches a record from outside is bounded: header labels capped, upstream text scrubbed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from harness import serve_gateway
from openclaw.audit import AuditLog
from openclaw.audit.log import MAX_LABEL
from openclaw.audit.verify import verify
from openclaw.policies.scrub import ErrorScrubber

MakeRecord = Callable[..., dict[str, Any]]


def stored(path: Path) -> dict[str, Any]:
    rec: dict[str, Any] = orjson.loads(path.read_bytes().splitlines()[-1])
    return rec


def test_service_task_and_channel_are_capped_and_control_characters_replaced(
    log_path: Path, make_record: MakeRecord
) -> None:
    log = AuditLog(log_path)
    long = "billing" + "x" * 5000
    log.write(make_record(service=long, task="sum\x1b[31mmarize\n", channel="c\x00h\u2028"))
    log.close()
    rec = stored(log_path)
    assert rec["service"] == long[:MAX_LABEL] and MAX_LABEL == 128
    assert rec["task"] == "sum\ufffd[31mmarize\ufffd"
    assert rec["channel"] == "c\ufffdh\ufffd"
    assert verify(log_path).ok


def test_an_upstream_error_body_is_scrubbed_of_pii_before_it_is_written(
    log_path: Path, make_record: MakeRecord
) -> None:
    message = (
        "provider 'openai' answered 400: invalid input for jane.doe@example.com, "
        "card 4111 1111 1111 1111"
    )
    error = {"code": "upstream_bad_request", "type": "invalid_request_error", "message": message}
    rec_in = make_record(status=400, error=error)
    log = AuditLog(log_path, scrub=ErrorScrubber("en"))
    log.write(rec_in)
    log.close()
    rec = stored(log_path)
    assert "jane.doe@example.com" not in rec["error"]["message"]
    assert "4111" not in rec["error"]["message"]
    assert rec["error"]["message"].startswith("provider 'openai' answered 400: invalid input for ")
    assert "<EMAIL_ADDRESS>" in rec["error"]["message"]
    assert rec_in["error"]["message"] == message  # the caller's record is left alone
    assert verify(log_path).ok


def test_a_scrubber_that_fails_withholds_the_text_but_keeps_the_record(
    log_path: Path, make_record: MakeRecord
) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("boom")

    log = AuditLog(log_path, scrub=broken)
    log.write(make_record(status=502, error={"code": "x", "type": "y", "message": "secret"}))
    log.close()
    assert stored(log_path)["error"]["message"] == "(withheld: PII redaction failed)"


async def test_the_daemon_scrubs_an_upstream_error_that_quotes_the_prompt(
    openclaw_home: Path,
) -> None:
    """An OpenAI-compatible upstream that quotes the request back in its 400, as some do."""

    async def quoting(request: web.Request) -> web.Response:
        body = await request.json()
        said = body["messages"][-1]["content"]
        err = {"message": f"Invalid prompt: {said}", "type": "invalid_request_error"}
        return web.json_response({"error": {**err, "param": None, "code": None}}, status=400)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", quoting)
    upstream = TestServer(app, host="127.0.0.1")
    await upstream.start_server()
    models = (
        "providers:\n"
        f"  quoting: {{type: openai_compatible, base_url: 'http://127.0.0.1:{upstream.port}/v1'}}\n"
        "models:\n"
        "  general: {provider: quoting, model: m}\n"
    )
    gw = await serve_gateway(openclaw_home, models=models)
    try:
        client = openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(
                model="general",
                messages=[
                    {"role": "user", "content": "mail jane.doe@example.com on +1 415 555 0100"}
                ],
            )
    finally:
        await gw.close()
        await upstream.close()
    (rec,) = gw.audit()
    message = rec["error"]["message"]
    assert "Invalid prompt: mail <EMAIL_ADDRESS> on <PHONE_NUMBER>" in message
    assert "jane.doe" not in orjson.dumps(rec).decode()
