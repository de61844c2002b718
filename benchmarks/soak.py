"""The soak: about 100,000 requests through one gateway, then RSS and the audit log checked.

A fresh gateway (seed policies, pattern-only PII, audit rotation roomy enough that no record
rotates out of reach) gets a warm-up of a few seconds, which also fills the PII cache; RSS is
read after start, after the warm-up (the soak's start) and at the end, and sampled every second
in between. The load generator records the ``X-OpenClaw-Request-Id`` of every 200 response;
after a graceful stop, each of those ids must be in ``audit.log`` or a rotated file. A missing
one is a response the client saw without its audit record.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.loadgen import rounded
from benchmarks.procs import log
from benchmarks.systems import GATEWAY_VARIANTS, Gateway, System, template_for

if TYPE_CHECKING:
    from benchmarks.run import Runner

MB = 1024 * 1024


def run_soak(runner: Runner) -> dict[str, object]:
    """About ``soak_requests`` requests through a fresh gateway; RSS and audit completeness."""
    opts = runner.opts
    gw = Gateway(GATEWAY_VARIANTS["soak"])
    log("starting the soak gateway...")
    gw.start(runner.ctx)
    rss_fresh = gw.rss_after_start
    template = template_for("clean-200", False)
    samples: list[tuple[float, int]] = []
    try:
        warm = runner.load(
            gw,
            template,
            connections=32,
            duration=opts.soak_warmup,
            stream=False,
            label="soak-warmup",
        )
        rss_start = gw.rss_bytes()
        ids_dir = runner.work / "soak-ids"
        ids_dir.mkdir(parents=True, exist_ok=True)
        cpu0 = gw.cpu_seconds()
        with sample_rss(gw, samples):
            if runner.wrk is not None:
                # wrk runs for a time, not a count: size it from the warm-up's rate.
                seconds = max(1.0, opts.soak_requests / max(warm.rps, 1.0))
                res = runner.load(
                    gw,
                    template,
                    connections=32,
                    duration=seconds,
                    stream=False,
                    label="soak",
                    ids_dir=ids_dir,
                )
            else:
                res = runner.load(
                    gw,
                    template,
                    connections=32,
                    duration=0,
                    stream=False,
                    label="soak",
                    max_requests=opts.soak_requests,
                    ids_dir=ids_dir,
                )
        cpu = gw.cpu_seconds() - cpu0
        rss_end = gw.rss_bytes()
    finally:
        gw.stop()  # graceful: the audit log is flushed and closed
    ids = [
        ln.strip()
        for f in sorted(ids_dir.glob("ids-*.txt"))
        for ln in f.read_text().splitlines()
        if ln.strip()
    ]
    audit = audit_summary(gw.audit_files())
    seen = audit.pop("ids")
    assert isinstance(seen, set)
    unknown = sum(1 for i in ids if i == "?")
    missing = [i for i in ids if i != "?" and i not in seen]
    if not opts.keep_work:
        for f in gw.audit_files():
            f.unlink()
    growth = (rss_end - rss_start) / rss_start if rss_start else None
    log(
        f"soak: {res.requests:,} requests at {res.rps:,.0f} req/s, RSS {rss_start / MB:.1f} -> "
        f"{rss_end / MB:.1f} MB, audit records missing: {len(missing)}"
    )
    t_first = samples[0][0] if samples else 0.0
    return {
        "generator": res.generator,
        "requests": res.requests,
        "ok": res.ok,
        "errors": res.errors,
        "error_detail": res.error_detail,
        "duration_s": round(res.duration_s, 2),
        "rps": round(res.rps, 1),
        "latency_ms": rounded(res.latency_ms),
        "cpu_s_per_1k": round(cpu / res.requests * 1000, 4) if res.requests else None,
        "warmup_requests": warm.requests,
        "rss_after_start_mb": round(rss_fresh / MB, 1),
        "rss_start_mb": round(rss_start / MB, 1),
        "rss_end_mb": round(rss_end / MB, 1),
        "rss_growth": None if growth is None else round(growth, 4),
        "rss_growth_from_fresh": round((rss_end - rss_fresh) / rss_fresh, 4) if rss_fresh else None,
        "rss_samples_mb": [(round(t - t_first, 1), round(r / MB, 1)) for t, r in samples],
        "client_ok_ids": len(ids),
        "ids_unknown": unknown,
        "audit_missing": len(missing),
        "audit_missing_sample": missing[:5],
        **audit,
    }


@contextlib.contextmanager
def sample_rss(
    system: System, samples: list[tuple[float, int]], every: float = 1.0
) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), system.rss_bytes()))
            stop.wait(every)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        samples.append((time.monotonic(), system.rss_bytes()))


def audit_summary(files: list[Path]) -> dict[str, object]:
    """Records in the audit log and its rotated files: ids, count, statuses."""
    import orjson

    ids: set[str] = set()
    statuses: dict[str, int] = {}
    records = bad = 0
    for f in files:
        with f.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    bad += 1
                    continue
                records += 1
                ids.add(str(rec.get("request_id")))
                s = str(rec.get("status"))
                statuses[s] = statuses.get(s, 0) + 1
    return {
        "ids": ids,
        "audit_files": len(files),
        "audit_records": records,
        "audit_unparseable_lines": bad,
        "audit_statuses": statuses,
    }
