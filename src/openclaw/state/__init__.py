"""Where limits, budgets and the response cache keep their state.

``state: {backend: memory}`` (the default) keeps it in this process; ``state: {backend:
redis, url: redis://...}`` keeps it in Redis so several gateway instances share one set of
rate-limit buckets, concurrency counts, budgets and one cache. :mod:`openclaw.state.base`
is the seam, :mod:`~openclaw.state.memory` and :mod:`~openclaw.state.redis_state` the two
backends, :mod:`~openclaw.state.shared` the wrapper that applies ``state.on_unavailable``.
"""

from openclaw.state.base import (
    Admission,
    Bucket,
    Lease,
    StateBackend,
    StateUnavailable,
    Take,
)
from openclaw.state.memory import MemoryState
from openclaw.state.shared import GatewayState, build_state

__all__ = [
    "Admission",
    "Bucket",
    "GatewayState",
    "Lease",
    "MemoryState",
    "StateBackend",
    "StateUnavailable",
    "Take",
    "build_state",
]
