"""Routing strategies end to end: the gateway in front of several fake OpenAI upstreams.

``test_strategies.py`` checks the Orderer on its own; here every strategy is driven through
the real HTTP gateway (official SDK, ``max_retries=0``) against separate fake upstreams, one
per deployment, and the tests look at where requests actually landed: each fake's own
request count, the ``X-OpenClaw-Provider`` header and the audit record's ``attempts``.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from fakes import OpenAIUpstream, Reply
from harness import Served, serve_gateway
from openclaw.routing import strategies


@pytest.fixture
async def ups() -> AsyncIterator[dict[str, OpenAIUpstream]]:
    """Three independent fakes, each answering with its own name."""
    async with (
        OpenAIUpstream(default_text="from a") as a,
        OpenAIUpstream(default_text="from b") as b,
        OpenAIUpstream(default_text="from c") as c,
    ):
        yield {"a": a, "b": b, "c": c}


def provider(name: str, url: str, fault: str | None = None) -> str:
    """A providers: entry; ``fault`` makes the fake answer every call with it."""
    headers = f', headers: {{X-Fake-Fault: "{fault}"}}' if fault else ""
    return f'  {name}: {{type: openai_compatible, base_url: "{url}"{headers}}}\n'


def models_yaml(
    providers: str,
    deployments: list[str],
    *,
    strategy: str,
    breaker: str = "breaker: {failures: 2, cooldown_seconds: 30}",
    timeouts: str = "{connect: 1, first_token: 2, total: 5}",
    extra: str = "",
) -> str:
    deps = "".join(f"      - {{{d}}}\n" for d in deployments)
    return (
        f"{breaker}\nproviders:\n{providers}models:\n  general:\n    strategy: {strategy}\n"
        f"    deployments:\n{deps}    max_retries: 1\n    timeouts: {timeouts}\n{extra}"
    )


@contextlib.asynccontextmanager
async def gateway(home: Path, models: str) -> AsyncIterator[tuple[Served, openai.AsyncOpenAI]]:
    served = await serve_gateway(home, models=models)
    client = openai.AsyncOpenAI(base_url=served.url, api_key=served.token, max_retries=0)
    try:
        yield served, client
    finally:
        await client.close()
        await served.close()


async def ask(
    client: openai.AsyncOpenAI, *, service: str | None = None, text: str = "hello"
) -> tuple[str, Any]:
    """One non-streaming request; returns (X-OpenClaw-Provider, parsed completion)."""
    raw = await client.chat.completions.with_raw_response.create(
        model="general",
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-OpenClaw-Service": service} if service else None,
    )
    return raw.headers["x-openclaw-provider"], raw.parse()


async def ask_stream(client: openai.AsyncOpenAI, text: str = "hello") -> tuple[str, str]:
    """One streamed request; returns (X-OpenClaw-Provider, the concatenated text)."""
    raw = await client.chat.completions.with_raw_response.create(
        model="general", messages=[{"role": "user", "content": text}], stream=True
    )
    stream = raw.parse()
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return raw.headers["x-openclaw-provider"], "".join(parts)


def chats(fake: OpenAIUpstream) -> int:
    return len(fake.chat_requests())


# -- round_robin and weighted ------------------------------------------------------------


async def test_round_robin_rotates_requests_across_every_deployment(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    provs = "".join(provider(n, f.url) for n, f in ups.items())
    deps = [f"provider: {n}, model: m-{n}" for n in ups]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="round_robin")) as (
        gw,
        client,
    ):
        served = [(await ask(client))[0] for _ in range(6)]
        assert served == ["a", "b", "c", "a", "b", "c"]
        assert [chats(f) for f in ups.values()] == [2, 2, 2]
        # One attempt each: rotation, not failover, put every request where it landed.
        assert [[a["provider"] for a in r["attempts"]] for r in gw.audit()] == [[p] for p in served]


async def test_round_robin_rotates_only_when_the_alias_is_used_also_as_a_fallback(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    """Planning another alias's fallbacks must not turn the rotation.

    ``other`` lists ``general`` as its fallback. Requests alternating between the two used to
    send every ``general`` request to "a": planning each ``other`` request consumed the turn
    meant for "b" even though ``general`` was never reached.
    """
    provs = (
        provider("a", ups["a"].url)
        + provider("b", ups["b"].url)
        + provider("c", ups["c"].url)
        + provider("down", ups["c"].url, fault="500")
    )
    deps = ["provider: a, model: m-a", "provider: b, model: m-b"]
    extra = (
        "  other: {provider: c, model: m-c, fallbacks: [general]}\n"
        "  broken: {provider: down, model: m-down, max_retries: 0, fallbacks: [general]}\n"
    )
    models = models_yaml(
        provs, deps, strategy="round_robin", extra=extra, breaker="breaker: {failures: 10}"
    )
    async with gateway(openclaw_home, models) as (_gw, client):
        direct = []
        for _ in range(4):
            direct.append((await ask(client))[0])
            resp = await client.chat.completions.create(
                model="other", messages=[{"role": "user", "content": "x"}]
            )
            assert resp.choices[0].message.content == "from c"  # general was not needed
        assert direct == ["a", "b", "a", "b"]

        # A request that does reach the fallback takes its turn like a direct one.
        via_fallback = []
        for _ in range(4):
            raw = await client.chat.completions.with_raw_response.create(
                model="broken", messages=[{"role": "user", "content": "y"}]
            )
            assert raw.headers["x-openclaw-model"] == "general"
            via_fallback.append(raw.headers["x-openclaw-provider"])
        assert via_fallback == ["a", "b", "a", "b"]
        assert (await ask(client))[0] == "a"


async def test_weighted_90_10_lands_in_proportion_and_never_picks_a_weight_0_deployment(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The strategy draws with the module's `random`; a seeded generator makes the split
    # reproducible (the bounds below would hold for almost any seed anyway).
    monkeypatch.setattr(strategies, "random", random.Random(20240611))
    provs = "".join(provider(n, f.url) for n, f in ups.items())
    deps = [
        "provider: a, model: m-a, weight: 90",
        "provider: b, model: m-b, weight: 10",
        "provider: c, model: m-c, weight: 0",
    ]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="weighted")) as (
        gw,
        client,
    ):
        served = Counter([(await ask(client))[0] for _ in range(100)])
        assert served["a"] + served["b"] == 100
        assert 78 <= served["a"] <= 98, served  # 90 nominal
        assert served["b"] >= 2, served
        assert served["c"] == 0 and chats(ups["c"]) == 0  # weight 0: never the first choice
        assert chats(ups["a"]) == served["a"] and chats(ups["b"]) == served["b"]
        assert all(len(r["attempts"]) == 1 for r in gw.audit())


async def test_weighted_skips_a_dead_deployment_once_its_breaker_is_open(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strategies, "random", random.Random(7))
    # "b" answers 500 to everything; with failures: 2 it may cost two requests a detour.
    provs = provider("a", ups["a"].url) + provider("b", ups["b"].url, fault="500")
    deps = ["provider: a, model: m-a, weight: 50", "provider: b, model: m-b, weight: 50"]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="weighted")) as (
        gw,
        client,
    ):
        served = [(await ask(client))[0] for _ in range(20)]
        assert served == ["a"] * 20  # every request answered by the live deployment
        assert chats(ups["b"]) == 2  # drawn first ~10 times, called only until the breaker opened
        detours = [r["attempts"] for r in gw.audit() if len(r["attempts"]) > 1]
        assert [[(a["provider"], a["status"]) for a in att] for att in detours] == [
            [("b", 500), ("a", None)]
        ] * 2
        snap = gw.state.gateway.dispatcher.breakers.snapshot()
        assert snap["b/m-b"]["state"] == "open"


# -- lowest_latency ----------------------------------------------------------------------


async def test_lowest_latency_sends_traffic_to_the_fast_deployment_after_measuring_both(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    # "a" (listed first) answers every call 100 ms late; "b" at once.
    provs = provider("a", ups["a"].url, fault="hang:0.1") + provider("b", ups["b"].url)
    deps = ["provider: a, model: m-a", "provider: b, model: m-b"]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="lowest_latency")) as (
        gw,
        client,
    ):
        served = [(await ask(client))[0] for _ in range(10)]
        # Unmeasured deployments go first, in file order; then the faster one wins.
        assert served[:2] == ["a", "b"]
        assert served[2:].count("b") >= 7, served  # one scheduling hiccup tolerated
        assert chats(ups["a"]) <= 2
        lat = gw.state.gateway.dispatcher.latency
        assert (lat.get("a/m-a") or 0) >= 100 > (lat.get("b/m-b") or 1e9)


async def test_lowest_latency_puts_a_failing_deployment_behind_a_healthy_one(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    # "a" (listed first, so tried first while unmeasured) answers every call with a 500.
    provs = provider("a", ups["a"].url, fault="500") + provider("b", ups["b"].url)
    deps = ["provider: a, model: m-a", "provider: b, model: m-b"]
    models = models_yaml(
        provs,
        deps,
        strategy="lowest_latency",
        breaker="breaker: {failures: 5, cooldown_seconds: 30}",  # the breaker stays closed
    )
    async with gateway(openclaw_home, models) as (gw, client):
        served = [(await ask(client))[0] for _ in range(4)]
        assert served == ["b"] * 4
        # Only the first request tried "a": its failure counts as a slow answer, so "a" is
        # no longer unmeasured and goes behind "b" while its breaker is still closed.
        assert chats(ups["a"]) == 1
        assert [len(r["attempts"]) for r in gw.audit()] == [2, 1, 1, 1]


async def test_lowest_latency_for_streams_follows_time_to_first_token(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    # `hang` holds the response head back, so the first chunk of "a" comes 100 ms late.
    provs = provider("a", ups["a"].url, fault="hang:0.1") + provider("b", ups["b"].url)
    deps = ["provider: a, model: m-a", "provider: b, model: m-b"]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="lowest_latency")) as (
        gw,
        client,
    ):
        results = [await ask_stream(client) for _ in range(8)]
        served = [p for p, _ in results]
        assert all(text == f"from {p}" for p, text in results)
        assert served[:2] == ["a", "b"]
        assert served[2:].count("b") >= 5, served
        assert chats(ups["a"]) <= 2
        records = gw.audit()
        assert all(r["stream"] and r["status"] == 200 for r in records)
        # The slow variant's time to first token is what the gateway saw and remembered.
        assert records[0]["ttft_ms"] >= 100 > records[1]["ttft_ms"]
        lat = gw.state.gateway.dispatcher.latency
        assert (lat.get("a/m-a") or 0) >= 100 > (lat.get("b/m-b") or 1e9)


# -- lowest_cost -------------------------------------------------------------------------

COST_DEPLOYMENTS = [
    # listed first but expensive
    "provider: a, model: m-a, cost_per_million_input_tokens: 10, cost_per_million_output_tokens: 30",
    "provider: b, model: m-b, cost_per_million_input_tokens: 0.5, cost_per_million_output_tokens: 1.5",
]


async def test_lowest_cost_uses_the_cheaper_deployment_and_fails_over_to_the_dearer_at_once(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    provs = provider("a", ups["a"].url) + provider("b", ups["b"].url)
    async with gateway(
        openclaw_home, models_yaml(provs, COST_DEPLOYMENTS, strategy="lowest_cost")
    ) as (gw, client):
        ups["b"].enqueue(Reply(usage=(1000, 200)))
        assert (await ask(client))[0] == "b"
        assert chats(ups["a"]) == 0

        ups["b"].enqueue("500")
        ups["a"].enqueue(Reply(usage=(1000, 200)))
        t0 = time.perf_counter()
        prov, resp = await ask(client)
        elapsed = time.perf_counter() - t0
        assert prov == "a" and resp.choices[0].message.content == "from a"
        assert elapsed < 0.5  # next deployment at once, no backoff first

        cheap, failover = gw.audit()
        assert cheap["provider"] == "b"
        assert cheap["cost_usd"] == pytest.approx((1000 * 0.5 + 200 * 1.5) / 1e6)
        assert [(a["provider"], a["outcome"], a["status"]) for a in failover["attempts"]] == [
            ("b", "upstream_error", 500),
            ("a", "ok", None),
        ]
        # Priced at the deployment that served, not the one that was tried first.
        assert failover["provider"] == "a" and failover["provider_model"] == "m-a"
        assert (failover["prompt_tokens"], failover["completion_tokens"]) == (1000, 200)
        assert failover["cost_usd"] == pytest.approx((1000 * 10 + 200 * 30) / 1e6)


async def test_lowest_cost_stream_fails_over_and_is_priced_at_the_deployment_that_served(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    provs = provider("a", ups["a"].url) + provider("b", ups["b"].url)
    async with gateway(
        openclaw_home, models_yaml(provs, COST_DEPLOYMENTS, strategy="lowest_cost")
    ) as (gw, client):
        ups["b"].enqueue("500")
        ups["a"].enqueue(Reply(usage=(400, 100)))
        prov, text = await ask_stream(client)
        assert (prov, text) == ("a", "from a")
        (rec,) = gw.audit()
        assert [(a["provider"], a["outcome"]) for a in rec["attempts"]] == [
            ("b", "upstream_error"),
            ("a", "ok"),
        ]
        assert (rec["prompt_tokens"], rec["completion_tokens"]) == (400, 100)
        assert rec["cost_usd"] == pytest.approx((400 * 10 + 100 * 30) / 1e6)


# -- canary ------------------------------------------------------------------------------


async def test_canary_is_sticky_per_service_and_splits_services_by_percent(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    provs = provider("main", ups["a"].url) + provider("canary", ups["b"].url)
    deps = [
        "provider: main, model: stable, percent: 80",
        "provider: canary, model: next, percent: 20",
    ]
    async with gateway(openclaw_home, models_yaml(provs, deps, strategy="canary")) as (
        gw,
        client,
    ):
        seen: dict[str, set[str]] = {}
        for _ in range(4):
            for svc in ("billing", "search", "ops", "hr", "web", "mail"):
                seen.setdefault(svc, set()).add((await ask(client, service=svc))[0])
        assert all(len(v) == 1 for v in seen.values()), seen  # one variant per service
        on_canary = [s for s, v in seen.items() if v == {"canary"}]
        assert chats(ups["b"]) == 4 * len(on_canary)
        assert {r["service"] for r in gw.audit()} == set(seen)

        ups["a"].clear()
        ups["b"].clear()
        variants = Counter([(await ask(client, service=f"svc-{i}"))[0] for i in range(150)])
        assert variants["main"] + variants["canary"] == 150
        assert 15 <= variants["canary"] <= 45, variants  # 20% of 150 = 30 nominal
        assert chats(ups["b"]) == variants["canary"]


# -- a primary whose connect hangs ---------------------------------------------------------


@contextlib.contextmanager
def connect_blackhole() -> Iterator[int]:
    """A loopback port where ``connect()`` hangs instead of being refused.

    A listener with ``listen(0)`` that never calls ``accept()``: once one connection fills
    its accept queue, Linux drops further SYNs (``tcp_abort_on_overflow`` is 0 by default)
    and the client sits in SYN_SENT, retrying at 1 s, 3 s... So a connect to it times out
    like one to a host that is down, rather than failing at once with ECONNREFUSED. The
    helper checks the trick works (the last filler connection must still be pending) and
    skips the test where it does not.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        _, writable, _ = select.select([], [fillers[-1]], [], 0.1)
        if writable:
            pytest.skip("a full listen backlog does not make connect() hang on this kernel")
        yield port
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_connect_that_hangs_fails_over_to_a_fallback_alias_within_the_connect_timeout(
    openclaw_home: Path, ups: dict[str, OpenAIUpstream]
) -> None:
    """A hard-down primary costs one connect timeout, then its breaker spares later requests.

    The primary's address accepts no connection and refuses none (see connect_blackhole),
    so only ``timeouts.connect`` (0.3 s) ends the attempt; the request is then served by the
    alias named in ``fallbacks:``, not by a second deployment of the same alias.
    """
    connect = 0.3
    with connect_blackhole() as port:
        models = (
            "breaker: {failures: 1, cooldown_seconds: 30}\n"
            "providers:\n"
            + provider("dead", f"http://127.0.0.1:{port}/v1")
            + provider("spare", ups["b"].url)
            + "models:\n"
            "  general:\n"
            "    deployments: [{provider: dead, model: d}]\n"
            "    fallbacks: [backup]\n"
            "    max_retries: 1\n"
            f"    timeouts: {{connect: {connect}, first_token: 2, total: 5}}\n"
            "  backup: {provider: spare, model: s}\n"
        )
        async with gateway(openclaw_home, models) as (gw, client):
            t0 = time.perf_counter()
            raw = await client.chat.completions.with_raw_response.create(
                model="general", messages=[{"role": "user", "content": "hi"}]
            )
            first = time.perf_counter() - t0
            assert raw.headers["x-openclaw-provider"] == "spare"
            assert raw.headers["x-openclaw-model"] == "backup"
            assert raw.parse().choices[0].message.content == "from b"
            # It really waited for the connect timeout (a refused port would fail in ~1 ms),
            # and not much longer: no backoff, no second try of the dead deployment.
            assert connect - 0.02 <= first < connect + 0.5, first

            t0 = time.perf_counter()
            raw = await client.chat.completions.with_raw_response.create(
                model="general", messages=[{"role": "user", "content": "again"}]
            )
            second = time.perf_counter() - t0
            assert raw.headers["x-openclaw-model"] == "backup"
            assert second < connect, second  # breaker open: no second connect wait

            r1, r2 = gw.audit()
            assert r1["fallback"] == "general" and r2["fallback"] == "general"
            assert [(a["deployment"], a["outcome"]) for a in r1["attempts"]] == [
                ("dead/d", "upstream_timeout"),
                ("spare/s", "ok"),
            ]
            assert r1["attempts"][0]["latency_ms"] >= connect * 1000 - 20
            assert [a["deployment"] for a in r2["attempts"]] == ["spare/s"]
            snap = gw.state.gateway.dispatcher.breakers.snapshot()
            assert snap["dead/d"]["state"] == "open"
            assert chats(ups["b"]) == 2
