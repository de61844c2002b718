"""Measure the PII stage: ``python -m openclaw.policies.pii.bench [--spacy-model auto]``.

Prints, for one mode, the start-up cost (import + engine, resident memory) measured in a fresh
interpreter, the median time of one uncached analysis for a 200-character and a 4 KB prompt,
clean and with PII, and what a 20-turn conversation costs next to a single message when each
turn is 4 KB and only the last one is new. These are measurements, not assertions; the
benchmark suite owns the targets.

``--pool`` measures the NER worker pool instead, for 1 and 2 workers, on unique 200-character
and 4 KB texts that need NER (each names a person): texts per second with 32 in flight through
the whole engine (the daemon's gate and patterns, and the workers' NER) and through the pool
alone (the same NER inputs, prepared beforehand); the daemon's CPU per text; the median time
of one text alone; and each worker's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.pool import PiiScanPool

_PROSE = (
    "We are preparing the 2024 release of the reporting service and would like a second "
    "opinion on the plan. In version 3.11 we moved the grouping step into its own worker, "
    "which cut the p50 latency from 40 ms to 12 ms on the 8-core machines. Roughly 2.5% of "
    "events arrive more than 10 minutes late; option three recomputes the last 7 days every "
    "night at 02:00 on 16 workers. Please compare the options for correctness, cost and risk. "
)
_PII = (
    "Contact Jane Doe at jane.doe@example.com or +1 212-555-0123; card 4111 1111 1111 1111, "
    "IBAN GB82 WEST 1234 5698 7654 32, server 192.168.1.20. "
)


def _text(size: int, pii: bool, salt: int = 0) -> str:
    head = f"[{salt}] " + (_PII if pii else "")
    return (head + _PROSE * (size // len(_PROSE) + 1))[:size]


def _p50_ms(fn: Callable[[int], object], runs: int) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _startup(spacy_model: str) -> dict[str, float | str]:
    """Import + build in a fresh interpreter; resident set size after start."""
    code = f"""
