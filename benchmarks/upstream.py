"""The fake OpenAI-compatible upstream: a raw ``asyncio.Protocol`` HTTP/1.1 server.

It must never be the bottleneck, so it does the least an HTTP server can: no framework, no
JSON parsing, canned response bytes built once at start. Per request it finds the end of the
head, reads ``Content-Length``, looks for ``"stream": true`` in the body with one regex, and
writes a prepared answer. Keep-alive and pipelined requests work; nothing else is supported
(no chunked request bodies, no ``Expect``), which is all wrk, aiohttp, httpx and the OpenAI SDK
need.

- ``POST .../chat/completions``: a ``chat.completion`` JSON, or for ``"stream": true`` an SSE
  stream in chunked encoding. The stream's first event (role and the first word) goes out at
  once; the rest (more words, ``finish_reason``, usage, ``[DONE]``) follows ``stream_gap``
  seconds later, so time to first token and time to last byte are different numbers.
- ``GET .../models``: a one-model list (the gateway's and LiteLLM's health checks).

Run it as ``python -m benchmarks.upstream --port 0``; it prints ``READY <port>`` once
listening, and exits on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys

_STREAM = re.compile(rb'"stream"\s*:\s*true')
_CL = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)

ANSWER_WORDS = ["Here", " is", " a", " short", " canned", " answer", " from", " the", " fake", "."]
MODEL = "bench-model"


def _chat_completion() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(ANSWER_WORDS)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        },
        separators=(",", ":"),
    ).encode()


def _sse(obj: object) -> bytes:
    data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _stream_parts() -> tuple[bytes, bytes]:
    """(first write: head and first token, second write: the rest of the stream)."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    first = head + _sse(_chunk({"role": "assistant", "content": ANSWER_WORDS[0]}))
    rest = b"".join(_sse(_chunk({"content": w})) for w in ANSWER_WORDS[1:])
    rest += _sse(_chunk({}, "stop"))
    usage = _chunk({})
    usage["choices"] = []
    usage["usage"] = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
    rest += _sse(usage) + _sse(b"[DONE]") + b"0\r\n\r\n"
    return first, rest


def _response(status: str, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status.encode(),
        ctype,
        len(body),
        body,
    )


COMPLETION = _response("200 OK", _chat_completion())
EMBEDDING = _response(
    "200 OK",
    json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.125] * 256}],
            "model": "bench-embed",
            "usage": {"prompt_tokens": 50, "total_tokens": 50},
        }
    ).encode(),
)
MODELS = _response(
    "200 OK", json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()
)
NOT_FOUND = _response(
    "404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error"}}'
)
STREAM_FIRST, STREAM_REST = _stream_parts()


class UpstreamProtocol(asyncio.Protocol):
    """One client connection. Parses heads with ``bytes.find``; never decodes JSON."""

    stream_gap = 0.001

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            m = _CL.search(head)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            self.answer(head, body)
            if _CLOSE.search(head) and self.transport is not None:
                self.transport.close()
                return

    def answer(self, head: bytes, body: bytes) -> None:
        t = self.transport
        if t is None:
            return
        line = head[: head.find(b"\r\n")]
        if line.startswith(b"POST ") and b"/chat/completions" in line:
            if _STREAM.search(body):
                t.write(STREAM_FIRST)
                loop = asyncio.get_running_loop()
                if self.stream_gap > 0:
                    loop.call_later(self.stream_gap, self._rest, t)
                else:
                    t.write(STREAM_REST)
            else:
                t.write(COMPLETION)
        elif line.startswith(b"POST ") and b"/embeddings" in line:
            t.write(EMBEDDING)  # one 256-float vector, whatever the input
        elif line.startswith(b"GET ") and b"/models" in line:
            t.write(MODELS)
        else:
            t.write(NOT_FOUND)

    @staticmethod
    def _rest(t: asyncio.Transport) -> None:
        if not t.is_closing():
            t.write(STREAM_REST)


async def serve(host: str, port: int, stream_gap: float) -> None:
    UpstreamProtocol.stream_gap = stream_gap
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.upstream", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--stream-gap", type=float, default=0.001, help="seconds before the rest")
    args = ap.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.stream_gap))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
