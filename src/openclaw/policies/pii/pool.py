"""A supervised pool of worker processes that run spaCy NER for the PII engine.

spaCy NER is nearly all of the PII cost (milliseconds per 200 characters against a tenth of
a millisecond for presidio's patterns) and holds the GIL, so in the daemon's process it used
one core however many the machine has, and its work competed with the event loop. The pool
moves it into ``workers`` processes, each of which holds the pipeline and nothing else: no
presidio (:mod:`.worker`). A worker answers entity spans; the daemon keeps the cheap parts
(cache, prefilter, NER gate, the pattern recognizers, which run while the worker works) and
maps the spans to findings (:mod:`.ner`).

How it is run:

- **Processes** come from a ``forkserver`` context where the platform has one, else
  ``spawn``: a worker never inherits the daemon's event loop, threads or sockets. The fork
  server loads the pipeline itself (:mod:`.preload`) and freezes it out of the garbage
  collector's reach, so each worker forked from it shares those pages instead of holding a
  copy, and a replacement worker starts in milliseconds. Workers run single-threaded BLAS
  (``OPENBLAS_NUM_THREADS=1`` unless it is set): the pool is the parallelism, and BLAS threads
  on top of it would fight the other workers for the same cores.
- **One slot per worker**: a thread in the daemon that owns the worker's pipe. It takes the
  next job from one shared queue (so an idle worker takes the next job), adds the jobs queued
  behind it up to ``batch_chars`` characters (they go through ``nlp.pipe`` together), sends
  them and waits for the answer. The event loop only queues a job and awaits its future.
- **Supervision**: a worker that dies (EOF on its pipe) or does not answer within
  ``scan_timeout`` seconds is killed and replaced; the jobs it held fail with
  :class:`~openclaw.errors.ServiceUnavailable` ``pii_scan_failed`` (503), so the requests
  behind them are refused, never let through. While a slot has no live worker and cannot
  start one, it fails queued jobs the same way instead of leaving them waiting.

The pool belongs to the assembled gateway: the owner calls :meth:`PiiScanPool.start` before
the engines that use it are built and :meth:`PiiScanPool.aclose` at shutdown. Nothing in
this module is global. As with any ``spawn``/``forkserver`` start, a worker imports the
program's main script again (the ``openclaw`` command and ``python -m openclaw`` are safe); a
script that starts a pool must keep its work under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from openclaw.config.schema import PiiSettings
from openclaw.errors import ConfigError, OpenClawError, ServiceUnavailable
from openclaw.policies.pii import worker
from openclaw.policies.pii.pipeline import PRELOAD_ENV, installed_pipelines, is_installed
from openclaw.policies.pii.worker import Spans, WorkerState

log = logging.getLogger("openclaw.policies.pii.pool")

DEFAULT_SCAN_TIMEOUT = 2.0
# A worker loads the pipeline (about 1-3 s; more on a loaded machine; ms from a fork server).
_START_TIMEOUT = 120.0
# After a worker failed to start, wait this long before the slot tries again.
_RESTART_BACKOFF = 1.0
_PRELOAD = ["openclaw.policies.pii.worker", "openclaw.policies.pii.preload"]


def default_workers(cpus: int | None = None) -> int:
    """One worker per core, at most 4: NER is CPU-bound, and each worker holds a pipeline."""
    n = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(4, n))


def scan_failed(why: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"PII scan failed ({why}); the request was refused rather than sent unscanned",
        code="pii_scan_failed",
    )


@contextmanager
def _environment(overrides: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overrides`` while processes are started, as it was afterwards."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Counter:
    """An integer several threads add to and read."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self.value += 1

    def acquire(self) -> None:
        with self._lock:
            self.value -= 1


@dataclass
class _Job:
    texts: Sequence[str]
    future: Future[Spans] = field(default_factory=Future)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)


