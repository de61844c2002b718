"""The response cache and request deduplication (``openclaw.cache``), end to end.

Every request goes through a gateway served on loopback to a fake OpenAI upstream (real
SSE) that records what reaches it, so ``upstream_calls(fake)`` is the number of chat calls
the gateway really made. The fake here can also *hold* chat requests until the test lets
them go: the deduplication tests know that their requests overlap instead of hoping that a
delay was long enough.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aiohttp import web
from limits_helpers import Result, sdk, status
from limits_redis import RedisServer, state_yaml
from prometheus_client.parser import text_string_to_metric_families

from fakes import OpenAIUpstream, Reply
from harness import SEED_POLICIES, Served, serve_gateway
from openclaw.cache.stage import CacheStage
from openclaw.pipeline.exchange import Exchange
from openclaw.policies.rules import DRAFT_LABEL
from openclaw.state.memory import MemoryState

MODELS = """\
providers:
  fake: {{type: openai_compatible, base_url: "{url}"}}
models:
  general: {{provider: fake, model: gpt-fake, max_retries: 0}}
  cached: {{provider: fake, model: gpt-fake, max_retries: 0, cache: true}}
  sensitive: {{provider: fake, model: gpt-local, max_retries: 0, use_for: [customer_data]}}
default: general
"""

CACHE_ON = "cache:\n  enabled: true\n"
# The seed policies (drafts, PII to the sensitive model, audit), the drafts labelled so a
# test can see the response filters run; pattern-only PII detection is enough here.
PII_POLICIES = (
    SEED_POLICIES.replace(
        "rule: all_outputs_are_drafts\n",
        "rule: all_outputs_are_drafts\n    params: {label: prefix}\n",
    )
    + "pii:\n  spacy_model: none\n"
)
PII_PROMPT = "write to alice@example.com about her invoice"
QUESTION = "what is the capital of France?"


class HeldUpstream(OpenAIUpstream):
    """The fake OpenAI upstream; :meth:`hold` keeps chat requests waiting until :meth:`let_go`.

    It wraps the fake's chat handler. A held request is not recorded yet (it is not in
    ``chat_requests()``); ``held`` counts them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = 0

    def hold(self) -> None:
        self.gate.clear()

    def let_go(self) -> None:
        self.gate.set()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.held += 1
        try:
            await self.gate.wait()
        finally:
            self.held -= 1
        return await super()._chat(request)


@pytest.fixture
async def fake() -> AsyncIterator[HeldUpstream]:
    async with HeldUpstream() as upstream:
        yield upstream
        upstream.let_go()


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(openclaw_home: Path, fake: HeldUpstream) -> AsyncIterator[Serve]:
    running: list[Served] = []

    async def start(policies: str = "", home: Path | None = None) -> Served:
        if home is not None:
            home.mkdir(exist_ok=True)
        served = await serve_gateway(
            home or openclaw_home, models=MODELS.format(url=fake.url), policies=policies
        )
        running.append(served)
        return served

    yield start
    fake.let_go()  # a failed test may have left requests held
    for s in running:
        await s.close()


# -- helpers ---------------------------------------------------------------------------


def upstream_calls(fake: OpenAIUpstream) -> int:
    return len(fake.chat_requests())


async def ask(
    gw: Served,
    content: str = QUESTION,
    *,
    model: str = "general",
    cache: str | None = None,
    client: openai.AsyncOpenAI | None = None,
    **body: Any,
) -> Result:
    """One non-streamed request through the OpenAI SDK, deterministic (``temperature: 0``)
    unless the test passes another temperature (``openai.NOT_GIVEN`` leaves it out)."""
    own = client is None
    c = client or sdk(gw)
    body.setdefault("temperature", 0)
    headers = {"X-OpenClaw-Cache": cache} if cache is not None else {}
    try:
        raw = await c.chat.completions.with_raw_response.create(
            model=model,
            messages=[{"role": "user", "content": content}],
            extra_headers=headers,
            **body,
        )
        return Result(raw.http_response.status_code, raw.headers, raw.http_response.json())
    except openai.APIStatusError as exc:
        return Result(exc.status_code, exc.response.headers, exc.response.json())
    finally:
        if own:
            await c.close()


