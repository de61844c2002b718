"""The engine shared by the fake upstreams: routing, recording, fault injection, serving.

A :class:`FakeUpstream` subclass only knows its provider's wire format (see
``fakes.providers``); everything about *how* a request is answered lives here, so the three
fakes fail in exactly the same ways. See the package docstring (``fakes/__init__.py``) for
the public API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, NamedTuple, NoReturn, Self, TypeVar

from aiohttp import web
from multidict import CIMultiDict

Json = dict[str, Any]

FAULT_HEADER = "X-Fake-Fault"
# A fault named inside the last user message, for callers that cannot set headers (a gateway
# run as a subprocess forwards neither client headers nor request metadata upstream).
_MARKER = re.compile(r"fake-fault:([A-Za-z0-9_.:]+)")

# name -> default argument
FAULTS: dict[str, float] = {
    "hang": 30.0,  # answer only after N seconds (a latency injector when N is small)
    "reset": 0.0,  # TCP RST before any response byte
    "malformed": 0.0,  # 200 with a body that is not valid JSON (or a bad stream frame)
    "cut": 1.0,  # stream: N content frames, then the connection drops (non-stream: half a body)
    "truncate": 1.0,  # stream: N content frames, then a clean HTTP end with no terminator
    "stream_error": 1.0,  # stream: N content frames, then the provider's in-band error frame
    "content_filter": 0.0,  # OpenAI finish_reason content_filter / Anthropic stop_reason refusal
    "slow": 0.02,  # stream: a content frame every N seconds until the client goes away
    "tool": 0.0,  # call the first tool the request declares, with {"query": "fake"}
}


@dataclass
class Reply:
    """What the fake answers to one request. The defaults give a normal reply."""

    text: str | None = None  # None: echo the last user message
    tool_calls: list[tuple[str, Json]] = field(default_factory=list)  # (name, arguments)
    status: int = 200  # >= 400: the provider's error body with this status
    retry_after: float | None = None  # Retry-After header on an error status
    fault: str | None = None  # a key of FAULTS
    arg: float | None = None  # the fault's argument; None: FAULTS default
    usage: tuple[int, int] | None = None  # (prompt, completion); None: estimated
    thinking: str | None = None  # reasoning before the answer (Anthropic, Ollama wires)

    @classmethod
    def parse(cls, spec: str) -> Reply:
        """``"429"``, ``"429:0.5"`` (Retry-After), ``"hang"``, ``"cut:2"``, ``"slow:0.05"``..."""
        name, _, arg = spec.strip().partition(":")
        if name.isdigit():
            return cls(status=int(name), retry_after=float(arg) if arg else None)
        if name not in FAULTS:
            raise ValueError(f"unknown fake fault {spec!r}; known: {', '.join(FAULTS)} or a status")
        return cls(fault=name, arg=float(arg) if arg else None)

    @property
    def n(self) -> float:
        return FAULTS.get(self.fault or "", 0.0) if self.arg is None else self.arg


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    headers: CIMultiDict[str]
    json: Any
    fault: str | None = None  # the fault spec that applied, if any


@dataclass
class Turn:
    """One chat request being answered; ``state`` is scratch space for the wire format."""

    body: Json
    reply: Reply
    model: str
    text: str
    tool_calls: list[tuple[str, Json]]
    finish: str  # "stop" | "tool_calls" | "content_filter" (OpenAI words; wires translate)
    prompt_tokens: int
    completion_tokens: int
    created: int = field(default_factory=lambda: int(time.time()))
    thinking: str = ""
    state: Json = field(default_factory=dict)
    dropped: bool = False


def pieces(text: str) -> list[str]:
    """Split text into stream deltas, one word each, keeping the spaces."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


