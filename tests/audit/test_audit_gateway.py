"""A real log: the gateway with the seed policies writes it, the audit tools read it."""

from __future__ import annotations

from pathlib import Path

import openai
import orjson
from click.testing import CliRunner

from harness import SEED_POLICIES, serve_gateway
from openclaw.audit.record import FIELDS
from openclaw.cli.audit import cli


async def test_gateway_log_has_every_field_verifies_and_adds_up(openclaw_home: Path) -> None:
    gw = await serve_gateway(openclaw_home, policies=SEED_POLICIES)
    try:
        client = openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)

        async def ask(text: str, model: str = "general") -> None:
            await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}]
            )

        await ask("hello")
        await ask("write to jane.doe@example.com please")  # rerouted to the sensitive model
        stream = await client.chat.completions.create(
            model="general", messages=[{"role": "user", "content": "stream"}], stream=True
        )
        async for _ in stream:
            pass
        try:
            await ask("x", model="no-such-model")
        except openai.NotFoundError:
            pass
    finally:
        await gw.close()

    records = gw.audit()
    assert len(records) == 4
    always = set(FIELDS) - {"content"}
    for rec in records:
        assert always | {"v", "prev", "hash"} <= set(rec), always - set(rec)
    # audit_everything asks for content; the 404 never got as far as the policies.
    assert ["content" in rec for rec in records] == [True, True, True, False]
    assert records[2]["ttft_ms"] is not None

    runner = CliRunner()
    verified = runner.invoke(cli, ["verify"])
    assert verified.exit_code == 0 and "OK 4 records" in verified.output

    stats = orjson.loads(runner.invoke(cli, ["stats", "--by", "model", "--json"]).output)
    total = stats["total"]
    assert (total["requests"], total["errors"], total["pii_reroutes"], total["drafts"]) == (
        4,
        1,
        1,
        3,
    )
    assert {g["key"]: g["requests"] for g in stats["groups"]} == {
        "general": 2,
        "sensitive": 1,
        "-": 1,
    }


async def test_tail_f_on_the_file_shows_a_record_within_a_second_of_the_response(
    openclaw_home: Path,
) -> None:
    """What users do: ``tail -f ~/.openclaw/audit.log`` beside their service. The record of
    a request is in the file before its response's last byte, so ``tail`` prints it at once."""
    import asyncio
    import shutil
    import time

    import pytest

    tail = shutil.which("tail")
    if tail is None:  # pragma: no cover - coreutils is everywhere this runs
        pytest.fail("tail is not installed")
    gw = await serve_gateway(openclaw_home, policies=SEED_POLICIES)
    client = openai.AsyncOpenAI(base_url=gw.url, api_key=gw.token, max_retries=0)
    # The log exists once the daemon has served a request; tail follows an existing file.
    await client.chat.completions.create(
        model="general", messages=[{"role": "user", "content": "warm-up"}]
    )
    proc = await asyncio.create_subprocess_exec(
        tail, "-F", "-n", "0", str(openclaw_home / "audit.log"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.sleep(0.2)  # let tail open the file
        for text in ("first", "second"):
            raw = await client.chat.completions.with_raw_response.create(
                model="general", messages=[{"role": "user", "content": text}]
            )
            answered = time.monotonic()
            request_id = raw.headers["x-openclaw-request-id"]
            assert proc.stdout is not None
            while True:
                line = await asyncio.wait_for(proc.stdout.readline(), timeout=2.0)
                if request_id.encode() in line:
                    break
            assert time.monotonic() - answered < 1.0
            assert orjson.loads(line)["request_id"] == request_id
    finally:
        proc.terminate()
        await proc.wait()
        await client.close()
        await gw.close()
