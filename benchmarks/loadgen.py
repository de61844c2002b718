"""The built-in load generator: asyncio, raw sockets, keep-alive, one process.

It is the fallback when ``wrk`` is absent, and the only generator for streaming points,
because it also measures time to first token: the time from writing a request to the first
``data:`` bytes of the response body. It speaks just enough HTTP/1.1 for the systems under test
(``Content-Length`` and chunked responses) and does not pipeline.

Run as ``python -m benchmarks.loadgen --url ... --template FILE ...``; it prints one JSON object
(:class:`LoadResult` fields) on stdout. ``--requests N`` stops after N responses instead of
after ``--duration`` (the soak); ``--ids-out FILE`` writes the ``X-OpenClaw-Request-Id`` of each
200 response, so the harness can look for every one of them in the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.payloads import Template, tag_for

_CL = b"\r\ncontent-length:"
_ID = b"\r\nx-openclaw-request-id:"
#: Seconds past the deadline to wait for answers before closing connections anyway.
_GRACE = 15.0


@dataclass
class LoadResult:
    """What one load run measured. Latencies are in milliseconds."""

    generator: str
    connections: int
    duration_s: float
    requests: int  # responses received
    ok: int  # responses with a 2xx status
    errors: int  # non-2xx responses plus connect/read/write/timeout errors
    rps: float
    latency_ms: dict[str, float]
    ttft_ms: dict[str, float] | None = None
    error_detail: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p99/p99.9 (nearest rank), mean and max of ``samples`` (seconds) in milliseconds."""
    if not samples:
        return {
            "p50": math.nan,
            "p99": math.nan,
            "p999": math.nan,
            "mean": math.nan,
            "max": math.nan,
        }
    s = sorted(samples)

    def rank(p: float) -> float:
        return s[max(0, math.ceil(p * len(s) / 100 - 1e-9) - 1)] * 1000

    return {
        "p50": rank(50),
        "p99": rank(99),
        "p999": rank(99.9),
        "mean": sum(s) / len(s) * 1000,
        "max": s[-1] * 1000,
    }


def rounded(d: dict[str, float] | None) -> dict[str, float]:
    """Latency figures rounded for the report, NaNs (no samples) left out."""
    return {k: round(v, 4) for k, v in (d or {}).items() if not math.isnan(v)}


class _Conn(asyncio.Protocol):
    """One keep-alive connection: send, parse the answer, repeat."""

    def __init__(self, gen: _Generator) -> None:
        self.gen = gen
        self.t: asyncio.Transport | None = None
        self.buf = bytearray()
        self.reset()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def reset(self) -> None:
        self.head_end = -1
        self.status = 0
        self.length = -1  # Content-Length, or -1 for chunked
        self.pos = 0  # chunked: where the next chunk-size line starts
        self.first: float | None = None
        self.sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.t = transport
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sent and not self.done.done():
            self.gen.fail("read")
        self.t = None
        if not self.done.done():
            self.done.set_result(None)

    def send(self) -> None:
        gen = self.gen
        if self.t is None or not gen.may_send():
            if self.t is not None:
                self.t.close()
            if not self.done.done():
                self.done.set_result(None)
            return
        body = gen.template.body(tag_for(gen.next_number()))
        self.reset()
        self.sent = time.perf_counter()
        self.t.write(gen.head % len(body) + body)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buf
        buf += data
        if self.head_end < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head_end = end + 4
            head = bytes(buf[:end]).lower()
            self.status = int(head[9:12])
            i = head.find(_CL)
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                self.length = int(head[i + len(_CL) : j if j > 0 else None])
            else:
                self.length = -1
                self.pos = self.head_end
            if self.gen.ids is not None and self.status == 200:
                i = head.find(_ID)
                if i >= 0:
                    j = head.find(b"\r\n", i + 2)
                    self.gen.ids.append(
                        bytes(buf[i + len(_ID) : j if j > 0 else end]).strip().decode()
                    )
        if self.first is None and buf.find(b"data:", self.head_end) >= 0:
            self.first = now
        if not self._complete():
            return
        self.gen.record(
            self.status, now - self.sent, None if self.first is None else self.first - self.sent
        )
        self.sent = 0.0
        self.send()

    def _complete(self) -> bool:
        buf = self.buf
        if self.length >= 0:
            end = self.head_end + self.length
            if len(buf) < end:
                return False
            del buf[:end]
            return True
        while True:  # chunked: walk the chunk-size lines
            eol = buf.find(b"\r\n", self.pos)
            if eol < 0:
                return False
            size = int(bytes(buf[self.pos : eol]).split(b";")[0], 16)
            nxt = eol + 2 + size + 2
            if len(buf) < nxt:
                return False
            if size == 0:
                del buf[:nxt]
                return True
            self.pos = nxt