class _Slot:
    """One worker process and the daemon thread that feeds it."""

    def __init__(self, pool: PiiScanPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.package: str | None = None
        self.version = ""
        self.failed: list[str] = []
        self.restarts = 0
        self.thread = threading.Thread(
            target=self._run, name=f"openclaw-pii-slot-{index}", daemon=True
        )

    @property
    def pid(self) -> int | None:
        p = self.process
        return p.pid if p is not None and p.is_alive() else None

    # -- the worker process ------------------------------------------------------------

    def spawn(self) -> None:
        """Start a worker and wait for its ``ready``; raises if it does not come up."""
        ctx = self.pool.context
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(  # type: ignore[attr-defined]
            target=worker.main,
            args=(child, self.pool.candidates, self.pool.initializer),
            name=f"openclaw-pii-worker-{self.index}",
            daemon=True,
        )
        proc.start()
        child.close()
        try:
            if not parent.poll(_START_TIMEOUT):
                raise RuntimeError(f"the PII worker did not start in {_START_TIMEOUT:.0f} s")
            kind, info = parent.recv()
        except EOFError:
            _kill(proc)
            parent.close()
            raise RuntimeError(
                f"the PII worker exited while starting (exit code {proc.exitcode}; its "
                "traceback is on the daemon's standard error)"
            ) from None
        except BaseException:
            _kill(proc)
            parent.close()
            raise
        if kind != "ready":
            _kill(proc)
            parent.close()
            raise RuntimeError(f"the PII worker said {kind!r} instead of ready")
        self.process, self.conn = proc, parent
        self.package, self.version, self.failed = info["package"], info["version"], info["failed"]

    def stop(self) -> None:
        conn, proc = self.conn, self.process
        self.conn = self.process = None
        if conn is not None:
            try:
                conn.send(("stop",))
            except OSError:
                pass
            conn.close()
        if proc is not None:
            proc.join(1.0)
            _kill(proc)

    def fail(self, batch: list[_Job], why: str, error: ServiceUnavailable) -> None:
        """Kill the worker, fail the jobs it held, then start its replacement."""
        log.error("PII worker %d %s; replacing it", self.index, why)
        proc, conn = self.process, self.conn
        self.conn = self.process = None
        if proc is not None:
            _kill(proc)
        if conn is not None:
            conn.close()
        self.restarts += 1
        for job in batch:
            job.future.set_exception(error)
        self._start_until_up()

    def _start_until_up(self) -> None:
        while not self.pool.closing:
            try:
                self.spawn()
                return
            except Exception as exc:
                log.error("PII worker %d could not be started: %s", self.index, exc)
                self._fail_waiting(f"no PII worker could be started ({type(exc).__name__})")
                time.sleep(_RESTART_BACKOFF)

    def _fail_waiting(self, why: str) -> None:
        """Fail what is queued now: with no worker here, it must not wait indefinitely."""
        while True:
            try:
                job = self.pool.jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:
                self.pool.jobs.put(None)
                return
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(scan_failed(why))

    # -- the slot's loop ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self.pool.idle.release()
            first = self.pool.jobs.get()
            self.pool.idle.acquire()
            if first is None or self.pool.closing:
                self.pool.jobs.put(None)  # let the other slots see it too
                return
            batch = self._take_batch(first)
            if not batch:
                continue
            if self.conn is None:
                self._start_until_up()
                if self.conn is None:
                    for job in batch:
                        job.future.set_exception(scan_failed("the PII pool is closing"))
                    continue
            self._serve(batch)

    def _take_batch(self, first: _Job) -> list[_Job]:
        """``first`` and the jobs queued behind it, up to ``batch_chars``; cancelled ones out.

        Only while no other worker is idle: an idle one should take the next job (the chunks of
        one long text then run side by side), and batching pays only once all are busy.
        """
        batch: list[_Job] = []
        chars = 0
        job: _Job | None = first
        while job is not None:
            if job.future.set_running_or_notify_cancel():
                batch.append(job)
                chars += job.chars
            if chars >= self.pool.batch_chars or self.pool.idle.value > 0:
                break
            try:
                job = self.pool.jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self.pool.jobs.put(None)
                break
        return batch

    def _serve(self, batch: list[_Job]) -> None:
        conn = self.conn
        assert conn is not None
        texts = [t for job in batch for t in job.texts]
        try:
            conn.send(("ner", texts))
            answered = conn.poll(self.pool.scan_timeout)
            reply = conn.recv() if answered else None
        except (EOFError, OSError):
            self.fail(batch, "exited during a scan", scan_failed("the PII worker process exited"))
            return
        if reply is None:
            timeout = self.pool.scan_timeout
            self.fail(
                batch,
                f"did not answer in {timeout:g} s",
                scan_failed(f"no answer from the PII worker in {timeout:g} s"),
            )
            return
        kind, payload = reply
        if kind == "ok":
            at = 0
            for job in batch:
                job.future.set_result(payload[at : at + len(job.texts)])
                at += len(job.texts)
            return
        for job in batch:
            # spaCy raised in the worker: the engine error of the in-process engine.
            job.future.set_exception(
                OpenClawError(
                    f"PII analysis failed ({payload} in spaCy)", code="pii_analysis_failed"
                )
            )


def _kill(proc: BaseProcess) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join(5.0)


class PiiScanPool:
    """Worker processes that run spaCy NER and answer entity spans. See the module doc.

    ``spacy_model``: ``"auto"``/None (the best installed English pipeline that loads), a
    package name (must be installed, else :class:`ConfigError`), or ``"none"`` (no NER: the
    pool starts no process and :attr:`package` stays None). ``initializer(state)`` runs in
    each worker after it loaded, with its :class:`~.worker.WorkerState`; it must be a
    module-level function (spawn pickles it by name).
    """

    def __init__(
        self,
        *,
        spacy_model: str | None = None,
        language: str = "en",
        workers: int | None = None,
        scan_timeout: float = DEFAULT_SCAN_TIMEOUT,
        batch_chars: int = 8192,
        start_method: str | None = None,
        initializer: Callable[[WorkerState], None] | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError("pii.workers must be 1 or more", param="workers")
        if scan_timeout <= 0:
            raise ConfigError("pii.scan_timeout_s must be more than 0", param="scan_timeout_s")
        self.spacy_model = (spacy_model or "auto").strip()
        self.language = language
        self.workers = workers if workers is not None else default_workers()
        self.scan_timeout = scan_timeout
        self.batch_chars = batch_chars
        self.initializer = initializer
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self.context: BaseContext = multiprocessing.get_context(method)
        if method == "forkserver":
            self.context.set_forkserver_preload(_PRELOAD)  # type: ignore[attr-defined]
        self.candidates: list[str] = self._candidates()
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        #: How many slots are waiting for a job (they take the next one before any batching).
        self.idle = _Counter()
        self.slots: list[_Slot] = []
        self.closing = False
        #: The pipeline the workers loaded (None: no NER; pattern-only).
        self.package: str | None = None
        self.version = ""
        #: Candidate pipelines that are installed but did not load.
        self.failed: list[str] = []

    @classmethod
    def from_settings(cls, settings: PiiSettings) -> PiiScanPool | None:
        """The pool that ``pii:`` in policies.yaml asks for; None for ``workers: 0``."""
        if settings.workers == 0:
            return None
        return cls(
            spacy_model=settings.spacy_model,
            language=settings.language,
            workers=settings.workers,
            scan_timeout=settings.scan_timeout_s,
        )

    def _candidates(self) -> list[str]:
        choice = self.spacy_model
        if choice.lower() == "none":
            return []
        if choice.lower() == "auto":
            return installed_pipelines(self.language)
        package = choice.replace("-", "_")
        if not is_installed(package):
            raise ConfigError(
                f"pii.spacy_model '{choice}' is not installed. Install it (for example "
                "python -m spacy download en_core_web_sm) or set pii.spacy_model to 'auto' "
                "or 'none'.",
                param="spacy_model",
            )
        return [package]

    async def start(self) -> None:
        """Start the workers (in parallel, off the loop) and learn which pipeline loaded.

        With no pipeline to load, starts nothing. Raises :class:`ConfigError` when a
        pipeline named in config does not load.
        """
        if not self.candidates or self.slots:
            return
        slots = [_Slot(self, i) for i in range(self.workers)]
        env = {PRELOAD_ENV: ",".join(self.candidates)}
        if "OPENBLAS_NUM_THREADS" not in os.environ:
            env["OPENBLAS_NUM_THREADS"] = "1"
        # The fork server (started by the first worker) and spawned workers take these.
        with _environment(env):
            await asyncio.gather(*(asyncio.to_thread(s.spawn) for s in slots))
        first = slots[0]
        self.package, self.version, self.failed = first.package, first.version, first.failed
        if self.package is None:
            for s in slots:
                s.stop()
            if self.spacy_model.lower() != "auto":
                raise ConfigError(
                    f"pii.spacy_model '{self.spacy_model}' could not be loaded (see the log). "
                    "Reinstall it or set pii.spacy_model to 'auto' or 'none'.",
                    param="spacy_model",
                )
            return
        self.slots = slots
        for s in slots:
            s.thread.start()
        log.info(
            "PII pool: %d worker(s) with spaCy pipeline %s, scan timeout %g s",
            len(slots),
            self.package,
            self.scan_timeout,
        )

    @property
    def running(self) -> bool:
        return bool(self.slots) and not self.closing

    def submit(self, texts: Sequence[str]) -> Future[Spans]:
        """Queue one job; its future has one tuple of entity spans per text, in order."""
        job = _Job(list(texts))
        if not self.running:
            job.future.set_exception(scan_failed("the PII worker pool is not running"))
            return job.future
        self.jobs.put(job)
        return job.future

    async def scan(self, texts: Sequence[str]) -> Spans:
        """Entity spans per text from a worker; raises ``pii_scan_failed`` (503) if none
        answers."""
        return await asyncio.wrap_future(self.submit(texts))

    def scan_blocking(self, texts: Sequence[str]) -> Spans:
        """:meth:`scan` for synchronous callers; blocks the calling thread until answered."""
        return self.submit(texts).result()

    def status(self) -> dict[str, Any]:
        """Workers, their process ids, restarts and memory (RSS and PSS, MB), for status/bench."""
        return {
            "package": self.package,
            "workers": len(self.slots),
            "scan_timeout_s": self.scan_timeout,
            "restarts": sum(s.restarts for s in self.slots),
            "pids": [s.pid for s in self.slots],
            "rss_mb": [_rss_mb(s.pid) for s in self.slots],
            "pss_mb": [_pss_mb(s.pid) for s in self.slots],
        }

    async def aclose(self) -> None:
        """Stop the slots and their workers; queued and later jobs fail with 503."""
        if self.closing:
            return
        self.closing = True
        self.jobs.put(None)
        for s in self.slots:
            await asyncio.to_thread(s.thread.join, self.scan_timeout + 5.0)
            await asyncio.to_thread(s.stop)
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None and job.future.set_running_or_notify_cancel():
                job.future.set_exception(scan_failed("the PII worker pool was closed"))
        self.slots = []


def _rss_mb(pid: int | None) -> float | None:
    """Resident set size of a process from /proc (None where there is no /proc)."""
    return _proc_mb(pid, "status", "VmRSS:")


def _pss_mb(pid: int | None) -> float | None:
    """Proportional set size: pages shared with the fork server and the other workers (the
    preloaded pipeline) count once across them. None where /proc has no smaps_rollup."""
    return _proc_mb(pid, "smaps_rollup", "Pss:")


def _proc_mb(pid: int | None, name: str, key: str) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/{name}", encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
