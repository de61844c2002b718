"""The inside of one PII worker process: load the spaCy pipeline once, then answer scans.

A worker is started by :class:`~openclaw.policies.pii.pool.PiiScanPool` with a ``spawn`` or
``forkserver`` context, so it never inherits the daemon's event loop or threads. It loads the
first pipeline of its candidates that loads, says so (``ready``), and then serves one message
at a time on its end of a pipe:

- ``("scan", [(spec, texts), ...])``: a batch of jobs; answers ``("ok", [findings, ...])``
  with one tuple of :class:`~openclaw.policies.pii.findings.Finding` per text, or
  ``("error", exception type name)`` when presidio raised (never the message: it can quote
  the text);
- ``("stop",)`` or end of file (the daemon went away): exit.

A ``spec`` is ``(entities, score_threshold)``; the worker builds one full
:class:`~openclaw.policies.pii.engine.PiiEngine` (patterns and NER) per spec on first use,
all sharing the one loaded pipeline. Batched texts go through ``nlp.pipe`` together.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from openclaw.policies.pii.engine import PiiEngine
from openclaw.policies.pii.findings import Finding
from openclaw.policies.pii.nlp import pipeline_version, shared_pipeline

log = logging.getLogger("openclaw.policies.pii.worker")

#: (entities, score_threshold): what a rule asks the engine for.
Spec = tuple[tuple[str, ...], float]
Job = tuple[Spec, Sequence[str]]


@dataclass
class WorkerState:
    """What a worker holds between scans. ``scan`` may be wrapped by a pool's initializer."""

    package: str
    language: str
    engines: dict[Spec, PiiEngine] = field(default_factory=dict)
    scan: Callable[[Spec, Sequence[str]], list[tuple[Finding, ...]]] = field(init=False)

    def __post_init__(self) -> None:
        self.scan = self._scan

    def engine(self, spec: Spec) -> PiiEngine:
        eng = self.engines.get(spec)
        if eng is None:
            entities, threshold = spec
            eng = self.engines[spec] = PiiEngine(
                entities=list(entities),
                score_threshold=threshold,
                spacy_model=self.package,
                language=self.language,
                cache_size=0,
                ner_gate=False,  # the daemon gated already: what comes here needs NER
                chunk_chars=0,  # and was cut into chunks there
            )
        return eng

    def _scan(self, spec: Spec, texts: Sequence[str]) -> list[tuple[Finding, ...]]:
        return self.engine(spec).analyze_batch(texts)


def load_first(candidates: Sequence[str], language: str) -> tuple[str | None, str, list[str]]:
    """Load the first candidate pipeline that loads: (it, its version, the ones that failed)."""
    failed: list[str] = []
    for package in candidates:
        try:
            PiiEngine(spacy_model=package, language=language, cache_size=0)
            return package, pipeline_version(shared_pipeline(package).nlp), failed
        except Exception as exc:
            log.warning(
                "PII worker: spaCy pipeline %s could not be loaded (%s: %s)",
                package,
                type(exc).__name__,
                exc,
            )
            failed.append(package)
    return None, "", failed


def main(
    conn: Connection,
    candidates: Sequence[str],
    language: str,
    initializer: Callable[[WorkerState], None] | None,
) -> None:
    """The worker's entry point (a module-level function, so spawn can pickle it)."""
    # Ctrl-C in the daemon's terminal reaches the whole process group; the daemon stops its
    # workers itself, in order, so they ignore it rather than die mid-scan with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    package, version, failed = load_first(candidates, language)
    conn.send(("ready", {"package": package, "version": version, "failed": failed}))
    if package is None:
        return
    state = WorkerState(package, language)
    if initializer is not None:
        initializer(state)
    while True:
        try:
            msg: Any = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "scan":
            return
        jobs: list[Job] = msg[1]
        try:
            conn.send(("ok", [state.scan(spec, texts) for spec, texts in jobs]))
        except Exception as exc:
            conn.send(("error", type(exc).__name__))