import json, resource, time
t = time.perf_counter()
from openclaw.policies.pii import PiiEngine
e = PiiEngine(spacy_model={spacy_model!r})
took = time.perf_counter() - t
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
print(json.dumps({{"mode": e.mode, "start_s": round(took, 2), "rss_mb": round(rss / 1024, 1)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


_NAMED = "Ask Maria Fernandez whether the plan below works for her team. "


class _Named:
    """Unique texts of one size that each name a person (so NER cannot be skipped)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.salt = 0

    def __call__(self) -> str:
        self.salt += 1
        return (f"[{self.salt}] " + _NAMED + _PROSE * (self.size // len(_PROSE) + 1))[: self.size]


async def _in_flight(n: int, one: Callable[[], Awaitable[object]]) -> float:
    """Items per second doing ``one`` ``n`` times, 32 at a time."""
    sem = asyncio.Semaphore(32)

    async def run() -> None:
        async with sem:
            await one()

    t = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(n)))
    return n / (time.perf_counter() - t)


async def _pool_rounds(spacy_model: str, runs: int, rounds: int) -> dict[str, object]:
    """1 and 2 workers, both started, measured in turn ``rounds`` times per size.

    This machine's speed drifts by 20-40% over tens of seconds, so a ratio of two runs taken
    one after the other measures the drift as much as the workers; each round measures both
    pools back to back, and the report gives the median of the rounds' ratios.
    """
    pools = {w: PiiScanPool(spacy_model=spacy_model, workers=w) for w in (1, 2)}
    for pool in pools.values():
        await pool.start()
    try:
        engines = {w: PiiEngine(pool=p, cache_size=0) for w, p in pools.items()}
        out: dict[str, Any] = {f"{w}_worker": {} for w in pools}
        for w, pool in pools.items():
            status = pool.status()
            out[f"{w}_worker"].update(rss_mb=status["rss_mb"], pss_mb=status["pss_mb"])
        for size in (200, 4096):
            text = _Named(size)
            # About half a second of work per measurement (a second for 4 KB with 1 worker).
            n = runs * (5 if size == 200 else 1)
            figures: dict[str, list[float]] = {}
            for _ in range(rounds):
                for w, pool in pools.items():
                    engine = engines[w]

                    # The whole PII stage: the daemon's gate and patterns, the workers' NER.
                    async def analyse(e: PiiEngine = engine, t: _Named = text) -> None:
                        await e.analyze_texts([t()])

                    cpu = time.process_time()
                    figures.setdefault(f"stage_{w}", []).append(await _in_flight(n, analyse))
                    figures.setdefault(f"cpu_{w}", []).append((time.process_time() - cpu) / n)
                    # The workers alone, fed what the engine sends them for n texts (the
                    # windows of each chunk that needs NER), prepared beforehand: the daemon
                    # only hands them over.
                    jobs = [
                        [piece[a:b] for a, b in engine._ner_parts(piece)]
                        for _ in range(n)
                        for _, piece in engine._split(text())
                        if engine._route(piece) == "ner"
                    ]
                    queue = iter(jobs)

                    def scan(
                        p: PiiScanPool = pool, q: Iterator[list[str]] = queue
                    ) -> Awaitable[object]:
                        return p.scan(next(q))

                    rate = await _in_flight(len(jobs), scan)
                    figures.setdefault(f"pool_{w}", []).append(rate * n / len(jobs))
            for w, engine in engines.items():
                alone = []
                for _ in range(runs):
                    t = time.perf_counter()
                    await engine.analyze_texts([text()])
                    alone.append(time.perf_counter() - t)
                f = out[f"{w}_worker"]
                f[f"p50_ms_{size}B_alone"] = round(statistics.median(alone) * 1000, 3)
                f[f"texts_per_s_{size}B_32_in_flight"] = round(
                    statistics.median(figures[f"stage_{w}"]), 1
                )
                f[f"pool_texts_per_s_{size}B_32_in_flight"] = round(
                    statistics.median(figures[f"pool_{w}"]), 1
                )
                f[f"daemon_cpu_ms_{size}B"] = round(
                    statistics.median(figures[f"cpu_{w}"]) * 1000, 3
                )
            for prefix, kind in (("", "stage"), ("pool_", "pool")):
                ratios = [
                    b / a for a, b in zip(figures[f"{kind}_1"], figures[f"{kind}_2"], strict=True)
                ]
                out[f"{prefix}2_over_1_{size}B"] = round(statistics.median(ratios), 2)
        return out
    finally:
        for pool in pools.values():
            await pool.aclose()


def pool_main(spacy_model: str, runs: int, rounds: int = 7) -> None:
    print(json.dumps(asyncio.run(_pool_rounds(spacy_model, runs, rounds)), indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spacy-model", default="none", help="'none' (default), 'auto' or a package"
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pool", action="store_true", help="measure the NER worker pool")
    args = parser.parse_args(argv)
    if args.pool:
        pool_main("auto" if args.spacy_model == "none" else args.spacy_model, args.runs)
        return

    report: dict[str, object] = {"startup": _startup(args.spacy_model)}
    engine = PiiEngine(spacy_model=args.spacy_model, cache_size=0)
    report["mode"] = engine.mode
    runs = args.runs if engine.mode == "pattern-only" else max(20, args.runs // 10)
    for size in (200, 4096):
        for pii in (False, True):

            def once(i: int, size: int = size, pii: bool = pii) -> object:
                # A new salt per run: the cache (off here anyway) could not help.
                return engine.analyze_text(_text(size, pii, i))

            report[f"p50_ms_{size}B_{'pii' if pii else 'clean'}"] = round(_p50_ms(once, runs), 3)

    cached = PiiEngine(spacy_model=args.spacy_model)
    turns = 20
    runs = 50 if cached.mode == "pattern-only" else 10  # each is a 20-turn conversation

    async def conversation(i: int) -> None:
        history = [
            _text(4096, pii=(t % 3 == 0), salt=1_000_000 * (t + 1)) for t in range(turns - 1)
        ]
        await cached.analyze_texts([*history, _text(4096, True, salt=i)])

    async def single(i: int) -> None:
        await cached.analyze_texts([_text(4096, True, salt=10_000 + i)])

    async def measure() -> tuple[float, float]:
        await conversation(-1)  # the history is in the cache from earlier requests
        times_conv, times_single = [], []
        for i in range(runs):
            t = time.perf_counter()
            await conversation(i)
            times_conv.append(time.perf_counter() - t)
            t = time.perf_counter()
            await single(i)
            times_single.append(time.perf_counter() - t)
        return statistics.median(times_conv) * 1000, statistics.median(times_single) * 1000

    conv_ms, single_ms = asyncio.run(measure())
    report["p50_ms_20_turns_4KB_each"] = round(conv_ms, 3)
    report["p50_ms_single_4KB_message"] = round(single_ms, 3)
    report["conversation_over_single"] = round(conv_ms / single_ms, 2)
    cached.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