@dataclass
class Streamed:
    headers: httpx.Headers
    text: str
    finish_reason: str | None
    tool_calls: dict[int, dict[str, str]]
    usage: dict[str, Any] | None
    facts: dict[str, Any]


async def ask_stream(
    gw: Served,
    content: str = QUESTION,
    *,
    model: str = "general",
    cache: str | None = None,
    client: openai.AsyncOpenAI | None = None,
    **body: Any,
) -> Streamed:
    """One streamed request, read with the OpenAI SDK's own SSE parser."""
    own = client is None
    c = client or sdk(gw)
    body.setdefault("temperature", 0)
    headers = {"X-OpenClaw-Cache": cache} if cache is not None else {}
    try:
        raw = await c.chat.completions.with_raw_response.create(
            model=model,
            messages=[{"role": "user", "content": content}],
            stream=True,
            extra_headers=headers,
            **body,
        )
        text, finish, usage, facts = "", None, None, {}
        calls: dict[int, dict[str, str]] = {}
        async for chunk in raw.parse():
            for ch in chunk.choices:
                text += ch.delta.content or ""
                for tc in ch.delta.tool_calls or []:
                    cur = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    cur["id"] += tc.id or ""
                    if tc.function is not None:
                        cur["name"] += tc.function.name or ""
                        cur["arguments"] += tc.function.arguments or ""
                finish = ch.finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage.model_dump(exclude_none=True)
            if chunk.model_extra and "openclaw" in chunk.model_extra:
                facts = chunk.model_extra["openclaw"]
        return Streamed(raw.headers, text, finish, calls, usage, facts)
    finally:
        if own:
            await c.close()


def content(r: Result) -> str:
    assert r.status == 200, r.body
    text: str = r.body["choices"][0]["message"]["content"]
    return text


def record_of(gw: Served, request_id: str) -> dict[str, Any]:
    [rec] = [r for r in gw.audit() if r.get("request_id") == request_id]
    return rec


def record(gw: Served, r: Result | Streamed) -> dict[str, Any]:
    return record_of(gw, r.headers["x-openclaw-request-id"])


def cache_stage(gw: Served) -> CacheStage:
    return next(s for s in gw.state.gateway.stages if isinstance(s, CacheStage))


async def cache_status(gw: Served) -> dict[str, Any]:
    data: dict[str, Any] = (await status(gw))["limits"]["cache"]
    return data