class _Generator:
    def __init__(
        self,
        url: str,
        template: Template,
        *,
        token: str | None,
        start_number: int,
        ids: bool,
        vary: bool = True,
    ) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\n{auth}Content-Length: %d\r\n\r\n"
        ).encode()
        self.template = template
        self.number = start_number
        self.vary = vary  # False: every request carries the same tag (the cache-hit rows)
        self.ids: list[str] | None = [] if ids else None
        self.measuring = False
        self.stop_at = math.inf  # perf_counter deadline
        self.max_requests = math.inf
        self.sent = 0
        self.clear()

    def clear(self) -> None:
        self.latencies: list[float] = []
        self.ttfts: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.count = 0

    def next_number(self) -> int:
        self.number += 1 if self.vary else 0
        self.sent += 1
        return self.number

    def may_send(self) -> bool:
        return time.perf_counter() < self.stop_at and self.sent < self.max_requests

    def record(self, status: int, latency: float, ttft: float | None) -> None:
        if time.perf_counter() > self.stop_at:
            return  # finished after the deadline: not counted, like wrk
        self.count += 1
        self.latencies.append(latency)
        if ttft is not None:
            self.ttfts.append(ttft)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def fail(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def phase(self, connections: int, seconds: float, max_requests: float) -> float:
        loop = asyncio.get_running_loop()
        self.sent = 0
        self.max_requests = max_requests
        start = time.perf_counter()
        self.stop_at = start + seconds
        conns: list[_Conn] = []
        for _ in range(connections):
            try:
                _t, c = await loop.create_connection(lambda: _Conn(self), self.host, self.port)
            except OSError:
                self.fail("connect")
                continue
            conns.append(c)
        wait = seconds + _GRACE if math.isinf(max_requests) else None
        try:
            await asyncio.wait_for(asyncio.gather(*(c.done for c in conns)), wait)
        except TimeoutError:
            for c in conns:
                if c.t is not None:
                    self.fail("timeout")
                    c.t.abort()
        return min(time.perf_counter(), self.stop_at) - start


async def run(
    url: str,
    template: Template,
    *,
    connections: int,
    duration: float,
    warmup: float = 0.0,
    token: str | None = None,
    start_number: int = 0,
    max_requests: int | None = None,
    collect_ids: bool = False,
    vary: bool = True,
) -> tuple[LoadResult, list[str]]:
    gen = _Generator(
        url, template, token=token, start_number=start_number, ids=collect_ids, vary=vary
    )
    if warmup > 0:
        await gen.phase(connections, warmup, math.inf)
        gen.clear()
        if gen.ids is not None:
            gen.ids.clear()
    limit = math.inf if max_requests is None else max_requests
    elapsed = await gen.phase(connections, duration if max_requests is None else 3600, limit)
    ok = sum(n for s, n in gen.statuses.items() if 200 <= s < 300)
    bad = gen.count - ok
    detail = dict(gen.errors)
    for s, n in gen.statuses.items():
        if not 200 <= s < 300:
            detail[f"status_{s}"] = n
    result = LoadResult(
        generator="asyncio",
        connections=connections,
        duration_s=elapsed,
        requests=gen.count,
        ok=ok,
        errors=bad + sum(gen.errors.values()),
        rps=gen.count / elapsed if elapsed > 0 else 0.0,
        latency_ms=percentiles(gen.latencies),
        ttft_ms=percentiles(gen.ttfts) if gen.ttfts else None,
        error_detail=detail,
    )
    return result, gen.ids or []


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--template", required=True, type=Path, help="JSON: {prefix, suffix}")
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--token")
    ap.add_argument("--start-number", type=int, default=0)
    ap.add_argument("--requests", type=int, default=None)
    ap.add_argument("--ids-out", type=Path)
    ap.add_argument(
        "--same-tag", action="store_true", help="every request the same body (cache hits)"
    )
    args = ap.parse_args(argv)
    spec = json.loads(args.template.read_text())
    template = Template(spec["prefix"].encode(), spec["suffix"].encode())
    result, ids = asyncio.run(
        run(
            args.url,
            template,
            connections=args.connections,
            duration=args.duration,
            warmup=args.warmup,
            token=args.token,
            start_number=args.start_number,
            max_requests=args.requests,
            collect_ids=args.ids_out is not None,
            vary=not args.same_tag,
        )
    )
    if args.ids_out is not None:
        args.ids_out.write_text("".join(i + "\n" for i in ids))
    json.dump(result.to_dict(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
