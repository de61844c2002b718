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
- **On the event loop.** The pool lives on the loop that started it: a job is queued there,
  handed to a worker by writing to its pipe, and answered when the loop sees the pipe
  readable (``add_reader``). No thread sits between a request and its worker, so a scan costs
  the daemon one pickled message each way and nothing else.
- **Dispatch** runs once per loop iteration in which jobs were queued, so the jobs that
  arrived together are seen together. They are spread over the idle workers (the chunks of
  one long text run side by side); when there are more jobs than idle workers, each takes a
  share as one batch, up to ``batch_chars`` characters (4 KB: about 20 short texts; the
  cost per text is flat from 8 to 32 of them and rises past that, and a smaller batch is
  answered sooner), which goes through ``nlp.pipe`` together. A busy worker's next batch is whatever queued while it worked.
- **Supervision**: a worker that dies (end of file on its pipe) or does not answer within
  ``scan_timeout`` seconds is killed and replaced; the jobs it held fail with
  :class:`~openclaw.errors.ServiceUnavailable` ``pii_scan_failed`` (503), so the requests
  behind them are refused, never let through. While no worker is alive and none can be
  started, queued jobs fail the same way instead of waiting.

The pool belongs to the assembled gateway: the owner calls :meth:`PiiScanPool.start` on its
event loop before the engines that use it are built, and :meth:`PiiScanPool.aclose` at
shutdown. Nothing in this module is global. As with any ``spawn``/``forkserver`` start, a
worker imports the program's main script again (the ``openclaw`` command and ``python -m
openclaw`` are safe); a script that starts a pool must keep its work under ``if __name__ ==
"__main__":``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
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
# After a worker failed to start, wait this long before trying again.
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


@dataclass
class _Job:
    texts: Sequence[str]
    future: asyncio.Future[Spans]
    chars: int = field(init=False)

    def __post_init__(self) -> None:
        self.chars = sum(len(t) for t in self.texts)