def count_arrivals(gw: Served, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the requests that reached the cache stage. With the memory state nothing in the
    stage suspends before a request has become the leader or attached to it as a follower,
    so once the count is N, all N have."""
    stage = cache_stage(gw)
    original = stage.before
    arrived = [0]

    async def before(ex: Exchange) -> None:
        arrived[0] += 1
        await original(ex)

    monkeypatch.setattr(stage, "before", before)
    return arrived


async def until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


# -- the cache: hits, opt-in, what bypasses it -------------------------------------------

OPT_INS = {
    "model_alias": ("", "cached", None),
    "policies": (CACHE_ON, "general", None),
    "header": ("", "general", "on"),
}


@pytest.mark.parametrize("opt_in", list(OPT_INS))
async def test_an_opted_in_deterministic_request_is_served_from_the_cache_the_second_time(
    serve: Serve, fake: HeldUpstream, opt_in: str
) -> None:
    policies, model, header = OPT_INS[opt_in]
    gw = await serve(policies)
    first = await ask(gw, model=model, cache=header)
    assert first.headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 1
    second = await ask(gw, model=model, cache=header)
    assert upstream_calls(fake) == 1
    assert second.headers["x-openclaw-cache"] == "hit"
    assert content(second) == content(first) == f"fake-openai heard: {QUESTION}"
    assert second.body["choices"][0]["finish_reason"] == "stop"
    assert second.body["openclaw"]["cache"] == "hit"
    miss, hit = record(gw, first), record(gw, second)
    assert miss["cache"] == "miss" and len(miss["attempts"]) == 1
    assert hit["cache"] == "hit" and hit["attempts"] == [] and hit["status"] == 200
    assert hit["model"] == model and hit["cache_key"] == miss["cache_key"]
    assert "cache_reason" not in hit
    c = await cache_status(gw)
    assert (c["hits"], c["misses"], c["stored"], c["entries"]) == (1, 1, 1, 1)
    assert c["enabled_for"] == ("every model" if opt_in == "policies" else ["cached"])


async def test_a_request_that_did_not_opt_in_is_not_cached(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve()
    first, second = await ask(gw), await ask(gw)
    assert content(first) == content(second)
    assert upstream_calls(fake) == 2
    assert "x-openclaw-cache" not in second.headers
    assert record(gw, second)["cache"] is None
    assert (await cache_status(gw))["entries"] == 0


@pytest.mark.parametrize("temperature", [0.7, openai.NOT_GIVEN], ids=["0.7", "unset"])
async def test_a_request_that_is_not_deterministic_bypasses_the_cache(
    serve: Serve, fake: HeldUpstream, temperature: Any
) -> None:
    gw = await serve()
    for _ in range(2):
        r = await ask(gw, model="cached", temperature=temperature)
        assert r.status == 200 and r.headers["x-openclaw-cache"] == "bypass"
        rec = record(gw, r)
        assert rec["cache"] == "bypass" and rec["cache_reason"] == "not_deterministic"
    assert upstream_calls(fake) == 2
    if temperature is openai.NOT_GIVEN:
        assert "temperature" not in fake.last.json
    assert (await cache_status(gw))["entries"] == 0


async def test_a_seed_makes_a_request_deterministic_enough_to_cache(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve()
    await ask(gw, model="cached", temperature=0.7, seed=7)
    r = await ask(gw, model="cached", temperature=0.7, seed=7)
    assert r.headers["x-openclaw-cache"] == "hit"
    other_seed = await ask(gw, model="cached", temperature=0.7, seed=8)
    assert other_seed.headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 2


async def test_a_request_for_several_choices_bypasses_the_cache(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve()
    # n > 1 is refused at the HTTP API; an in-process caller (a skill) can still ask for it
    body = {"model": "cached", "messages": [{"role": "user", "content": QUESTION}]}
    for _ in range(2):
        resp = await gw.state.gateway.chat({**body, "temperature": 0, "n": 2})
        assert resp["openclaw"]["cache"] == "bypass"
        assert gw.audit()[-1]["cache_reason"] == "several_choices"
    assert upstream_calls(fake) == 2
    assert (await ask(gw, model="cached", n=1)).headers["x-openclaw-cache"] == "miss"
    assert (await ask(gw, model="cached", n=1)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 3


async def test_the_off_header_bypasses_the_cache_and_calls_the_upstream_again(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve(CACHE_ON)
    first = await ask(gw)
    assert first.headers["x-openclaw-cache"] == "miss"
    off = await ask(gw, cache="off")
    assert upstream_calls(fake) == 2
    assert off.headers["x-openclaw-cache"] == "bypass"
    assert content(off) == content(first)
    rec = record(gw, off)
    assert rec["cache"] == "bypass" and rec["cache_reason"] == "header"
    assert len(rec["attempts"]) == 1
    # bypassing neither evicted nor replaced the entry
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 2


async def test_the_key_ignores_streaming_and_bookkeeping_but_not_the_request(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve(CACHE_ON)
    await ask(gw)
    same = [
        await ask(gw, user="someone-else"),
        await ask(gw, metadata={"task": "general_queries"}),
        await ask_stream(gw),
    ]
    assert [r.headers["x-openclaw-cache"] for r in same] == ["hit"] * 3
    different = [
        await ask(gw, content="what is the capital of Spain?"),
        await ask(gw, max_tokens=5),
        await ask(gw, top_p=0.5),
        await ask(gw, model="cached"),  # another alias, even for the same deployment
    ]
    assert [r.headers["x-openclaw-cache"] for r in different] == ["miss"] * 4
    assert upstream_calls(fake) == 5


async def test_a_failed_answer_is_not_cached(serve: Serve, fake: HeldUpstream) -> None:
    gw = await serve(CACHE_ON)
    fake.enqueue("500")
    failed = await ask(gw)
    assert failed.status == 502
    assert record(gw, failed)["cache"] == "miss"
    retried = await ask(gw)
    assert retried.status == 200 and retried.headers["x-openclaw-cache"] == "miss"
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 2


@pytest.mark.parametrize("fault", ["stream_error:2", "cut:2", "truncate:2"])
async def test_a_stream_that_did_not_finish_is_not_cached(
    serve: Serve, fake: HeldUpstream, fault: str
) -> None:
    gw = await serve(CACHE_ON)
    fake.enqueue(fault)
    with pytest.raises(openai.APIError):
        await ask_stream(gw)
    assert (await cache_status(gw))["stored"] == 0
    r = await ask(gw)
    assert r.headers["x-openclaw-cache"] == "miss" and content(r).endswith(QUESTION)
    assert upstream_calls(fake) == 2


async def test_an_answer_above_max_entry_bytes_is_not_kept(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve("cache:\n  enabled: true\n  max_entry_bytes: 1024\n")
    fake.enqueue(Reply(text="long " * 400))
    first = await ask(gw)
    assert content(first).startswith("long long")
    assert record(gw, first)["cache_reason"] == "too_large"
    assert (await ask(gw)).headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 2


async def test_the_least_recently_used_entry_goes_first(serve: Serve, fake: HeldUpstream) -> None:
    gw = await serve("cache:\n  enabled: true\n  max_entries: 2\n")
    await ask(gw, "a")
    await ask(gw, "b")
    assert (await ask(gw, "a")).headers["x-openclaw-cache"] == "hit"  # b is now the oldest use
    await ask(gw, "c")
    assert (await ask(gw, "a")).headers["x-openclaw-cache"] == "hit"
    assert (await ask(gw, "c")).headers["x-openclaw-cache"] == "hit"
    assert (await ask(gw, "b")).headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 4


# -- expiry ---------------------------------------------------------------------------------


async def test_an_entry_expires_after_its_ttl(
    serve: Serve, fake: HeldUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await serve("cache:\n  enabled: true\n  ttl_seconds: 60\n")
    memory = cache_stage(gw).state.primary
    assert isinstance(memory, MemoryState)
    now = [1000.0]
    monkeypatch.setattr(memory, "clock", lambda: now[0])
    await ask(gw)
    now[0] += 59.9
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    now[0] += 0.2  # 60.1 s after it was stored
    assert (await ask(gw)).headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 2
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"  # stored afresh
    assert upstream_calls(fake) == 2


async def test_a_redis_entry_expires_after_its_ttl(
    serve: Serve, fake: HeldUpstream, redis_server: RedisServer
) -> None:
    gw = await serve(state_yaml(redis_server.url) + CACHE_ON + "  ttl_seconds: 0.3\n")
    await ask(gw)
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    await asyncio.sleep(0.35)
    assert (await ask(gw)).headers["x-openclaw-cache"] == "miss"
    assert upstream_calls(fake) == 2


# -- PII ------------------------------------------------------------------------------------


async def test_a_pii_answer_is_not_cached_when_the_state_is_not_on_this_machine(
    serve: Serve, fake: HeldUpstream, redis_server: RedisServer
) -> None:
    gw = await serve(PII_POLICIES + CACHE_ON + state_yaml(redis_server.url, local="false"))
    for _ in range(2):
        r = await ask(gw, PII_PROMPT)
        assert r.status == 200 and r.headers["x-openclaw-model"] == "sensitive"
        assert r.headers["x-openclaw-cache"] == "bypass"
        rec = record(gw, r)
        assert rec["cache"] == "bypass" and rec["cache_reason"] == "pii_not_local"
        assert "cache_key" not in rec
    assert upstream_calls(fake) == 2
    # the shared (here: Redis) cache still serves requests without PII
    await ask(gw)
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 3
    c = await cache_status(gw)
    assert c["entries"] == 1 and c["bypassed"] == 2


@pytest.mark.parametrize("backend", ["memory", "redis_on_loopback"])
async def test_a_pii_answer_is_cached_when_the_state_is_on_this_machine(
    serve: Serve, fake: HeldUpstream, request: pytest.FixtureRequest, backend: str
) -> None:
    state = ""
    if backend == "redis_on_loopback":  # local unless state.local says otherwise
        state = state_yaml(request.getfixturevalue("redis_server").url)
    gw = await serve(PII_POLICIES + CACHE_ON + state)
    first = await ask(gw, PII_PROMPT)
    second = await ask(gw, PII_PROMPT)
    assert upstream_calls(fake) == 1
    assert second.headers["x-openclaw-model"] == "sensitive"
    assert second.headers["x-openclaw-cache"] == "hit"
    # stored before the response filters: the hit gets its own draft label, once
    assert content(second) == content(first) == f"{DRAFT_LABEL}fake-openai heard: {PII_PROMPT}"
    rec = record(gw, second)
    assert rec["cache"] == "hit" and "cache_reason" not in rec
    assert rec["model"] == "sensitive" and rec["draft"] is True
    pii = [p for p in rec["policies"] if p["rule"] == "if_context_contains_pii_use_sensitive_model"]
    assert pii and pii[0]["outcome"] == "applied"
    # the audit policy captured the hit's answer too (redacted, as configured)
    assert rec["content"]["response"] is not None


# -- streams ----------------------------------------------------------------------------


DRAFTS = "policies:\n  - {name: drafts, rule: all_outputs_are_drafts, params: {label: prefix}}\n"


@pytest.mark.parametrize("filled_by", ["complete", "stream"])
async def test_a_cached_answer_is_replayed_as_a_stream(
    serve: Serve, fake: HeldUpstream, filled_by: str
) -> None:
    gw = await serve(DRAFTS + CACHE_ON)
    if filled_by == "stream":
        first = await ask_stream(gw)
        assert first.headers["x-openclaw-cache"] == "miss"
        expected, usage = first.text, None
    else:
        r = await ask(gw)
        expected, usage = content(r), r.body["usage"]
    # the draft label comes from this request's own filters; the entry has none
    assert expected == f"{DRAFT_LABEL}fake-openai heard: {QUESTION}"
    assert upstream_calls(fake) == 1
    replay = await ask_stream(gw, stream_options={"include_usage": True})
    assert upstream_calls(fake) == 1
    assert replay.headers["x-openclaw-cache"] == "hit"
    assert replay.headers["content-type"].startswith("text/event-stream")
    assert replay.text == expected and replay.finish_reason == "stop"
    assert replay.facts["cache"] == "hit" and replay.facts["draft"] is True
    # the gateway always asks a streaming upstream for usage, so the entry has it either way
    assert replay.usage is not None and replay.usage["completion_tokens"] > 0
    if usage is not None:
        assert replay.usage == usage
    rec = record(gw, replay)
    assert rec["stream"] is True and rec["cache"] == "hit" and rec["stream_cut"] is False
    assert rec["chars_delivered"] == len(expected)
    # and a complete answer from the same entry
    r = await ask(gw)
    assert r.headers["x-openclaw-cache"] == "hit" and content(r) == expected
    assert upstream_calls(fake) == 1


async def test_a_cached_tool_call_is_replayed_as_a_stream(serve: Serve, fake: HeldUpstream) -> None:
    gw = await serve(CACHE_ON)
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object"}},
        }
    ]
    fake.enqueue(tool_calls=[("get_weather", {"city": "Paris"})])
    first = await ask_stream(gw, tools=tools)
    assert first.finish_reason == "tool_calls"
    replay = await ask_stream(gw, tools=tools)
    assert replay.headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 1
    assert replay.finish_reason == "tool_calls"
    assert replay.tool_calls == first.tool_calls
    [call] = replay.tool_calls.values()
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["id"].startswith("call_")
    complete = await ask(gw, tools=tools)
    [tc] = complete.body["choices"][0]["message"]["tool_calls"]
    assert tc["id"] == call["id"] and tc["function"]["name"] == "get_weather"


# -- deduplication ---------------------------------------------------------------------


async def test_twenty_identical_concurrent_requests_make_one_upstream_call(
    serve: Serve, fake: HeldUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await serve()  # no cache: deduplication is on by itself
    arrived = count_arrivals(gw, monkeypatch)
    fake.hold()
    client = sdk(gw)
    tasks = [asyncio.create_task(ask(gw, client=client)) for _ in range(20)]
    await until(lambda: arrived[0] == 20 and fake.held == 1, "20 requests, 1 upstream call")
    fake.let_go()
    results = await asyncio.gather(*tasks)
    await client.close()
    assert upstream_calls(fake) == 1
    assert [r.status for r in results] == [200] * 20
    assert {content(r) for r in results} == {f"fake-openai heard: {QUESTION}"}
    [leader] = [r for r in results if "x-openclaw-dedup" not in r.headers]
    leader_id = leader.headers["x-openclaw-request-id"]
    followers = [r for r in results if r is not leader]
    assert {r.headers["x-openclaw-dedup"] for r in followers} == {leader_id}
    assert len({r.headers["x-openclaw-request-id"] for r in results}) == 20
    assert all(r.body["openclaw"]["request_id"] != leader_id for r in followers)
    recs = [rec for rec in gw.audit() if "request_id" in rec]
    assert len(recs) == 20
    assert "dedup_of" not in record_of(gw, leader_id)
    assert len(record_of(gw, leader_id)["attempts"]) == 1
    deduped = [rec for rec in recs if rec.get("dedup_of") == leader_id]
    assert len(deduped) == 19 and all(rec["attempts"] == [] for rec in deduped)
    c = await cache_status(gw)
    assert c["deduplicated"] == 19 and c["in_flight"] == 0


async def test_followers_of_a_streamed_leader_get_its_answer_streamed_or_not(
    serve: Serve, fake: HeldUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await serve(CACHE_ON)
    arrived = count_arrivals(gw, monkeypatch)
    fake.hold()
    leader = asyncio.create_task(ask_stream(gw))
    await until(lambda: fake.held == 1, "the leader's upstream call")
    followers: list[asyncio.Task[Any]] = [
        asyncio.create_task(ask(gw)),
        asyncio.create_task(ask_stream(gw)),
    ]
    await until(lambda: arrived[0] == 3, "two followers")
    fake.let_go()
    lead = await leader
    plain, streamed = [await t for t in followers]
    leader_id = lead.headers["x-openclaw-request-id"]
    assert upstream_calls(fake) == 1
    assert content(plain) == streamed.text == lead.text == f"fake-openai heard: {QUESTION}"
    assert plain.headers["x-openclaw-dedup"] == streamed.headers["x-openclaw-dedup"] == leader_id
    assert streamed.finish_reason == "stop"
    # the leader's answer was stored as well: the next one is a plain hit
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 1


async def test_when_the_leader_fails_the_followers_make_their_own_calls(
    serve: Serve, fake: HeldUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await serve()
    arrived = count_arrivals(gw, monkeypatch)
    fake.enqueue("500")  # the first call to get through: the leader's
    fake.hold()
    client = sdk(gw)
    leader = asyncio.create_task(ask(gw, client=client))
    await until(lambda: fake.held == 1, "the leader's upstream call")
    followers = [asyncio.create_task(ask(gw, client=client)) for _ in range(4)]
    await until(lambda: arrived[0] == 5, "four followers")
    fake.let_go()
    failed = await leader
    results = await asyncio.gather(*followers)
    await client.close()
    assert failed.status == 502
    assert [r.status for r in results] == [200] * 4
    assert all("x-openclaw-dedup" not in r.headers for r in results)
    assert all("dedup_of" not in record(gw, r) for r in results)
    assert all(len(record(gw, r)["attempts"]) == 1 for r in results)
    assert upstream_calls(fake) == 5
    assert (await cache_status(gw))["in_flight"] == 0


async def test_when_the_leaders_client_goes_away_the_followers_make_their_own_calls(
    serve: Serve, fake: HeldUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await serve()
    arrived = count_arrivals(gw, monkeypatch)
    fake.hold()
    # An in-process leader, so the test can cancel it the way the daemon cancels the
    # handler of a client that disconnected (aiohttp's handler_cancellation).
    body = {"model": "general", "messages": [{"role": "user", "content": QUESTION}]}
    leader = asyncio.create_task(gw.state.gateway.chat({**body, "temperature": 0}))
    await until(lambda: fake.held == 1, "the leader's upstream call")
    followers = [asyncio.create_task(ask(gw)) for _ in range(3)]
    await until(lambda: arrived[0] == 4, "three followers")
    leader.cancel()
    await until(lambda: fake.held == 3, "the followers' own upstream calls")
    fake.let_go()
    results = await asyncio.gather(*followers)
    assert leader.cancelled()
    assert [content(r) for r in results] == [f"fake-openai heard: {QUESTION}"] * 3
    assert all("x-openclaw-dedup" not in r.headers for r in results)
    assert upstream_calls(fake) == 3  # the leader's call never got an answer
    assert (await cache_status(gw))["in_flight"] == 0


@pytest.mark.parametrize("kind", ["off_header", "not_deterministic"])
async def test_requests_that_may_not_share_an_answer_are_not_deduplicated(
    serve: Serve, fake: HeldUpstream, kind: str
) -> None:
    gw = await serve()
    extra: dict[str, Any] = {"cache": "off"} if kind == "off_header" else {"temperature": 0.9}
    fake.hold()
    tasks = [asyncio.create_task(ask(gw, **extra)) for _ in range(3)]
    await until(lambda: fake.held == 3, "three upstream calls")
    fake.let_go()
    results = await asyncio.gather(*tasks)
    assert [r.status for r in results] == [200] * 3
    assert all("x-openclaw-dedup" not in r.headers for r in results)
    assert upstream_calls(fake) == 3


# -- metrics and a shared cache ---------------------------------------------------------------


async def test_hits_and_misses_move_the_prometheus_counters(
    serve: Serve, fake: HeldUpstream
) -> None:
    gw = await serve()
    await ask(gw, model="cached")  # miss
    await ask(gw, model="cached")  # hit
    await ask_stream(gw, model="cached")  # hit
    await ask(gw, model="cached", cache="off")  # bypass: neither
    await ask(gw, model="cached", temperature=1)  # bypass: neither
    await ask(gw, "something else", model="cached")  # miss
    await ask(gw)  # not opted in: neither
    async with httpx.AsyncClient(base_url=gw.base, headers=gw.auth) as c:
        text = (await c.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    route = (("route_id", "cached"),)
    assert samples[("openclaw_cache_hits_total", route)] == 2
    assert samples[("openclaw_cache_misses_total", route)] == 2
    assert ("openclaw_cache_hits_total", (("route_id", "general"),)) not in samples
    assert upstream_calls(fake) == 5


async def test_the_memory_cache_survives_a_config_reload(serve: Serve, fake: HeldUpstream) -> None:
    gw = await serve(CACHE_ON)
    await ask(gw)
    (gw.home / "policies.yaml").write_text(CACHE_ON + "  ttl_seconds: 600\n")
    before = gw.state.gateway
    assert (await gw.state.reload("test")).ok
    assert gw.state.gateway is not before
    assert (await ask(gw)).headers["x-openclaw-cache"] == "hit"
    assert upstream_calls(fake) == 1


async def test_gateways_sharing_redis_share_one_cache(
    serve: Serve, fake: HeldUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    state = state_yaml(redis_server.url)  # one key prefix for both
    first = await serve(state + CACHE_ON)
    second = await serve(state + CACHE_ON, home=tmp_path / "second-home")
    miss = await ask(first)
    hit = await ask(second)
    assert miss.headers["x-openclaw-cache"] == "miss"
    assert hit.headers["x-openclaw-cache"] == "hit" and content(hit) == content(miss)
    assert upstream_calls(fake) == 1
    assert (await cache_status(second))["entries"] == 1
