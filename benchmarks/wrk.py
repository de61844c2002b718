"""Driving ``wrk``: a generated Lua script per point, results parsed from its ``done()``.

The script builds each POST body from the payload template and a per-request tag (the same
words :func:`benchmarks.payloads.tag_for` makes), sends the bearer token, and in ``done()``
prints one line ``WRKJSON {...}`` with the request count, errors and the p50/p99/p99.9
latencies in microseconds. For the soak it also counts 200 responses and writes each
response's ``X-OpenClaw-Request-Id`` to a file per thread. (wrk cannot stop after N requests:
``wrk.thread:stop()`` ends a thread but the run still lasts ``-d``; the soak sizes ``-d``
from the measured rate instead.)

wrk only takes whole seconds for ``-d``; points shorter than a second round up.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

from benchmarks.loadgen import LoadResult
from benchmarks.payloads import TAG_WORDS, Template

_SCRIPT = r"""
local prefix = %(prefix)s
local suffix = %(suffix)s
local words = {%(words)s}
local nwords = #words
local number = %(start)d
local headers = {["Content-Type"] = "application/json"%(auth)s}
local threads = {}
local tid_next = 0

function setup(thread)
  thread:set("tid", tid_next)
  tid_next = tid_next + 1
  table.insert(threads, thread)
end

local function tag(n)
  local out = {}
  repeat
    local r = n %% nwords
    table.insert(out, words[r + 1])
    n = (n - r) / nwords
  until n == 0
  return table.concat(out, " ")
end

function init(args)
  -- threads number their requests apart: thread k uses k, k + T, k + 2T, ...
  number = number + (tid + 1) * %(vary)d
end

function request()
  local body = prefix .. tag(number) .. suffix
  number = number + %(nthreads)d * %(vary)d
  return wrk.format("POST", %(path)s, headers, body)
end
%(soak)s
function done(summary, latency, requests)
  local e = summary.errors
  local extra = ""
  %(done_extra)s
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50":%%.1f,"p99":%%.1f,"p999":%%.1f,"mean":%%.1f,' ..
    '"max":%%.1f%%s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max, extra))
end
"""

# Soak: count 200s and write request ids. ``ok`` is read back in done().
_SOAK = r"""
ok = 0  -- global: done() reads it with thread:get("ok")
local ids = nil

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if ids == nil then ids = io.open(%(ids_prefix)s .. tid .. ".txt", "w") end
    ids:write((headers["X-OpenClaw-Request-Id"] or "?"), "\n")
  end
end
"""

_SOAK_DONE = r"""local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("ok") or 0) end
  extra = string.format(',"ok":%d', total)"""


def lua_string(s: bytes | str) -> str:
    """A Lua string literal for any bytes (decimal escapes for everything unusual)."""
    data = s.encode() if isinstance(s, str) else s
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def script(
    template: Template,
    *,
    path: str,
    token: str | None,
    start_number: int,
    threads: int = 1,
    ids_prefix: Path | None = None,
    vary: bool = True,
) -> str:
    """The Lua script; ``vary=False`` sends one body over and over (the cache-hit rows)."""
    auth = f', ["Authorization"] = {lua_string("Bearer " + token)}' if token else ""
    soak = done_extra = ""
    if ids_prefix is not None:
        soak = _SOAK % {"ids_prefix": lua_string(str(ids_prefix))}
        done_extra = _SOAK_DONE
    return _SCRIPT % {
        "prefix": lua_string(template.prefix),
        "suffix": lua_string(template.suffix),
        "words": ", ".join(lua_string(w) for w in TAG_WORDS),
        "start": start_number,
        "auth": auth,
        "nthreads": threads,
        "vary": 1 if vary else 0,
        "path": lua_string(path),
        "soak": soak,
        "done_extra": done_extra,
    }


def find() -> str | None:
    return shutil.which("wrk")


def version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (
        (out.stdout or out.stderr).splitlines()[0].strip()
        if (out.stdout or out.stderr)
        else "unknown"
    )


def run(
    exe: str,
    url: str,
    script_path: Path,
    *,
    connections: int,
    duration: float,
    prefix: list[str],
    threads: int = 1,
    timeout_s: int = 10,
) -> LoadResult:
    seconds = max(1, math.ceil(duration))
    argv = [
        *prefix,
        exe,
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script_path),
        url,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    d = json.loads(line[len("WRKJSON ") :])
    elapsed = d["duration_us"] / 1e6
    socket_errors = d["connect"] + d["read"] + d["write"] + d["timeout"]
    ok = d["ok"] if "ok" in d else d["requests"] - d["status"]
    return LoadResult(
        generator="wrk",
        connections=connections,
        duration_s=elapsed,
        requests=d["requests"],
        ok=ok,
        errors=d["status"] + socket_errors,
        rps=d["requests"] / elapsed if elapsed > 0 else 0.0,
        latency_ms={k: d[k] / 1000 for k in ("p50", "p99", "p999", "mean", "max")},
        error_detail={k: d[k] for k in ("connect", "read", "write", "timeout", "status") if d[k]},
    )
