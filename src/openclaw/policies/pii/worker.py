"""The inside of one NER worker process: load the spaCy pipeline once, then find entities.

A worker is started by :class:`~openclaw.policies.pii.pool.PiiScanPool` with a ``spawn`` or
``forkserver`` context, so it never inherits the daemon's event loop or threads. It imports
spaCy and never presidio (:mod:`.pipeline`): the daemon runs the pattern recognizers itself,
at the same time, and maps the spans to findings (:mod:`.ner`). It loads the first pipeline
of its candidates that loads (a fork server that preloaded it, :mod:`.preload`, has done that
already), says so (``ready``), and then serves one message at a time on its end of a pipe:

- ``("ner", [text, ...])``: texts to run through ``nlp.pipe`` together; answers
  ``("ok", [spans, ...])`` with one tuple of ``(label, start, end)`` per text, or
  ``("error", exception type name)`` when spaCy raised (never the message: it can quote the
  text);
- ``("stop",)`` or end of file (the daemon went away): exit.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from openclaw.policies.pii.pipeline import EntitySpan, pipeline_version, shared_pipeline

log = logging.getLogger("openclaw.policies.pii.worker")

Spans = list[tuple[EntitySpan, ...]]


@dataclass
class WorkerState:
    """What a worker holds between jobs. ``find`` may be wrapped by a pool's initializer."""

    package: str
    find: Callable[[Sequence[str]], Spans] = field(init=False)

    def __post_init__(self) -> None:
        self.find = shared_pipeline(self.package).spans


def load_first(candidates: Sequence[str]) -> tuple[str | None, str, list[str]]:
    """Load the first candidate pipeline that loads: (it, its version, the ones that failed)."""
    failed: list[str] = []
    for package in candidates:
        try:
            return package, pipeline_version(shared_pipeline(package).nlp), failed
        except Exception as exc:
            log.warning(
                "NER worker: spaCy pipeline %s could not be loaded (%s: %s)",
                package,
                type(exc).__name__,
                exc,
            )
            failed.append(package)
    return None, "", failed


def main(
    conn: Connection,
    candidates: Sequence[str],
    initializer: Callable[[WorkerState], None] | None,
) -> None:
    """The worker's entry point (a module-level function, so spawn can pickle it)."""
    # Ctrl-C in the daemon's terminal reaches the whole process group; the daemon stops its
    # workers itself, in order, so they ignore it rather than die mid-scan with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    package, version, failed = load_first(candidates)
    conn.send(("ready", {"package": package, "version": version, "failed": failed}))
    if package is None:
        return
    state = WorkerState(package)
    if initializer is not None:
        initializer(state)
    while True:
        try:
            msg: Any = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "ner":
            return
        try:
            conn.send(("ok", state.find(msg[1])))
        except Exception as exc:
            conn.send(("error", type(exc).__name__))
