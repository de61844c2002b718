"""Turning a run into figures, targets, and the three outputs: Markdown, JSON and a PNG chart.

Derived figures, all from the same run:

- *latency added* (1 connection): the point's p50 (and p99) minus the direct point's for the
  same payload; for streams, time to first token minus direct's.
- *policy stage*: a seed-policy point's p50 minus the pass-through point's for the same
  payload, i.e. what the policies cost on top of proxying that body.
- *× direct* / *× LiteLLM*: requests/s over the direct point's, or over LiteLLM with 2 workers,
  for the same payload and connections.

The targets are the issue's, evaluated as written; a miss is reported, never adjusted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmarks import headline

Doc = dict[str, Any]
Key = tuple[str, str, int]  # scenario, payload, connections


def index(doc: Doc) -> dict[Key, Doc]:
    return {(p["scenario"], p["payload"], p["connections"]): p for p in doc["points"]}


def _direct_key(p: Doc) -> Key:
    return ("stream-direct" if p["stream"] else "direct", p["payload"], p["connections"])


def derive(doc: Doc) -> None:
    """Add latency added, ratios and TTFT added to every point (in place)."""
    idx = index(doc)
    for p in doc["points"]:
        d = idx.get(_direct_key(p))
        lite = idx.get(("litellm-2", p["payload"], p["connections"]))
        p["added_ms"] = None
        p["ttft_added_ms"] = None
        if d is not None and d is not p and p["connections"] == 1:
            p["added_ms"] = {
                q: round(p["latency_ms"][q] - d["latency_ms"][q], 4)
                for q in ("p50", "p99", "p999")
                if q in p["latency_ms"] and q in d["latency_ms"]
            }
            if p.get("ttft_ms") and d.get("ttft_ms"):
                p["ttft_added_ms"] = {
                    q: round(p["ttft_ms"][q] - d["ttft_ms"][q], 4) for q in ("p50", "p99")
                }
        p["x_direct"] = _ratio(p, d)
        p["x_litellm2"] = None if p["stream"] or p["scenario"] == "litellm-2" else _ratio(p, lite)


def _ratio(p: Doc, ref: Doc | None) -> float | None:
    if ref is None or ref is p or not ref.get("rps"):
        return None
    return round(p["rps"] / ref["rps"], 3)


def _p50(idx: dict[Key, Doc], scenario: str, payload: str, q: str = "p50") -> float | None:
    p = idx.get((scenario, payload, 1))
    return None if p is None else p["latency_ms"].get(q)


def policy_stage(doc: Doc) -> list[Doc]:
    """Per payload: latency added by the gateway, and by its policy stage, at 1 connection."""
    idx = index(doc)
    rows = []
    for payload in dict.fromkeys(p["payload"] for p in doc["points"]):
        direct = _p50(idx, "direct", payload)
        passthrough = _p50(idx, "passthrough", payload)
        row: Doc = {"payload": payload, "passthrough_added": _sub(passthrough, direct)}
        for mode in ("seed-pattern", "seed-spacy"):
            seed = _p50(idx, mode, payload)
            row[f"{mode}_added"] = _sub(seed, direct)
            row[f"{mode}_stage"] = _sub(seed, passthrough)
        if any(v is not None for k, v in row.items() if k != "payload"):
            rows.append(row)
    return rows


def limits_stage(doc: Doc) -> list[Doc]:
    """The limits stage against pass-through, clean 200-char prompt: p50/p99 at 1 connection
    (what it adds to a request) and throughput at 32 (what it costs the gateway)."""
    idx = index(doc)
    rows = []
    for scenario, state in (("limits-memory", "memory"), ("limits-redis", "redis")):
        one, many = idx.get((scenario, "clean-200", 1)), idx.get((scenario, "clean-200", 32))
        if one is None and many is None:
            continue
        base32 = idx.get(("passthrough", "clean-200", 32))
        rows.append(
            {
                "state": state,
                "added_p50": _sub(
                    _p50(idx, scenario, "clean-200"), _p50(idx, "passthrough", "clean-200")
                ),
                "added_p99": _sub(
                    _p50(idx, scenario, "clean-200", "p99"),
                    _p50(idx, "passthrough", "clean-200", "p99"),
                ),
                "rps_32": None if many is None else many["rps"],
                "x_passthrough_32": _div(
                    None if many is None else many["rps"], None if base32 is None else base32["rps"]
                ),
            }
        )
    return rows


#: Issue 15's bar for every ingress API: added p50 over chat pass-through at 1 connection.
INGRESS_BUDGET_MS = 0.2


def ingress_cost(doc: Doc) -> list[Doc]:
    """Per ingress API: p50 added over ``/v1/chat/completions`` pass-through, 1 connection.

    A section of its own rather than a target row: the targets are the performance issue's
    list, which the smoke test pins."""
    idx = index(doc)
    rows: list[Doc] = []
    chat = _p50(idx, "passthrough", "clean-200")
    for api in ("messages", "responses", "embeddings"):
        p = _p50(idx, f"api-{api}", "clean-200")
        if p is None:
            continue
        added = _sub(p, chat)
        rows.append(
            {
                "api": api,
                "p50": p,
                "chat_p50": chat,
                "added_p50": added,
                "pass": None if added is None else added <= INGRESS_BUDGET_MS,
            }
        )
    return rows


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 3)


def targets(doc: Doc) -> list[Doc]:
    idx = index(doc)
    rows: list[Doc] = []

    def add(name: str, want: str, value: str | None, ok: bool | None, note: str = "") -> None:
        rows.append(
            {
                "target": name,
                "threshold": want,
                "measured": value or "not measured",
                "pass": ok,
                "note": note,
            }
        )

    def rps(scenario: str, payload: str, conns: int) -> float | None:
        p = idx.get((scenario, payload, conns))
        return None if p is None else p["rps"]

    def added(scenario: str, payload: str, q: str = "p50") -> float | None:
        return _sub(_p50(idx, scenario, payload, q), _p50(idx, "direct", payload, q))

    r = _div(rps("passthrough", "clean-200", 32), rps("direct", "clean-200", 32))
    add(
        "pass-through throughput, 32 connections",
        "≥ 20% of direct to upstream",
        None if r is None else f"{r * 100:.1f}% of direct",
        None if r is None else r >= 0.20,
    )

    r = _div(rps("seed-pattern", "clean-200", 32), rps("litellm-2", "clean-200", 32))
    add(
        "seed policies, pattern-only PII, 200-char clean prompt, 32 connections",
        "≥ 10× LiteLLM (2 workers)",
        None if r is None else f"{r:.2f}× LiteLLM",
        None if r is None else r >= 10,
        "" if r is not None else "run with --with-litellm",
    )

    a = added("passthrough", "clean-200")
    add(
        "latency added at 1 connection, pass-through",
        "p50 ≤ 0.5 ms",
        None if a is None else f"p50 +{a:.3f} ms",
        None if a is None else a <= 0.5,
    )

    a50, a99 = added("seed-pattern", "clean-200"), added("seed-pattern", "clean-200", "p99")
    add(
        "latency added at 1 connection, seed policies, 200-char clean prompt",
        "p50 ≤ 1.5 ms, p99 ≤ 5 ms",
        None if a50 is None or a99 is None else f"p50 +{a50:.3f} ms, p99 +{a99:.3f} ms",
        None if a50 is None or a99 is None else a50 <= 1.5 and a99 <= 5,
    )

    s = _sub(_p50(idx, "seed-pattern", "clean-4k"), _p50(idx, "passthrough", "clean-4k"))
    s_pii = _sub(_p50(idx, "seed-pattern", "pii-4k"), _p50(idx, "passthrough", "pii-4k"))
    add(
        "PII stage, 4 KB prompt, pattern-only",
        "p50 ≤ 5 ms",
        None if s is None else f"p50 +{s:.3f} ms",
        None if s is None else s <= 5,
        "seed policies minus pass-through, clean 4 KB prompt"
        + ("" if s_pii is None else f"; with PII: +{s_pii:.3f} ms"),
    )

    r = _div(added("seed-pattern", "turns-20"), added("seed-pattern", "clean-200"))
    add(
        "20-turn conversation vs single message, seed policies",
        "cost ≤ 1.3×",
        None if r is None else f"{r:.2f}×",
        None if r is None else r <= 1.3,
        "latency added (p50, 1 connection), 20 turns over the 200-char single message",
    )

    p = idx.get(("stream-passthrough", "clean-200", 1))
    t = None if p is None or not p.get("ttft_added_ms") else p["ttft_added_ms"]["p50"]
    add(
        "streaming time to first token added",
        "≤ 1 ms p50",
        None if t is None else f"p50 +{t:.3f} ms",
        None if t is None else t <= 1.0,
        "gateway pass-through vs direct, 1 connection",
    )

    sysinfo = doc["systems"].get("gateway:seed-pattern")
    m = None if sysinfo is None else sysinfo["rss_after_start_mb"]
    add(
        "RSS after start, pattern-only PII",
        "≤ 150 MB",
        None if m is None else f"{m:.1f} MB",
        None if m is None else m <= 150,
    )

    soak = doc.get("soak") or {}
    g = soak.get("rss_growth")
    add(
        "RSS growth over the soak",
        "≤ 5%",
        None
        if g is None
        else f"{g * 100:+.2f}% ({soak['rss_start_mb']} → {soak['rss_end_mb']} MB)",
        None if g is None else g <= 0.05,
        ""
        if g is None
        else f"from after a {soak['warmup_requests']:,}-request warm-up; from "
        f"right after start: {soak['rss_growth_from_fresh'] * 100:+.2f}%",
    )

    lost = soak.get("audit_missing")
    add(
        "audit records lost in the soak",
        "0",
        None if lost is None else f"{lost} of {soak['client_ok_ids']:,}",
        None if lost is None else lost == 0 and soak.get("ids_unknown", 0) == 0,
    )
    return rows + headline.targets(doc)


def upstream_check(doc: Doc) -> Doc:
    """Was the fake upstream ever the bottleneck? Its rate vs the fastest system, and how busy."""
    check = doc["upstream_self_check"]
    others = [p for p in doc["points"] if p["system"] != "direct"]
    fastest = max((p["rps"] for p in others), default=0.0)
    busy = max((p["upstream_busy"] or 0 for p in others), default=0.0)
    headroom = check["rps"] / fastest if fastest else None
    ok = (headroom is None or headroom >= 3) and busy <= 0.5
    return {
        "upstream_rps": check["rps"],
        "fastest_system_rps": fastest,
        "headroom": None if headroom is None else round(headroom, 1),
        "max_upstream_busy": round(busy, 3),
        "ok": ok,
    }


# ----------------------------------------------------------------------------- Markdown


def _f(v: float | None, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.{nd}f}"


def _verdict(ok: bool | None) -> str:
    return "not run" if ok is None else ("PASS" if ok else "**FAIL**")


def markdown(doc: Doc) -> str:
    m, v = doc["machine"], doc["versions"]
    up = doc["upstream_check"]
    lines = [
        "# OpenClaw benchmark",
        "",
        f"Run {doc['started']} ({doc['mode']} mode, {doc['elapsed_s']:.0f} s). "
        f"Machine: {m.get('cpu', '?')}, {m.get('cpus')} CPUs, {m.get('memory_gb', '?')} GB, "
        f"{m.get('os', '')}, Linux {m.get('kernel')}. Python {v['python']}, openclaw "
        f"{v['openclaw']}{' (' + v['git'] + ')' if v.get('git') else ''}, uvloop: {v['uvloop']}.",
        "",
        f"Pinning: {doc['pinning']['note']}. Load generator: {doc['generator']}"
        f"{' (' + v['wrk'] + ')' if v.get('wrk') else ''}; streaming points use the asyncio "
        f"generator (it measures time to first token). Each point: {doc['options']['warmup_s']:g} s "
        f"warm-up, {doc['options']['duration_s']:g} s measured.",
        "",
        f"Fake upstream self-check: {_f(up['upstream_rps'], 0)} req/s at 32 connections, "
        f"{_f(up['headroom'], 1)}× the fastest system measured; busiest during a system point: "
        f"{up['max_upstream_busy'] * 100:.0f}% of a CPU. Upstream not a bottleneck: "
        f"{'yes' if up['ok'] else '**no**'}.",
        "",
        "## Targets",
        "",
        "| Target | Threshold | Measured | Result | Note |",
        "|---|---|---|---|---|",
    ]
    for t in doc["targets"]:
        lines.append(
            f"| {t['target']} | {t['threshold']} | {t['measured']} | {_verdict(t['pass'])} | {t['note']} |"
        )
    lines += ["", *headline.markdown(doc)]
    lines += [
        "",
        "## All points",
        "",
        "Latencies in ms. *Added* = p50 / p99 over direct to upstream with the same prompt, at 1 "
        "connection. CPU = CPU-seconds of the system's processes per 1,000 requests. RSS after "
        "the point. *Other load*: share of the system-under-test CPU that other programs used "
        "during the point (0% on a quiet machine).",
        "",
        "| # | Scenario | Prompt | Conn | req/s | p50 | p99 | p99.9 | Added p50 / p99 | "
        "CPU s/1k | RSS MB | × direct | × LiteLLM 2w | Errors | Other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in doc["points"]:
        lat, a = p["latency_ms"], p.get("added_ms")
        added = "–" if not a else f"{a['p50']:+.3f} / {a['p99']:+.3f}"
        fb = p.get("foreign_busy")
        other = "–" if fb is None else f"{fb * 100:.0f}%"
        lines.append(
            f"| {p['number']} | {p['title']} | {p['payload']} | {p['connections']} | "
            f"{_f(p['rps'], 0)} | {_f(lat.get('p50'), 3)} | {_f(lat.get('p99'), 3)} | "
            f"{_f(lat.get('p999'), 3)} | {added} | {_f(p['cpu_s_per_1k'], 3)} | {_f(p['rss_mb'], 1)} | "
            f"{_f(p['x_direct'])} | {_f(p['x_litellm2'])} | {p['errors'] or ''} | {other} |"
        )
    stream = [p for p in doc["points"] if p["stream"]]
    if stream:
        lines += [
            "",
            "## Streaming: time to first token",
            "",
            "| System | Conn | req/s | TTFT p50 | TTFT p99 | TTFT added p50 | Total p50 |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in stream:
            t, ta = p.get("ttft_ms") or {}, p.get("ttft_added_ms")
            ta50 = "–" if not ta else f"{ta['p50']:+.3f}"
            lines.append(
                f"| {p['title']} | {p['connections']} | {_f(p['rps'], 0)} | {_f(t.get('p50'), 3)} | "
                f"{_f(t.get('p99'), 3)} | {ta50} | "
                f"{_f(p['latency_ms'].get('p50'), 3)} |"
            )
    stage = doc["policy_stage"]
    if stage:
        lines += [
            "",
            "## Cost of the policy stage (1 connection, p50, ms)",
            "",
            "*Added* is over direct to upstream; *stage* is seed policies minus pass-through, "
            "for the same prompt.",
            "",
            "| Prompt | Pass-through added | Pattern-only added | Pattern-only stage | "
            "spaCy added | spaCy stage |",
            "|---|---|---|---|---|---|",
        ]
        for r in stage:
            lines.append(
                f"| {r['payload']} | {_f(r['passthrough_added'], 3)} | {_f(r['seed-pattern_added'], 3)} | "
                f"{_f(r['seed-pattern_stage'], 3)} | {_f(r['seed-spacy_added'], 3)} | "
                f"{_f(r['seed-spacy_stage'], 3)} |"
            )
    lstage = doc.get("limits_stage")
    if lstage:
        lines += [
            "",
            "## Cost of the limits stage (clean 200-char prompt)",
            "",
            "Service rate limit (requests and tokens), daily budget, concurrency slot and global "
            "buckets on every request, no policies; *added* is over pass-through at 1 connection.",
            "",
            "| State | Added p50 ms | Added p99 ms | req/s at 32 | × pass-through at 32 |",
            "|---|---|---|---|---|",
        ]
        for r in lstage:
            lines.append(
                f"| {r['state']} | {_f(r['added_p50'], 3)} | {_f(r['added_p99'], 3)} | "
                f"{_f(r['rps_32'], 0)} | {_f(r['x_passthrough_32'])} |"
            )
    icost = doc.get("ingress_cost")
    if icost:
        lines += [
            "",
            "## Cost of each ingress API (pass-through, clean 200-char prompt, 1 connection)",
            "",
            f"*Added* is over `/v1/chat/completions` on the same gateway; the bar is "
            f"≤ {INGRESS_BUDGET_MS} ms p50. Embeddings get a 256-float vector back instead of a "
            "completion, so theirs also carries the different upstream answer.",
            "",
            "| API | p50 ms | chat p50 ms | Added p50 ms | Verdict |",
            "|---|---|---|---|---|",
        ]
        for r in icost:
            lines.append(
                f"| {r['api']} | {_f(r['p50'], 3)} | {_f(r['chat_p50'], 3)} | "
                f"{_f(r['added_p50'], 3)} | {_verdict(r['pass'])} |"
            )
    soak = doc.get("soak")
    if soak and "error" not in soak:
        lines += [
            "",
            "## Soak",
            "",
            f"{soak['requests']:,} requests through the gateway (seed policies, pattern-only, "
            f"200-char prompt, 32 connections, {soak['generator']}) in {soak['duration_s']:.0f} s: "
            f"{_f(soak['rps'], 0)} req/s, p50 {_f(soak['latency_ms'].get('p50'), 3)} ms, p99 "
            f"{_f(soak['latency_ms'].get('p99'), 3)} ms, {soak['errors']} errors, "
            f"{_f(soak['cpu_s_per_1k'], 3)} CPU-s per 1,000 requests.",
            "",
            f"RSS: {soak['rss_after_start_mb']} MB after start, {soak['rss_start_mb']} MB after a "
            f"{soak['warmup_requests']:,}-request warm-up (soak start), {soak['rss_end_mb']} MB at "
            f"the end ({soak['rss_growth'] * 100:+.2f}%).",
            "",
            f"Audit: {soak['audit_records']:,} records in {soak['audit_files']} file(s); of "
            f"{soak['client_ok_ids']:,} responses the client saw with status 200, "
            f"{soak['audit_missing']} have no record"
            + (
                f" ({soak['ids_unknown']} responses carried no request id)"
                if soak["ids_unknown"]
                else ""
            )
            + ".",
        ]
    elif soak:
        lines += ["", "## Soak", "", f"The soak failed: {soak['error']}"]
    if doc["skipped"]:
        lines += ["", "## Skipped", ""]
        reasons = dict.fromkeys(s["reason"] for s in doc["skipped"])
        lines += [f"- {r}" for r in reasons]
    notes = list(doc["notes"])
    if any(p["errors"] for p in doc["points"]):
        notes.append("some points had errors (see the Errors column); their figures are suspect")
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- chart


def chart(doc: Doc, path: Path) -> str | None:
    """Write the PNG; returns why not if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no chart"
    pts = doc["points"]
    wide = [p for p in pts if p["connections"] == max(q["connections"] for q in pts)]
    one = [p for p in pts if p["connections"] == 1 and p.get("added_ms")]
    fig, axes = plt.subplots(1, 2, figsize=(15, max(4.0, 0.32 * max(len(wide), len(one)) + 1.5)))

    def label(p: Doc) -> str:
        return f"{p['title']} · {p['payload']}"

    ax = axes[0]
    ax.barh([label(p) for p in wide], [p["rps"] for p in wide], color=[_color(p) for p in wide])
    ax.set_xscale("log")
    ax.set_xlabel("requests/s (log scale)")
    ax.set_title(f"Throughput at {wide[0]['connections'] if wide else '?'} connections")
    ax.invert_yaxis()
    ax = axes[1]
    ax.barh(
        [label(p) for p in one], [p["added_ms"]["p50"] for p in one], color=[_color(p) for p in one]
    )
    ax.set_xlabel("ms added over direct (p50, 1 connection)")
    ax.set_title("Latency added")
    ax.invert_yaxis()
    m = doc["machine"]
    fig.suptitle(
        f"OpenClaw benchmark, {doc['started']} · {m.get('cpu', '?')}, {m.get('cpus')} CPUs · "
        f"{doc['pinning']['note']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _color(p: Doc) -> str:
    s = p["system"]
    if s == "direct":
        return "#888888"
    if s.startswith("litellm"):
        return "#d62728"
    if "spacy" in s:
        return "#9467bd"
    if "seed" in s:
        return "#1f77b4"
    return "#2ca02c"


# ----------------------------------------------------------------------------- writing


def finalize(doc: Doc) -> Doc:
    derive(doc)
    doc["policy_stage"] = policy_stage(doc)
    doc["limits_stage"] = limits_stage(doc)
    doc["ingress_cost"] = ingress_cost(doc)
    doc["upstream_check"] = upstream_check(doc)
    doc["targets"] = targets(doc)
    return doc


def write(doc: Doc, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "results.json",
        "markdown": out / "results.md",
        "png": out / "results.png",
    }
    why = chart(doc, paths["png"])
    if why:
        doc["notes"].append(why)
        paths.pop("png")
    paths["markdown"].write_text(markdown(doc))
    paths["json"].write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return paths


def console_summary(doc: Doc) -> str:
    width = max(len(t["target"]) for t in doc["targets"])
    lines = ["", "Targets:"]
    for t in doc["targets"]:
        verdict = "not run" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        lines.append(
            f"  {verdict:7}  {t['target']:<{width}}  {t['threshold']:<28}  {t['measured']}"
        )
    up = doc["upstream_check"]
    lines.append(
        f"  {'PASS' if up['ok'] else 'FAIL':7}  fake upstream not the bottleneck "
        f"({_f(up['upstream_rps'], 0)} req/s, busiest {up['max_upstream_busy'] * 100:.0f}% of a CPU)"
    )
    return "\n".join(lines)
