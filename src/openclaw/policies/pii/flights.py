"""Concurrent requests for the same keys share one computation (a "single flight").

The PII engine scans each new text once even when 32 agents send the same new tool output at
the same moment: the first request's scan is the one every other request waits for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """The computations under way, by key, on whichever event loop started them."""

    def __init__(self) -> None:
        self._flying: dict[K, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._flying)

    async def run(
        self, keys: Collection[K], compute: Callable[[Collection[K]], Awaitable[dict[K, V]]]
    ) -> dict[K, V]:
        """The value for each key: from a computation under way for it, or from one
        ``compute(the other keys)`` call, which must return a value for each key it gets.

        The call runs as a task of its own, so a caller that goes away does not cancel it
        for the others; its exception reaches every caller waiting on it.
        """
        loop = asyncio.get_running_loop()
        waits = {
            k: f for k in keys if (f := self._flying.get(k)) is not None and f.get_loop() is loop
        }
        mine = [k for k in keys if k not in waits]
        if mine:
            futures = {k: loop.create_future() for k in mine}
            self._flying.update(futures)
            task = loop.create_task(_call(compute, mine))

            def land(task: asyncio.Task[dict[K, V]]) -> None:
                for k, fut in futures.items():
                    if self._flying.get(k) is fut:
                        del self._flying[k]
                    if task.cancelled():
                        fut.cancel()
                    elif (exc := task.exception()) is not None:
                        fut.set_exception(exc)
                        fut.exception()  # retrieved: a caller that went away does not log it
                    else:
                        fut.set_result(task.result()[k])

            task.add_done_callback(land)
            waits.update(futures)
        return {k: await asyncio.shield(fut) for k, fut in waits.items()}


async def _call(
    compute: Callable[[Collection[K]], Awaitable[dict[K, V]]], keys: Collection[K]
) -> dict[K, V]:
    return await compute(keys)
