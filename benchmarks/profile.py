"""Sampling the system under test with py-spy while a point runs (``--profile``).

py-spy attaches from outside (``--nonblocking``: it never pauses the target), so the profiled
point's numbers move little; they are still marked as profiled in the results. The raw
collapsed stacks are kept (for speedscope or flamegraph.pl) next to a text summary: the
functions with the most samples on top of the stack (self) and anywhere on it (total).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def find_py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(
    exe: str, pid: int, seconds: float, raw: Path, prefix: list[str]
) -> subprocess.Popen[bytes]:
    raw.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        *prefix,
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(raw),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes], raw: Path, summary: Path) -> str | None:
    """Wait for py-spy, write the summary; returns an error message or None."""
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "py-spy did not finish"
    if proc.returncode != 0 or not raw.exists():
        return f"py-spy failed: {err.decode(errors='replace').strip()[-300:]}"
    summary.write_text(summarize(raw))
    return None


def summarize(raw: Path, top: int = 30) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [f for f in stack.split(";") if f]
        # py-spy prefixes the thread ("process 123:..."/"thread (0x...)"); keep code frames.
        code = [f for f in frames if "(" in f and ".py" in f] or frames
        own[code[-1]] += n
        for f in set(code):
            total[f] += n

    def table(c: Counter[str]) -> list[str]:
        return [f"{n / samples * 100:6.1f}%  {frame}" for frame, n in c.most_common(top)]

    if not samples:
        return "no samples\n"
    return "\n".join(
        [
            f"{samples} samples",
            "",
            "self (top of stack):",
            *table(own),
            "",
            "total (anywhere on the stack):",
            *table(total),
            "",
        ]
    )