class FakeUpstream:
    """Base class: a provider's HTTP API on loopback, with a reply queue and faults.

    Subclasses set the class attributes and implement the wire hooks (``render``,
    ``stream_head``, ``stream_text``, ``stream_tools``, ``stream_tail``, ``stream_error``,
    ``error_body``, ``models_body``, ``validate``, ``is_stream``, ``tool_names``).
    """

    kind: ClassVar[str] = ""
    url_suffix: ClassVar[str] = ""  # what SDKs expect on the base URL ("/v1" for OpenAI)
    chat_path: ClassVar[str] = ""
    models_path: ClassVar[str] = ""
    embed_path: ClassVar[str] = ""  # the embeddings endpoint, where the API has one
    stream_content_type: ClassVar[str] = "text/event-stream"

    def __init__(self, default_text: str | None = None) -> None:
        self.default_text = default_text
        self.requests: list[Recorded] = []
        self.queue: deque[Reply] = deque()
        self.disconnects = 0
        self.disconnected = threading.Event()
        self.url = ""
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # -- test-facing API ---------------------------------------------------------
    def enqueue(self, *replies: Reply | str, **reply: Any) -> None:
        """Queue replies for the next chat requests: ``Reply`` objects, fault specs, or kwargs."""
        for r in replies:
            self.queue.append(Reply.parse(r) if isinstance(r, str) else r)
        if reply:
            self.queue.append(Reply(**reply))

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == self.chat_path]

    async def wait_disconnect(self, timeout: float = 1.0) -> bool:
        """Wait (from any event loop) until a client dropped a connection mid-answer."""
        deadline = time.monotonic() + timeout
        while not self.disconnected.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.disconnected.is_set()

    def clear(self) -> None:
        self.requests.clear()
        self.queue.clear()
        self.disconnects = 0
        self.disconnected.clear()

    async def start(self) -> str:
        """Serve on 127.0.0.1 on a free port in the running loop; return :attr:`url`."""
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post(self.chat_path, self._chat)
        app.router.add_get(self.models_path, self._models)
        if self.embed_path:
            app.router.add_post(self.embed_path, self._embed)
        # handler_cancellation: a client that goes away cancels its handler, which is how the
        # fake observes disconnects (and how a "hang" ends when the client times out).
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, shutdown_timeout=0.5).start()
        self.url = f"http://127.0.0.1:{self.port}{self.url_suffix}"
        return self.url

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- wire hooks (subclasses) -----------------------------------------------------
    def is_stream(self, body: Json) -> bool:
        return bool(body.get("stream"))

    def validate(self, body: Json) -> str | None:
        """Return why the real API would answer 400, or None."""
        return None

    def tool_names(self, body: Json) -> list[str]:
        return []

    def error_body(self, status: int, message: str) -> Json:
        raise NotImplementedError

    def models_body(self) -> Json:
        raise NotImplementedError

    def render(self, turn: Turn) -> Json:
        raise NotImplementedError

    def validate_embed(self, body: Json) -> str | None:
        """Return why the real embeddings endpoint would answer 400, or None."""
        return None

    def render_embed(self, body: Json, vectors: list[list[float]], tokens: int) -> Json:
        raise NotImplementedError

    def embed_inputs(self, body: Json) -> list[Any]:
        raw = body.get("input")
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            return [raw]
        return list(raw) if isinstance(raw, list) else []

    def stream_head(self, turn: Turn) -> list[bytes]:
        return []

    def stream_text(self, turn: Turn, piece: str) -> bytes:
        raise NotImplementedError

    def stream_tools(self, turn: Turn) -> list[bytes]:
        raise NotImplementedError

    def stream_tail(self, turn: Turn) -> list[bytes]:
        raise NotImplementedError

    def stream_error(self, turn: Turn) -> bytes:
        raise NotImplementedError

    def malformed_frame(self) -> bytes:
        return b'data: {"id": "broken\n\n'

    # -- handlers ----------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.StreamResponse:
        # Only the header selects a fault here: the queue and the marker are for chat calls.
        spec = request.headers.get(FAULT_HEADER)
        self._record(request, None, spec)
        reply = Reply.parse(spec) if spec else Reply()
        if reply.status >= 400:
            return self._error(
                reply.status, f"fake {self.kind} error {reply.status}", reply.retry_after
            )
        if reply.fault == "reset":
            await self._drop(request)
        if reply.fault == "hang":
            await self._hang(request, reply.n)
        return web.json_response(self.models_body())

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            self._record(request, None, None)
            return self._error(400, "request body is not valid JSON")
        if not isinstance(body, dict):
            self._record(request, body, None)
            return self._error(400, "request body must be a JSON object")
        reply, spec = self._choose(request, body)
        self._record(request, body, spec)
        if reply.status >= 400:
            return self._error(
                reply.status, f"fake {self.kind} error {reply.status}", reply.retry_after
            )
        problem = self.validate(body)
        if problem:
            return self._error(400, problem)
        if reply.fault == "reset":
            await self._drop(request)
        if reply.fault == "hang":
            await self._hang(request, reply.n)
        turn = self._turn(body, reply)
        if self.is_stream(body):
            return await self._stream(request, turn)
        if reply.fault == "malformed":
            return web.Response(body=b'{"id": "broken', content_type="application/json")
        if reply.fault == "cut":
            return await self._cut_body(request, turn)
        return web.json_response(self.render(turn))

    async def _embed(self, request: web.Request) -> web.StreamResponse:
        """Embeddings: faults from the header or the queue; vectors derived from the input."""
        try:
            body = await request.json()
        except ValueError:
            self._record(request, None, None)
            return self._error(400, "request body is not valid JSON")
        spec = request.headers.get(FAULT_HEADER)
        reply = Reply.parse(spec) if spec else (self.queue.popleft() if self.queue else Reply())
        self._record(request, body, spec)
        if reply.status >= 400:
            return self._error(
                reply.status, f"fake {self.kind} error {reply.status}", reply.retry_after
            )
        if reply.fault == "reset":
            await self._drop(request)
        if reply.fault == "hang":
            await self._hang(request, reply.n)
        problem = self.validate_embed(body) if isinstance(body, dict) else "body must be an object"
        if problem:
            return self._error(400, problem)
        dims = body.get("dimensions")
        size = dims if isinstance(dims, int) and dims > 0 else EMBED_DIMENSIONS
        inputs = self.embed_inputs(body)
        vectors = [fake_vector(json.dumps(x), size) for x in inputs]
        tokens = sum(len(x) if isinstance(x, list) else max(1, len(x) // 4) for x in inputs)
        if reply.fault == "malformed":
            return web.Response(body=b'{"data": [', content_type="application/json")
        return web.json_response(self.render_embed(body, vectors, tokens))

    def embed_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == self.embed_path]

    def _choose(self, request: web.Request, body: Json) -> tuple[Reply, str | None]:
        spec = request.headers.get(FAULT_HEADER) or self._marker(body)
        if spec:
            return Reply.parse(spec), spec
        if self.queue:
            return self.queue.popleft(), None
        return Reply(), None

    def _marker(self, body: Json) -> str | None:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return None
        for msg in reversed(messages):
            if isinstance(msg, dict) and msg.get("role") == "user":
                m = _MARKER.search(json.dumps(msg.get("content")))
                return m.group(1) if m else None
        return None

    def _record(self, request: web.Request, body: Any, spec: str | None) -> None:
        self.requests.append(
            Recorded(request.method, request.path, CIMultiDict(request.headers), body, spec)
        )

    def _error(self, status: int, message: str, retry_after: float | None = None) -> web.Response:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return web.json_response(self.error_body(status, message), status=status, headers=headers)

    def _turn(self, body: Json, reply: Reply) -> Turn:
        calls = list(reply.tool_calls)
        if reply.fault == "tool" and not calls:
            calls = [(name, {"query": "fake"}) for name in self.tool_names(body)[:1]]
        if reply.fault == "content_filter":
            text, finish = "", "content_filter"
        else:
            text = reply.text if reply.text is not None else self._echo(body, bool(calls))
            finish = "tool_calls" if calls else "stop"
        prompt = max(1, len(json.dumps(body.get("messages"))) // 4)
        completion = len(pieces(text)) + 5 * len(calls)
        if reply.usage is not None:
            prompt, completion = reply.usage
        model = str(body.get("model") or "fake-model")
        turn = Turn(body, reply, model, text, calls, finish, prompt, completion)
        turn.thinking = reply.thinking or ""
        return turn

    def _echo(self, body: Json, has_tools: bool) -> str:
        if self.default_text is not None:
            return self.default_text
        if has_tools:
            return ""
        last = ""
        messages = body.get("messages")
        for msg in reversed(messages if isinstance(messages, list) else []):
            if isinstance(msg, dict) and msg.get("role") == "user":
                last = _text_of(msg.get("content"))
                break
        return f"fake-{self.kind} heard: {last[:200]}".strip()

    async def _hang(self, request: web.Request, seconds: float) -> None:
        assert self._stopping is not None
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except asyncio.CancelledError:
            self._note_disconnect()
            raise
        if self._stopping.is_set() or request.transport is None or request.transport.is_closing():
            # Nobody left to answer. Raising CancelledError is how aiohttp quietly ends a
            # handler whose client has gone.
            raise asyncio.CancelledError

    async def _drop(self, request: web.Request) -> NoReturn:
        """Reset the TCP connection (RST, not FIN) and end the handler quietly."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        raise asyncio.CancelledError  # aiohttp's quiet end for a handler without a client

    async def _cut_body(self, request: web.Request, turn: Turn) -> web.StreamResponse:
        data = json.dumps(self.render(turn)).encode()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(data[: len(data) // 2])
        await self._drop(request)

    async def _stream(self, request: web.Request, turn: Turn) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": self.stream_content_type, "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        fault, n = turn.reply.fault, turn.reply.n
        try:
            for frame in self.stream_head(turn):
                await resp.write(frame)
            if fault == "slow":
                while True:
                    await resp.write(self.stream_text(turn, "tick "))
                    await asyncio.sleep(n)
            if fault == "malformed":
                await resp.write(self.malformed_frame())
                await resp.write_eof()
                return resp
            frames = [self.stream_text(turn, p) for p in pieces(turn.text)]
            if turn.tool_calls:
                frames += self.stream_tools(turn)
            if fault in ("cut", "truncate", "stream_error"):
                for frame in frames[: int(n)]:
                    await resp.write(frame)
                if fault == "cut":
                    turn.dropped = True
                    await self._drop(request)
                if fault == "stream_error":
                    await resp.write(self.stream_error(turn))
                await resp.write_eof()
                return resp
            for frame in frames + self.stream_tail(turn):
                await resp.write(frame)
            await resp.write_eof()
        except ConnectionResetError:
            self._note_disconnect()
        except asyncio.CancelledError:
            if not turn.dropped:
                self._note_disconnect()
            raise
        return resp

    def _note_disconnect(self) -> None:
        self.disconnects += 1
        self.disconnected.set()


EMBED_DIMENSIONS = 8


def fake_vector(seed: str, size: int) -> list[float]:
    """A deterministic vector for ``seed``: equal inputs embed equally, as with a real model."""
    digest = hashlib.sha256(seed.encode()).digest()
    return [round((digest[i % len(digest)] - 127.5) / 127.5, 6) for i in range(size)]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


F = TypeVar("F", bound=FakeUpstream)


class ThreadedUpstream(NamedTuple, Generic[F]):
    """A fake served from its own thread and event loop: ``url, fake, stop = ...``."""

    url: str
    fake: F
    stop: Callable[[], None]

    def __enter__(self) -> ThreadedUpstream[F]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(fake: F) -> ThreadedUpstream[F]:
    """Serve ``fake`` from a daemon thread, for tests whose gateway runs as a subprocess.

    The fake's ``requests``, ``queue``, ``enqueue()`` and ``disconnected`` are safe to use from
    the test's thread. ``stop()`` is idempotent.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"fake-{fake.kind}", daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=5)
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()

    return ThreadedUpstream(url, fake, stop)
