"""The daemon's aiohttp runner, with a deadline on reading each request's head.

aiohttp closes an idle keep-alive connection (``keepalive_timeout``), but once a client has
sent the first byte of a request it waits for the rest of the head forever: a client that
sends half its headers and stops holds a connection (and a file descriptor) until it goes
away. :class:`GuardedHandler` arms a timer at the first byte of each request head and closes
the connection if the head is not complete by ``security.header_timeout_seconds``. The
body's deadline is checked where the body is read (``server/ingress.read_json``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server


class GuardedHandler(RequestHandler):
    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        waiting_for_head = not self._request_in_progress and not self._messages
        super().data_received(data)
        if self._messages or self._request_in_progress:
            self._disarm()  # a whole head arrived: the handler (and the body timeout) take over
        elif waiting_for_head and data and self._head_timer is None:
            self._head_timer = self._loop.call_later(self._header_timeout, self._head_late)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self._messages and not self._request_in_progress:
            self.force_close()
            if self.transport is not None:
                self.transport.close()


class GuardedServer(Server):
    header_timeout = 10.0

    def __call__(self) -> RequestHandler:
        return GuardedHandler(
            self, loop=self._loop, header_timeout=self.header_timeout, **self._kwargs
        )


class GuardedRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose connections get a request-head deadline."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._head_deadline = header_timeout

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        # aiohttp builds its Server in Application._make_handler; swapping the class is the
        # one seam it leaves for a custom RequestHandler without copying that method.
        server.__class__ = GuardedServer
        assert isinstance(server, GuardedServer)
        server.header_timeout = self._head_deadline
        return server
