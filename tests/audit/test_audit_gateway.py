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
