"""What is measured: scenarios, each a system and a set of payloads at 1 and 32 connections.

A scenario names the system it runs against (``direct``, ``gateway:<variant>`` from
:data:`benchmarks.systems.GATEWAY_VARIANTS`, ``litellm:<workers>``), the payloads, the
connection counts, and whether requests stream. The runner groups points by system so each
system starts once. To add a scenario: add a gateway variant that writes its config, then one
entry in :data:`SCENARIOS`; the table, JSON and chart pick it up. Scenario "L" (not in the
issue's numbering) is the limits stage of the access-control issue, against pass-through;
"I" are the ingress APIs of issue 15 (Messages, Responses, Embeddings), each against chat
pass-through at one connection.
The soak is not a scenario: it has its own step in :mod:`benchmarks.run`. Scenario "H" is
the headline: the default install (the seed's policies, spaCy found, the NER worker pool),
every request a new prompt; its ``-cached`` twin repeats one prompt so the PII cache answers,
the only rows where a cache may help.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.payloads import PAYLOADS

ALL_PAYLOADS = tuple(PAYLOADS)
CONNECTIONS = (1, 32)


@dataclass(frozen=True)
class Scenario:
    key: str
    number: str  # the numbering, shown in the table
    title: str
    system: str
    payloads: tuple[str, ...] = ALL_PAYLOADS
    connections: tuple[int, ...] = CONNECTIONS
    stream: bool = False
    needs: str | None = None  # "litellm": only with --with-litellm
    quick: bool = True  # part of --quick (the CI smoke test)
    repeat: bool = False  # every request the same body: the PII cache answers (cache rows)
    api: str = "chat"  # the ingress API the requests speak (benchmarks.payloads.API_PATHS)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("direct", "1", "Direct to upstream", "direct"),
    Scenario("passthrough", "2", "Gateway pass-through", "gateway:passthrough"),
    Scenario("seed-pattern", "3", "Seed policies, pattern-only PII", "gateway:seed-pattern"),
    Scenario(
        "seed-default",
        "H",
        "Seed policies, default install (spaCy names on, NER worker pool)",
        "gateway:seed-default",
        quick=False,
    ),
    Scenario(
        "seed-default-cached",
        "H",
        "Seed policies, default install, repeated prompt (PII cache hits)",
        "gateway:seed-default",
        ("clean-200", "name-200"),
        quick=False,
        repeat=True,
    ),
    Scenario(
        "seed-default-1worker",
        "H",
        "Seed policies, default install with 1 NER worker (pool scaling)",
        "gateway:seed-default-1worker",
        ("name-200", "clean-4k"),
        (32,),
        quick=False,
    ),
    Scenario("seed-spacy", "4", "Seed policies, spaCy PII", "gateway:seed-spacy", quick=False),
    Scenario("stream-direct", "5", "Streaming, direct", "direct", ("clean-200",), stream=True),
    Scenario(
        "stream-passthrough",
        "5",
        "Streaming, gateway pass-through",
        "gateway:passthrough",
        ("clean-200",),
        stream=True,
    ),
    Scenario(
        "stream-seed",
        "5",
        "Streaming, seed policies (pattern-only)",
        "gateway:seed-pattern",
        ("clean-200",),
        stream=True,
        quick=False,
    ),
    Scenario(
        "limits-memory",
        "L",
        "Limits stage, memory state",
        "gateway:limits-memory",
        ("clean-200",),
    ),
    Scenario(
        "limits-redis",
        "L",
        "Limits stage, Redis state",
        "gateway:limits-redis",
        ("clean-200",),
        quick=False,
    ),
    # Each ingress against chat pass-through (the same gateway, no policies) at 1 connection:
    # what its parser and renderer add. Embeddings compare a different upstream answer.
    *(
        Scenario(
            f"api-{api}",
            "I",
            f"Ingress: {title}, pass-through",
            "gateway:passthrough",
            ("clean-200",),
            connections=(1,),
            api=api,
        )
        for api, title in (
            ("messages", "Anthropic Messages"),
            ("responses", "OpenAI Responses"),
            ("embeddings", "Embeddings"),
        )
    ),
    Scenario(
        "litellm-1", "P", "LiteLLM proxy, 1 worker", "litellm:1", ("clean-200",), needs="litellm"
    ),
    Scenario(
        "litellm-2", "P", "LiteLLM proxy, 2 workers", "litellm:2", ("clean-200",), needs="litellm"
    ),
)

#: What --quick keeps of each scenario: enough to run every code path of the harness.
QUICK_PAYLOADS = ("clean-200", "pii-200")


@dataclass(frozen=True)
class Point:
    scenario: Scenario
    payload: str
    connections: int

    @property
    def label(self) -> str:
        return f"{self.scenario.key} {self.payload} c{self.connections}"


def plan(
    *,
    quick: bool,
    with_litellm: bool,
    only: set[str] | None = None,
    connections: tuple[int, ...] | None = None,
) -> list[Point]:
    """Every point to measure, grouped by system in the order systems first appear."""
    chosen = [
        s
        for s in SCENARIOS
        if (only is None or s.key in only)
        and (s.needs != "litellm" or with_litellm)
        and (s.quick or not quick)
    ]
    points = []
    for s in chosen:
        payloads = [p for p in s.payloads if p in QUICK_PAYLOADS] if quick else list(s.payloads)
        for p in payloads:
            for c in connections or s.connections:
                points.append(Point(s, p, c))
    order: dict[str, int] = {}
    for pt in points:
        order.setdefault(pt.scenario.system, len(order))
    return sorted(points, key=lambda pt: order[pt.scenario.system])
