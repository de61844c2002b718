"""Smoke test of the benchmark harness: it runs end to end and writes its three outputs.

``python -m benchmarks --quick`` in a subprocess, with the asyncio generator and, where wrk is
installed, with wrk. Nothing here judges performance: the test checks that every point was
measured without errors, that the soak found every audit record, and that the Markdown, JSON
and PNG exist and carry numbers. Unit tests of the pieces (Lua quoting, percentiles, the
upstream's HTTP parsing, target evaluation) keep failures easy to read.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.audit_record import main as audit_record_main
from benchmarks.loadgen import percentiles
from benchmarks.loadgen import run as run_load
from benchmarks.payloads import PAYLOADS, TAG, TAG_WORDS, render, tag_for
from benchmarks.report import finalize
from benchmarks.scenarios import SCENARIOS
from benchmarks.upstream import UpstreamProtocol
from benchmarks.wrk import lua_string
from benchmarks.wrk import script as wrk_script

from openclaw.policies.pii.gate import NerGate

ROOT = Path(__file__).resolve().parents[2]


def run_harness(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-pin", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )


def check_outputs(out: Path, generator: str) -> dict[str, object]:
    doc = json.loads((out / "results.json").read_text())
    assert doc["generator"] == generator
    points = doc["points"]
    assert points, "no point was measured"
    for p in points:
        assert p["errors"] == 0, p
        assert p["requests"] > 0 and p["rps"] > 0, p
        assert (
            math.isfinite(p["latency_ms"]["p50"])
            and p["latency_ms"]["p99"] >= p["latency_ms"]["p50"]
        )
        assert p["cpu_s_per_1k"] is not None and p["rss_mb"] > 0
        if p["stream"]:
            assert p["ttft_ms"]["p50"] > 0
    md = (out / "results.md").read_text()
    for heading in ("## Targets", "## All points"):
        assert heading in md
    assert "| Direct to upstream | clean-200 |" in md
    names = [t["target"] for t in doc["targets"]]
    assert len(names) == 18 and "audit records lost in the soak" in names
    assert "default install, 200-char prompt without names, 32 connections" in names
    assert doc["upstream_self_check"]["rps"] > 0
    png = out / "results.png"
    pytest.importorskip("matplotlib")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return doc


def test_quick_run_with_the_asyncio_generator_writes_table_json_and_chart(tmp_path: Path) -> None:
    proc = run_harness(tmp_path, "--generator", "asyncio")
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = check_outputs(tmp_path, "asyncio")
    scenarios = {p["scenario"] for p in doc["points"]}  # type: ignore[union-attr]
    assert {
        "direct",
        "passthrough",
        "seed-pattern",
        "stream-direct",
        "stream-passthrough",
    } <= scenarios
    soak = doc["soak"]
    assert isinstance(soak, dict) and soak["requests"] >= 300
    assert soak["audit_missing"] == 0 and soak["client_ok_ids"] == soak["ok"]
    assert "Gateway pass-through" in (tmp_path / "results.md").read_text()


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_quick_run_with_wrk_parses_its_lua_report(tmp_path: Path) -> None:
    proc = run_harness(
        tmp_path,
        "--generator",
        "wrk",
        "--scenarios",
        "direct,soak",
        "--connections",
        "4",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = check_outputs(tmp_path, "wrk")
    soak = doc["soak"]
    assert isinstance(soak, dict) and soak["generator"] == "wrk"
    assert soak["client_ok_ids"] > 0 and soak["audit_missing"] == 0 and soak["ids_unknown"] == 0


# ----------------------------------------------------------------------------- pieces


def test_every_payload_renders_to_valid_json_with_a_fresh_tag_per_request() -> None:
    for p in PAYLOADS.values():
        for stream in (False, True):
            t = render(p, stream=stream)
            a, b = json.loads(t.body(tag_for(1))), json.loads(t.body(tag_for(2)))
            assert a["messages"][-1]["content"] != b["messages"][-1]["content"]
            assert a["messages"][:-1] == b["messages"][:-1]
            assert a.get("stream", False) is stream
            assert TAG not in a["messages"][-1]["content"]
    assert len(PAYLOADS["turns-20"].messages()) == 20


def test_clean_prompts_and_every_tag_pass_the_ner_gate() -> None:
    # The rows "without names" measure the path a clean prompt takes: no request's tag may
    # turn it into one that needs NER.
    gate = NerGate()
    assert all(not gate.needs_ner("Ref: " + w) for w in TAG_WORDS)
    clean = render(PAYLOADS["clean-200"]).body(tag_for(987_654_321))
    assert not gate.needs_ner(json.loads(clean)["messages"][-1]["content"])
    named = render(PAYLOADS["name-200"]).body(tag_for(1))
    assert gate.needs_ner(json.loads(named)["messages"][-1]["content"])


def test_agent_payload_carries_a_100_kb_tool_output_that_repeats() -> None:
    t = render(PAYLOADS["tool-100k"])
    a, b = json.loads(t.body(tag_for(1))), json.loads(t.body(tag_for(2)))
    tool = [m for m in a["messages"] if m["role"] == "tool"]
    assert len(tool) == 1 and len(tool[0]["content"]) == 100_000
    assert a["messages"][:-1] == b["messages"][:-1]


def test_cache_rows_send_one_body_over_and_over() -> None:
    t = render(PAYLOADS["clean-200"])
    fixed = wrk_script(t, path="/v1/chat/completions", token=None, start_number=7, vary=False)
    varied = wrk_script(t, path="/v1/chat/completions", token=None, start_number=7)
    assert "number + 1 * 0" in fixed and "number + 1 * 1" in varied
    cached = [s for s in SCENARIOS if s.repeat]
    assert cached and all(s.key.endswith("-cached") for s in cached)


def test_headline_targets_compare_the_default_install_with_litellm() -> None:
    doc = _doc(
        [
            _pt("direct", "clean-200", 1, 5000, 0.1, "direct"),
            _pt("direct", "name-200", 1, 5000, 0.1, "direct"),
            _pt("litellm-2", "clean-200", 32, 200, 100.0),
            _pt("seed-default", "clean-200", 32, 1200, 20.0),
            _pt("seed-default", "clean-200", 1, 900, 1.1),
            _pt("seed-default", "name-200", 32, 250, 90.0),
            _pt("seed-default", "name-200", 1, 200, 9.1),
            _pt("seed-default-1worker", "name-200", 32, 200, 100.0),
        ]
    )
    doc["pool_scaling"] = {
        "pool_2_over_1_200B": 1.7,
        "pool_2_over_1_4096B": 1.5,
        "2_over_1_200B": 1.2,
        "2_over_1_4096B": 1.4,
    }
    doc["systems"] = {
        "gateway:seed-default": {
            "pss_after_start_mb": 380.0,
            "rss_after_start_mb": 600.0,
            "children_rss_mb": [
                {"pid": 1, "role": "worker", "rss_mb": 130.0, "pss_mb": 60.0},
                {"pid": 2, "role": "worker", "rss_mb": 130.0, "pss_mb": 60.0},
            ],
        }
    }
    finalize(doc)
    by = {t["target"]: t for t in doc["targets"]}  # type: ignore[attr-defined]
    assert by["default install, 200-char prompt without names, 32 connections"]["pass"] is True
    assert (
        by["default install, 200-char prompt with a person's name, latency added at 1 connection"][
            "pass"
        ]
        is False
    )  # +9 ms > 8 ms
    scaling = next(t for t in by.values() if t["target"].startswith("PII throughput"))
    assert scaling["measured"] == (
        "1.70× for 200-char texts, 1.50× for 4 KB (whole PII stage: 1.2× and 1.4×)"
    )
    assert scaling["pass"] is False  # every size must scale, not the better one
    memory = by["memory: gateway and NER pool after start"]
    assert memory["pass"] is True  # PSS 380 <= 150 + 2 x 120, though RSS sums to 600
    assert "RSS per worker 130, 130 MB" in memory["measured"]
    assert by["default install, 4 KB prompt, latency added"]["pass"] is None


def test_request_tags_are_words_only() -> None:
    tags = {tag_for(n) for n in range(5000)}
    assert len(tags) == 5000
    assert all(t.replace(" ", "").isalpha() and t.islower() for t in tags)


def test_lua_string_round_trips_quotes_backslashes_and_control_bytes() -> None:
    lit = lua_string(b'a"b\\c\n\x00\xe2\x82\xac')
    assert lit == '"a\\"b\\\\c\\010\\000\\226\\130\\172"'


def test_generated_wrk_script_carries_body_token_and_ids_hook(tmp_path: Path) -> None:
    t = render(PAYLOADS["clean-200"])
    plain = wrk_script(t, path="/v1/chat/completions", token="tok", start_number=7)
    assert "Bearer tok" in plain and "function done" in plain and "function response" not in plain
    soak = wrk_script(
        t, path="/v1/chat/completions", token=None, start_number=7, ids_prefix=tmp_path / "ids-"
    )
    assert "function response" in soak and "Authorization" not in soak


def test_percentiles_use_nearest_rank_in_milliseconds() -> None:
    p = percentiles([i / 1000 for i in range(1, 1001)])  # 1..1000 ms
    assert (p["p50"], p["p99"], p["p999"], p["max"]) == pytest.approx((500, 990, 999, 1000))
    assert math.isnan(percentiles([])["p50"])


async def test_fake_upstream_answers_json_and_sse_through_the_asyncio_generator() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    try:
        for stream in (False, True):
            res, _ = await run_load(
                url, render(PAYLOADS["clean-200"], stream=stream), connections=2, duration=0.2
            )
            assert res.requests > 0 and res.errors == 0
            assert (res.ttft_ms is not None) is stream
    finally:
        server.close()
        await server.wait_closed()


def _doc(points: list[dict[str, object]]) -> dict[str, object]:
    return {
        "points": points,
        "systems": {},
        "soak": None,
        "upstream_self_check": {"rps": 1000.0},
        "notes": [],
    }


def _pt(
    scenario: str, payload: str, conns: int, rps: float, p50: float, system: str = "x"
) -> dict[str, object]:
    return {
        "scenario": scenario,
        "payload": payload,
        "connections": conns,
        "stream": False,
        "rps": rps,
        "system": system,
        "upstream_busy": 0.1,
        "latency_ms": {"p50": p50, "p99": p50 * 2, "p999": p50 * 3},
    }


def test_targets_are_judged_against_the_same_run_and_unmeasured_ones_say_so() -> None:
    doc = _doc(
        [
            _pt("direct", "clean-200", 1, 5000, 0.1, "direct"),
            _pt("direct", "clean-200", 32, 10000, 1.0, "direct"),
            _pt("passthrough", "clean-200", 1, 1000, 0.5),
            _pt("passthrough", "clean-200", 32, 1500, 10.0),
        ]
    )
    finalize(doc)
    by = {t["target"]: t for t in doc["targets"]}  # type: ignore[attr-defined]
    assert by["pass-through throughput, 32 connections"]["pass"] is False  # 15% < 20%
    assert by["latency added at 1 connection, pass-through"]["pass"] is True  # +0.4 ms
    assert (
        by["seed policies, pattern-only PII, 200-char clean prompt, 32 connections"]["pass"] is None
    )
    assert by["audit records lost in the soak"]["measured"] == "not measured"


def test_the_audit_record_benchmark_compares_candidates_that_store_the_same_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    audit_record_main(["--rounds", "1"])  # asserts the candidates' stored JSON is identical
    out = capsys.readouterr().out
    assert out.count("AuditRecord: build_record + to_wire") == 2
    assert out.count("pydantic, validated") == 2


def test_a_system_is_measured_only_once_its_processes_are_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import run

    class Starting:
        """CPU seconds of a server that keeps initialising for three seconds after start."""

        def __init__(self) -> None:
            self.readings = iter([0.0, 0.9, 1.8, 2.7, 2.71, 2.72])
            self.read = 0

        def cpu_seconds(self) -> float:
            self.read += 1
            return next(self.readings)

    monkeypatch.setattr(run.time, "sleep", lambda s: None)
    system = Starting()
    run.settle(system)
    assert system.read == 5  # stopped at the first second with under 5% of a CPU
