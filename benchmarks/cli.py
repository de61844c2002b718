"""Command-line options of ``python -m benchmarks`` (also ``make bench``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.procs import log
from benchmarks.run import Options, run

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def parse(argv: list[str] | None = None) -> tuple[Options, bool]:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the OpenClaw gateway against a fake upstream (and LiteLLM). "
        "Starts everything itself and writes results.md, results.json and results.png.",
    )
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="seconds, not minutes: a fraction of a second per point, a tiny soak, no "
        "spaCy, no installs (the CI smoke test)",
    )
    ap.add_argument(
        "--with-litellm",
        action="store_true",
        help="also measure LiteLLM's proxy (installed once into OUT/litellm-venv)",
    )
    ap.add_argument(
        "--generator",
        choices=("auto", "wrk", "asyncio"),
        default="auto",
        help="load generator (auto: wrk if installed, else asyncio)",
    )
    ap.add_argument(
        "--duration", type=float, help="measured seconds per point (default 4; quick 0.3)"
    )
    ap.add_argument("--warmup", type=float, help="warm-up seconds per point (default 1; quick 0)")
    ap.add_argument(
        "--soak-requests", type=int, help="requests in the soak (default 100000; quick 300)"
    )
    ap.add_argument(
        "--scenarios", help="comma-separated scenario keys to run (and 'soak'); default all"
    )
    ap.add_argument("--connections", help="comma-separated connection counts (default 1,32)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    ap.add_argument(
        "--no-install",
        action="store_true",
        help="never install anything (wrk, the spaCy pipeline, LiteLLM)",
    )
    ap.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="SCENARIO:PAYLOAD:CONN",
        help="record the system with py-spy during matching points (glob, e.g. "
        "'seed-pattern:*:32'); summaries go to OUT/profiles/",
    )
    ap.add_argument("--keep-work", action="store_true", help="keep homes, audit logs and scripts")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    a = ap.parse_args(argv)
    quick = a.quick
    opts = Options(
        out=a.out,
        quick=quick,
        with_litellm=a.with_litellm,
        generator=a.generator,
        duration=a.duration if a.duration is not None else (0.3 if quick else 4.0),
        warmup=a.warmup if a.warmup is not None else (0.0 if quick else 1.0),
        soak_requests=a.soak_requests
        if a.soak_requests is not None
        else (300 if quick else 100_000),
        soak_warmup=0.3 if quick else 5.0,
        only=set(a.scenarios.split(",")) if a.scenarios else None,
        connections=tuple(int(c) for c in a.connections.split(",")) if a.connections else None,
        pin=not a.no_pin,
        install=not (a.no_install or quick),
        profile=a.profile,
        keep_work=a.keep_work,
    )
    return opts, a.strict


def main(argv: list[str] | None = None) -> None:
    opts, strict = parse(argv)
    doc = report.finalize(run(opts))
    paths = report.write(doc, opts.out)
    log(report.console_summary(doc))
    log("")
    for kind, path in paths.items():
        log(f"{kind:8} {path}")
    log(f"elapsed  {doc['elapsed_s']:.0f} s")
    missed = any(t["pass"] is False for t in doc["targets"])
    sys.exit(1 if strict and missed else 0)
