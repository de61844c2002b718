"""The PII worker pool: NER in worker processes, supervised, failing closed.

Skipped without a spaCy English pipeline (the workers load it). Each pool here starts real
worker processes, so the tests share them where they can.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pool_faults import CRASH, HANG, RAISE, faulty

from openclaw.config.schema import PiiSettings
from openclaw.errors import ConfigError, OpenClawError, ServiceUnavailable
from openclaw.policies.pii import PiiEngine
from openclaw.policies.pii.pool import PiiScanPool, default_workers

NAMES = "My name is John Smith and I moved from Berlin to Paris last year."


@pytest_asyncio.fixture
async def pool(spacy_package: str) -> AsyncIterator[PiiScanPool]:
    p = PiiScanPool(spacy_model=spacy_package, workers=2, scan_timeout=3.0, initializer=faulty)
    await p.start()
    yield p
    await p.aclose()


def found(text: str, findings: list[object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings:
        out.setdefault(f.entity_type, []).append(text[f.start : f.end])  # type: ignore[attr-defined]
    return out


async def wait_for_workers(pool: PiiScanPool, n: int) -> None:
    deadline = time.monotonic() + 120
    while sum(pid is not None for pid in pool.status()["pids"]) < n:
        assert time.monotonic() < deadline, pool.status()
        await asyncio.sleep(0.05)


async def test_workers_find_names_and_this_process_loads_no_pipeline(
    pool: PiiScanPool, spacy_package: str, spacy_engine: PiiEngine
) -> None:
    engine = PiiEngine(pool=pool)
    assert engine.mode == f"spacy:{spacy_package}"
    assert "2 worker process(es)" in engine.mode_note
    assert engine._pipeline is None  # NER happens in the workers only
    (got,) = await engine.analyze_texts([NAMES])
    assert got == spacy_engine.analyze_text(NAMES)
    assert found(NAMES, got) == {"PERSON": ["John Smith"], "LOCATION": ["Berlin", "Paris"]}
    assert engine.ner_runs == 1


async def test_pattern_pii_in_a_gated_text_never_goes_to_a_worker(pool: PiiScanPool) -> None:
    engine = PiiEngine(pool=pool)
    text = "please call the front desk on +1 212-555-0123 before the meeting"
    (got,) = await engine.analyze_texts([text])
    assert found(text, got) == {"PHONE_NUMBER": ["+1 212-555-0123"]}
    assert engine.ner_runs == 0 and engine.ner_skipped == 1


async def test_sync_callers_in_other_threads_get_worker_results(pool: PiiScanPool) -> None:
    engine = PiiEngine(pool=pool)
    got = await asyncio.to_thread(engine.analyze_text, NAMES)
    assert found(NAMES, got)["PERSON"] == ["John Smith"]
    # On the pool's own loop a blocking wait could never be answered: a clear error instead.
    with pytest.raises(RuntimeError, match="await scan"):
        engine.analyze_text("Ask Maria Fernandez about it.")


async def test_jobs_that_arrive_together_spread_over_idle_workers_in_batches(
    pool: PiiScanPool,
) -> None:
    texts = [f"Please ask John Smith about ticket {i}." for i in range(8)]
    got = await asyncio.gather(*(pool.scan([t]) for t in texts))
    assert all(("PERSON", 11, 21) in spans for (spans,) in got)
    status = pool.status()
    assert status["texts"] == [4, 4]  # both workers, an equal share each
    assert status["batches"] == [1, 1]  # one nlp.pipe call each, not one per text


async def test_crashed_worker_fails_its_request_closed_and_is_replaced(
    pool: PiiScanPool,
) -> None:
    engine = PiiEngine(pool=pool)
    pids = set(pool.status()["pids"])
    with pytest.raises(ServiceUnavailable) as info:
        await engine.analyze_texts([f"Ask Maria about {CRASH}"])
    assert info.value.status == 503
    assert info.value.to_dict()["error"]["code"] == "pii_scan_failed"
    await wait_for_workers(pool, 2)
    status = pool.status()
    assert status["restarts"] == 1
    assert set(status["pids"]) != pids
    # The replacement serves the next request; the failed text was not cached as clean.
    (got,) = await engine.analyze_texts([NAMES])
    assert found(NAMES, got)["PERSON"] == ["John Smith"]
    with pytest.raises(ServiceUnavailable):
        await engine.analyze_texts([f"Ask Maria about {CRASH}"])


async def test_hung_worker_times_out_fails_closed_and_is_replaced(spacy_package: str) -> None:
    pool = PiiScanPool(spacy_model=spacy_package, workers=1, scan_timeout=0.5, initializer=faulty)
    await pool.start()
    try:
        engine = PiiEngine(pool=pool)
        (pid,) = pool.status()["pids"]
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick = asyncio.create_task(ticker())
        with pytest.raises(ServiceUnavailable) as info:
            await engine.analyze_texts([f"Ask Maria about {HANG}"])
        tick.cancel()
        assert info.value.code == "pii_scan_failed"
        assert "0.5 s" in info.value.message
        assert ticks >= 10  # the event loop kept running while the worker hung
        await wait_for_workers(pool, 1)
        assert pool.status()["pids"] != [pid] and pool.status()["restarts"] == 1
        (got,) = await engine.analyze_texts([NAMES])
        assert found(NAMES, got)["PERSON"] == ["John Smith"]
    finally:
        await pool.aclose()


async def test_spacy_error_in_a_worker_fails_closed_as_an_engine_error(
    pool: PiiScanPool,
) -> None:
    engine = PiiEngine(pool=pool)
    with pytest.raises(OpenClawError) as info:
        await engine.analyze_texts([f"Ask Maria about {RAISE}"])
    assert info.value.code == "pii_analysis_failed"
    assert "spaCy broke" not in info.value.message  # the message could quote the text
    assert pool.status()["restarts"] == 0  # the worker itself is fine


async def test_requests_after_close_fail_closed(spacy_package: str) -> None:
    pool = PiiScanPool(spacy_model=spacy_package, workers=1)
    await pool.start()
    engine = PiiEngine(pool=pool)
    await pool.aclose()
    with pytest.raises(ServiceUnavailable) as info:
        await engine.analyze_texts(["Ask Maria"])
    assert info.value.code == "pii_scan_failed"


async def test_long_text_is_scanned_in_chunks_once(pool: PiiScanPool) -> None:
    para = (
        "The deploy of build {i} finished in {i} minutes on the staging cluster, and the "
        "smoke tests passed. Nobody needs to act on it.\n\n"
    )
    paras = [para.format(i=i) for i in range(800)]
    paras.insert(400, "Escalate to Angela Merkel in Munich.\n\n")
    text = "".join(paras)
    assert len(text) > 100_000
    engine = PiiEngine(pool=pool)
    (got,) = await engine.analyze_texts([text])
    assert found(text, got) == {"PERSON": ["Angela Merkel"], "LOCATION": ["Munich"]}
    runs = engine.ner_runs
    assert runs >= 1
    # The next turn carries the same output and a new question: only the question is new.
    question = "Please ask John Smith to review it."
    (again, new) = await engine.analyze_texts([text, question])
    assert again == got
    assert found(question, new) == {"PERSON": ["John Smith"]}
    assert engine.ner_runs == runs + 1


def test_settings_choose_the_pool() -> None:
    assert PiiScanPool.from_settings(PiiSettings(workers=0)) is None
    pool = PiiScanPool.from_settings(PiiSettings(spacy_model="none", scan_timeout_s=5))
    assert pool is not None and pool.workers == default_workers() and pool.scan_timeout == 5
    assert default_workers(2) == 2 and default_workers(1) == 1 and default_workers(32) == 4


async def test_no_pipeline_means_no_processes_and_pattern_only() -> None:
    pool = PiiScanPool(spacy_model="none")
    await pool.start()
    assert pool.status()["workers"] == 0
    engine = PiiEngine(pool=pool)
    assert engine.mode == "pattern-only"
    await pool.aclose()


def test_a_named_pipeline_that_is_not_installed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not installed"):
        PiiScanPool(spacy_model="en_core_web_nonexistent")


async def test_concurrent_requests_for_one_new_text_share_one_scan(pool: PiiScanPool) -> None:
    # 32 agents send the same new tool output at once: it is scanned once, not 32 times.
    engine = PiiEngine(pool=pool)
    text = "Escalate to Angela Merkel in Munich. " + "The smoke tests passed. " * 200
    got = await asyncio.gather(*(engine.analyze_texts([text, f"question {i}"]) for i in range(32)))
    assert all(
        found(text, g[0]) == {"PERSON": ["Angela Merkel"], "LOCATION": ["Munich"]} for g in got
    )
    texts_scanned = sum(pool.status()["texts"])
    chunks = len(engine._split(text))
    assert engine.ner_runs <= chunks and texts_scanned <= 2 * chunks  # once, not 32 times


async def test_a_failed_shared_scan_fails_every_request_waiting_on_it(pool: PiiScanPool) -> None:
    engine = PiiEngine(pool=pool)
    text = f"Ask Maria about {RAISE}"
    results = await asyncio.gather(
        *(engine.analyze_texts([text]) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, OpenClawError) and r.code == "pii_analysis_failed" for r in results)
    assert len(engine._inflight) == 0
    assert pool.status()["batches"] == [0, 1] or pool.status()["batches"] == [1, 0]
