"""The upstream hop on its own: aiohttp's ``ClientSession`` against httpx's ``AsyncClient``.

The gateway makes one HTTP call per request to its provider, so the client library for that
hop is a performance choice. This measures both the way the adapters use them (one pooled,
keep-alive client, POST a 200-character chat request, read and parse the JSON answer)
against the fake upstream of :mod:`benchmarks.upstream` in a process of its own, at 1 and 32
concurrent requests, and prints a table. docs/routing.md ("The upstream client") has the
numbers that chose aiohttp.

    python -m benchmarks.client_hop [--seconds 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from benchmarks.loadgen import percentiles
from benchmarks.payloads import PAYLOADS, render, tag_for

Call = Callable[[], Awaitable[None]]


def start_upstream() -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.upstream", "--port", "0"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"the fake upstream did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1/chat/completions"


async def measure(call: Call, connections: int, seconds: float) -> dict[str, float]:
    samples: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - t0)  # seconds: percentiles() gives ms

    for _ in range(20):  # warm the pool
        await call()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    wall = time.perf_counter() - t0
    return {"rps": len(samples) / wall, **percentiles(samples)}


async def run(url: str, seconds: float, rounds: int) -> list[tuple[str, int, dict[str, float]]]:
    import aiohttp
    import httpx

    body = render(PAYLOADS["clean-200"]).body(tag_for(1))
    headers = {"Content-Type": "application/json", "Authorization": "Bearer x"}
    out = []
    for _ in range(rounds):
        for connections in (1, 32):
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30)
            )

            async def via_aiohttp(session: aiohttp.ClientSession = session) -> None:
                async with session.post(url, data=body, headers=headers) as r:
                    json.loads(await r.read())

            out.append(("aiohttp", connections, await measure(via_aiohttp, connections, seconds)))
            await session.close()

            client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)
            )

            async def via_httpx(client: httpx.AsyncClient = client) -> None:
                r = await client.post(url, content=body, headers=headers)
                json.loads(r.content)

            out.append(("httpx", connections, await measure(via_httpx, connections, seconds)))
            await client.aclose()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.client_hop", description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per point")
    ap.add_argument("--rounds", type=int, default=2, help="rounds (each client, each count)")
    a = ap.parse_args(argv)
    proc, url = start_upstream()
    try:
        results = asyncio.run(run(url, a.seconds, a.rounds))
    finally:
        proc.terminate()
        proc.wait(10)
    import aiohttp
    import httpx

    print(f"aiohttp {aiohttp.__version__}, httpx {httpx.__version__}, upstream {url}")
    print("| client | concurrent | req/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, conns, r in results:
        print(f"| {name} | {conns} | {r['rps']:,.0f} | {r['p50']:.3f} | {r['p99']:.3f} |")


if __name__ == "__main__":
    main()