class _Worker:
    """One worker process and the daemon's end of its pipe."""

    def __init__(self, pool: PiiScanPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.package: str | None = None
        self.version = ""
        self.failed: list[str] = []
        #: The jobs this worker is scanning now (empty: idle), and their deadline.
        self.batch: list[_Job] = []
        self.deadline: asyncio.TimerHandle | None = None
        #: Batches sent to this slot's workers, and the texts in them (for status).
        self.batches = 0
        self.texts = 0

    @property
    def pid(self) -> int | None:
        p = self.process
        return p.pid if p is not None and p.is_alive() else None

    def spawn(self) -> None:
        """Start the process and wait for its ``ready`` (blocking: run it off the loop)."""
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
        """Ask the process to exit, then make sure it has (blocking for up to a second)."""
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
        batch_chars: int = 4096,
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
        self.closing = False
        #: The pipeline the workers loaded (None: no NER; pattern-only).
        self.package: str | None = None
        self.version = ""
        #: Candidate pipelines that are installed but did not load.
        self.failed: list[str] = []
        self.restarts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._idle: list[_Worker] = []
        self._dispatching = False
        self._starting: set[asyncio.Task[None]] = set()

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

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers (in parallel, off the loop) and learn which pipeline loaded.

        With no pipeline to load, starts nothing. Raises :class:`ConfigError` when a
        pipeline named in config does not load. The pool then belongs to this event loop.
        """
        if not self.candidates or self._workers:
            return
        workers = [_Worker(self, i) for i in range(self.workers)]
        env = {PRELOAD_ENV: ",".join(self.candidates)}
        if "OPENBLAS_NUM_THREADS" not in os.environ:
            env["OPENBLAS_NUM_THREADS"] = "1"
        # The fork server (started by the first worker) and spawned workers take these.
        with _environment(env):
            await asyncio.gather(*(asyncio.to_thread(w.spawn) for w in workers))
        first = workers[0]
        self.package, self.version, self.failed = first.package, first.version, first.failed
        if self.package is None:
            for w in workers:
                w.stop()
            if self.spacy_model.lower() != "auto":
                raise ConfigError(
                    f"pii.spacy_model '{self.spacy_model}' could not be loaded (see the log). "
                    "Reinstall it or set pii.spacy_model to 'auto' or 'none'.",
                    param="spacy_model",
                )
            return
        self._loop = asyncio.get_running_loop()
        self._workers = workers
        for w in workers:
            self._attach(w)
        log.info(
            "PII pool: %d worker(s) with spaCy pipeline %s, scan timeout %g s",
            len(workers),
            self.package,
            self.scan_timeout,
        )

    @property
    def running(self) -> bool:
        return bool(self._workers) and not self.closing

    async def aclose(self) -> None:
        """Stop the workers: queued and later jobs fail with 503; scans under way finish
        (or time out) first."""
        if self.closing:
            return
        self.closing = True
        self._fail_queued("the PII worker pool was closed")
        for task in list(self._starting):
            task.cancel()
        busy = [job.future for w in self._workers for job in w.batch]
        if busy:
            await asyncio.wait(busy, timeout=self.scan_timeout + 1.0)
        for w in self._workers:
            self._detach(w)
            self._fail_batch(w, scan_failed("the PII worker pool was closed"))
            await asyncio.to_thread(w.stop)
        self._workers = []
        self._idle = []

    # -- scanning -----------------------------------------------------------------------

    def submit(self, texts: Sequence[str]) -> asyncio.Future[Spans]:
        """Queue one job (on the pool's loop); its future has one tuple of entity spans per
        text, in order."""
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), loop.create_future())
        if not self.running:
            job.future.set_exception(scan_failed("the PII worker pool is not running"))
            return job.future
        if loop is not self._loop:
            raise RuntimeError("a PII pool serves only the event loop that started it")
        self._queue.append(job)
        if not self._dispatching:
            self._dispatching = True
            loop.call_soon(self._dispatch)
        return job.future

    async def scan(self, texts: Sequence[str]) -> Spans:
        """Entity spans per text from a worker; raises ``pii_scan_failed`` (503) if none
        answers."""
        return await self.submit(texts)

    def scan_blocking(self, texts: Sequence[str]) -> Spans:
        """:meth:`scan` for synchronous callers in other threads: blocks until answered.

        On the pool's own loop thread it would wait for an answer only that loop can read,
        so it raises :class:`RuntimeError` there; use :meth:`scan`.
        """
        loop = self._loop
        if loop is None or not self.running:
            raise scan_failed("the PII worker pool is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("scan_blocking() on the pool's event loop; await scan() instead")
        return asyncio.run_coroutine_threadsafe(self.scan(texts), loop).result()

    def _dispatch(self) -> None:
        """Hand the queued jobs to the idle workers: an equal share each, one batch per
        worker, at most ``batch_chars`` characters (a job larger than that goes alone)."""
        self._dispatching = False
        while self._queue and self._idle:
            total = sum(job.chars for job in self._queue)
            share = min(self.batch_chars, math.ceil(total / len(self._idle)))
            batch: list[_Job] = []
            chars = 0
            while self._queue and (not batch or chars + self._queue[0].chars <= share):
                job = self._queue.popleft()
                if job.future.done():  # cancelled: its request went away
                    continue
                batch.append(job)
                chars += job.chars
            if batch:
                self._send(self._idle.pop(), batch)

    def _send(self, w: _Worker, batch: list[_Job]) -> None:
        assert w.conn is not None and self._loop is not None
        w.batch = batch
        texts = [t for job in batch for t in job.texts]
        w.batches += 1
        w.texts += len(texts)
        try:
            w.conn.send(("ner", texts))
        except OSError:
            self._replace(w, "could not be written to", "the PII worker process exited")
            return
        w.deadline = self._loop.call_later(self.scan_timeout, self._timed_out, w)

    def _on_readable(self, w: _Worker) -> None:
        """The worker answered, or its pipe closed because it died."""
        assert w.conn is not None
        try:
            kind, payload = w.conn.recv()
        except (EOFError, OSError):
            self._replace(w, "exited", "the PII worker process exited")
            return
        if w.deadline is not None:
            w.deadline.cancel()
            w.deadline = None
        batch, w.batch = w.batch, []
        if kind == "ok":
            at = 0
            for job in batch:
                if not job.future.done():
                    job.future.set_result(payload[at : at + len(job.texts)])
                at += len(job.texts)
        else:
            for job in batch:
                # spaCy raised in the worker: the engine error of the in-process engine.
                if not job.future.done():
                    job.future.set_exception(
                        OpenClawError(
                            f"PII analysis failed ({payload} in spaCy)",
                            code="pii_analysis_failed",
                        )
                    )
        self._idle.append(w)
        self._dispatch()

    def _timed_out(self, w: _Worker) -> None:
        timeout = self.scan_timeout
        self._replace(
            w, f"did not answer in {timeout:g} s", f"no answer from the PII worker in {timeout:g} s"
        )

    # -- supervision --------------------------------------------------------------------

    def _attach(self, w: _Worker) -> None:
        assert w.conn is not None and self._loop is not None
        self._loop.add_reader(w.conn.fileno(), self._on_readable, w)
        self._idle.append(w)

    def _detach(self, w: _Worker) -> None:
        if w.deadline is not None:
            w.deadline.cancel()
            w.deadline = None
        if w in self._idle:
            self._idle.remove(w)
        if w.conn is not None and self._loop is not None:
            self._loop.remove_reader(w.conn.fileno())

    def _fail_batch(self, w: _Worker, error: ServiceUnavailable) -> None:
        batch, w.batch = w.batch, []
        for job in batch:
            if not job.future.done():
                job.future.set_exception(error)

    def _fail_queued(self, why: str) -> None:
        while self._queue:
            job = self._queue.popleft()
            if not job.future.done():
                job.future.set_exception(scan_failed(why))

    def _replace(self, w: _Worker, what: str, why: str) -> None:
        """Kill ``w``, fail the jobs it held, and start its replacement."""
        log.error("PII worker %d %s; replacing it", w.index, what)
        self._detach(w)
        self._fail_batch(w, scan_failed(why))
        proc, conn = w.process, w.conn
        w.process = w.conn = None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.kill()  # reaped by the replacement's start, off the loop
        self.restarts += 1
        assert self._loop is not None
        task = self._loop.create_task(self._restart(w, proc))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _restart(self, w: _Worker, old: BaseProcess | None) -> None:
        if old is not None:
            await asyncio.to_thread(_kill, old)
        while not self.closing:
            try:
                await asyncio.to_thread(w.spawn)
            except Exception as exc:
                log.error("PII worker %d could not be started: %s", w.index, exc)
                if not any(x.conn is not None for x in self._workers):
                    self._fail_queued(f"no PII worker could be started ({type(exc).__name__})")
                await asyncio.sleep(_RESTART_BACKOFF)
                continue
            if self.closing:
                await asyncio.to_thread(w.stop)
                return
            self._attach(w)
            self._dispatch()
            return

    def status(self) -> dict[str, Any]:
        """Workers, their process ids, restarts, batches and texts sent to each, and memory
        (RSS and PSS, MB), for status and the benchmark."""
        return {
            "package": self.package,
            "workers": len(self._workers),
            "scan_timeout_s": self.scan_timeout,
            "restarts": self.restarts,
            "pids": [w.pid for w in self._workers],
            "batches": [w.batches for w in self._workers],
            "texts": [w.texts for w in self._workers],
            "rss_mb": [_rss_mb(w.pid) for w in self._workers],
            "pss_mb": [_pss_mb(w.pid) for w in self._workers],
        }


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
