"""The PII engine: presidio built offline, with a per-message cache and a prefilter.

:class:`PiiEngine` is what the policy engine calls. It is built once at start-up (that is
blocking: it imports presidio and maybe loads a spaCy pipeline) and then answers
:meth:`PiiEngine.analyze_text` (sync) or :meth:`PiiEngine.analyze_texts` (async, for the
messages of one request).

These things keep the cost of a request to the cost of its new text, and that small:

- **Cache.** Each message's result is kept in an LRU keyed by ``sha256(settings + text)``, so
  the 19 old turns of a 20-turn conversation are dictionary hits. Only digests and findings
  are kept, never the text itself.
- **Prefilter.** A text in which no active recognizer could match (no digit, no ``@``, ...)
  skips presidio. It is a necessary condition per recognizer, so it never changes a result;
  it cannot apply while NER entities are active, as names need NER.
- **Phone windows.** Presidio's phone recognizer validates every digit group in the text for
  eight regions; ours (:mod:`.phone`) hands python-phonenumbers only the parts that can hold
  a valid number, with the same results. It was nearly all of the pattern-only cost.
- **NER gate.** With names and places on, a text in which no word could start a name
  (:mod:`.gate`) skips NER and gets the pattern recognizers only, whose prefilter may then
  skip presidio too. A text that needs NER is read by it only in windows: each word that
  could begin a name with eight words either side (the whole text when the windows would
  cover most of it).
- **Chunks.** A text longer than ``chunk_chars`` is cut at paragraph or sentence breaks
  (:mod:`.chunks`); each chunk is cached and scanned on its own, so a long tool output that
  comes back every turn is scanned once, and its chunks run on all workers at once.
- **Where it runs.** NER: in a :class:`~openclaw.policies.pii.pool.PiiScanPool`'s worker
  processes (out of the daemon's GIL), else on one dedicated worker thread. Patterns of texts
  up to 1 KB: on the event loop (on a thread they would hold the GIL the loop waits for),
  longer ones on that thread, where a burst queues instead of filling the loop's executor.
  The loop and the thread each have their own analyzer and lock (:mod:`.patterns`).

Mode: with a spaCy pipeline for the language installed (any ``en_core_web_*``, chosen in
config or found, loaded here or by the pool's workers), ``PERSON`` and ``LOCATION`` come
from its NER (``spacy:<package>``);
without one only presidio's pattern recognizers run (``pattern-only``) and :attr:`mode_note`
says, for ``gateway status`` and the log, that names and places are not detected and how to
install a pipeline.

Default threshold 0.4: presidio scores a phone number that python-phonenumbers validates at
0.4 with no context word, and we want bare phone numbers found. Checksummed matches (card,
IBAN, crypto address, e-mail with a known TLD) score 1.0 and well-formed SSNs 0.5. The weak
patterns (nine-digit passport or SSN, 8-17 digit bank number: 0.01-0.1) reach 0.4 only when a
context word of their own ("passport", "ssn", "account") is one of the five words before them.
Context words are matched as whole words, not presidio's default substrings, because as
substrings "us" (a US passport context word) is in "because" and "lic" in "public".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING

from openclaw.errors import ConfigError, OpenClawError
from openclaw.policies.pii.chunks import split_text
from openclaw.policies.pii.findings import (
    Finding,
    analysis_failed,
    redact,
    shifted,
    sorted_findings,
)
from openclaw.policies.pii.flights import SingleFlight
from openclaw.policies.pii.gate import NerGate
from openclaw.policies.pii.names import given_names, listed_companies
from openclaw.policies.pii.ner import ner_findings, shifted_spans
from openclaw.policies.pii.patterns import PatternAnalyzer
from openclaw.policies.pii.pipeline import (
    EntitySpan,
    SharedPipeline,
    installed_pipelines,
    is_installed,
    pipeline_version,
    shared_pipeline,
)
from openclaw.policies.pii.recognizers import (
    ner_entities,
    normalise_entities,
    prefilter_for,
)

if TYPE_CHECKING:  # the pool's workers build engines, so the pool imports this module
    from openclaw.policies.pii.pool import PiiScanPool
    from openclaw.policies.pii.worker import Spans

log = logging.getLogger("openclaw.policies.pii")

PATTERN_ONLY = "pattern-only"
DEFAULT_SCORE_THRESHOLD = 0.4
INSTALL_HINT = "python -m spacy download en_core_web_sm"

# Texts up to this size are prefiltered on the event loop: one regex pass over 32 KB takes
# tens of microseconds, less than a hop to the worker thread and back.
_INLINE_PREFILTER_MAX = 32 * 1024
# The pattern recognizers for this many characters or fewer run on the event loop (about
# 0.3 ms for 200 characters; with a pool, while the workers run NER): less than the hop to
# the worker thread and back costs the loop, and a short wait for everything else on it.
_INLINE_PATTERNS_MAX = 1024
#: Texts longer than this are cut into chunks that are cached and scanned one by one. With
#: NER, chunks of a 4 KB prompt run on two workers at once; pattern-only, chunks only serve
#: the cache (a long tool output that comes back every turn), so they can be larger.
DEFAULT_CHUNK_CHARS = 2048
PATTERN_CHUNK_CHARS = 16384
# spaCy refuses texts over nlp.max_length (1,000,000 characters) and NER memory grows with
# length; a longer text that reaches presidio whole (chunk_chars=0) is analysed in pieces.
_CHUNK = 100_000
# NER reads the whole text when the gate's windows would cover more than this share of it.
_WHOLE_TEXT_SHARE = 0.8
_WARM_UP = (
    "Jane Doe of Berlin: jane.doe@example.com, +1 212-555-0123, 10.0.0.1, card "
    "4111 1111 1111 1111, ssn 219-09-9999, account 12345678, passport 912803456."
)


class PiiEngine:
    """Detects PII in message texts. See the module docstring for modes, cache, prefilter."""

    mode: str
    mode_note: str

    def __init__(
        self,
        *,
        entities: Sequence[str] | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        spacy_model: str | None = None,
        language: str = "en",
        cache_size: int = 4096,
        prefilter: bool = True,
        pool: PiiScanPool | None = None,
        ner_gate: bool = True,
        chunk_chars: int | None = None,
    ) -> None:
        """Build presidio for ``entities`` (default :data:`DEFAULT_ENTITIES`).

        ``spacy_model``: None or ``"auto"`` finds an installed pipeline for ``language``;
        ``"none"`` forces pattern-only; anything else is a package that must load, or this
        raises :class:`ConfigError`. ``prefilter=False`` always runs presidio, with its own
        phone recognizer (tests and benchmarks use it to compare). With a started ``pool``,
        NER runs in its workers with the pipeline they loaded, and ``spacy_model`` is the
        pool's; this process loads no pipeline. ``ner_gate=False`` sends every text to NER;
        ``chunk_chars=0`` never cuts a text.
        """
        if not 0.0 <= score_threshold <= 1.0:
            raise ConfigError(
                f"PII score_threshold must be between 0 and 1, not {score_threshold}",
                param="score_threshold",
            )
        if cache_size < 0:
            raise ConfigError("PII cache_size must be 0 or more", param="cache_size")
        self.entities: tuple[str, ...] = normalise_entities(entities)
        self.score_threshold = score_threshold
        self.language = language
        self.cache_size = cache_size
        self._pool = pool if pool is not None and pool.package is not None else None

        #: The spaCy pipeline NER runs on in this process (None: in the pool, or no NER).
        self._pipeline: SharedPipeline | None = None
        ner = self._choose_nlp(spacy_model, pool)
        pattern_entities = tuple(e for e in self.entities if e not in ner_entities(self.entities))
        #: The entities this engine can actually find in its mode.
        self.active_entities: tuple[str, ...] = tuple(
            e for e in self.entities if ner or e in pattern_entities
        )
        # Presidio runs the pattern recognizers only; names and places come from the
        # pipeline's spans (:mod:`.ner`), here or in a worker, for the same text. One
        # analyzer for the thread, one for short texts on the event loop (:meth:`_analyse`;
        # with a pool, while the workers run NER): the loop never waits for the thread's.
        self._patterns = PatternAnalyzer.build(
            pattern_entities, language, score_threshold, windowed_phone=prefilter
        )
        self._loop_patterns = PatternAnalyzer.build(
            pattern_entities, language, score_threshold, windowed_phone=prefilter
        )
        self._prefilter = prefilter_for(pattern_entities) if prefilter else None
        self._pattern_entities = pattern_entities
        self._ner = ner
        self._gate = NerGate() if ner and ner_gate else None
        if ner and "PERSON" in self.active_entities:
            given_names(), listed_companies()  # now, not on the first request (about 0.5 s)
        if chunk_chars is None:
            chunk_chars = DEFAULT_CHUNK_CHARS if ner else PATTERN_CHUNK_CHARS
        self.chunk_chars = chunk_chars

        settings = repr(
            (
                self.mode,
                self.active_entities,
                score_threshold,
                language,
                dist_version("presidio-analyzer"),
            )
        )
        self._settings = hashlib.sha256(settings.encode()).digest()
        self._cache: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        #: Scans under way, by cache key: a request for a text being scanned waits for that
        #: scan instead of starting another (32 agents sending one new tool output at once).
        self._inflight: SingleFlight[bytes, tuple[Finding, ...]] = SingleFlight()
        self.hits = 0
        self.misses = 0
        #: How many texts (or chunks) went to NER, and how many the gate let skip it.
        self.ner_runs = 0
        self.ner_skipped = 0

        # Compile every pattern, parse the suffix list and run NER once now, not on the
        # first request.
        for analyzer in (self._patterns, self._loop_patterns):
            if analyzer is not None:
                analyzer.findings(_WARM_UP)
                analyzer.runs = 0
        if self._pipeline is not None:
            self._pipeline.spans([_WARM_UP])

    @property
    def presidio_runs(self) -> int:
        """How many texts presidio itself analysed in this engine (not counting the warm-up)."""
        return sum(a.runs for a in (self._patterns, self._loop_patterns) if a is not None)

    # ----------------------------------------------------------------- mode selection

    def _choose_nlp(self, spacy_model: str | None, pool: PiiScanPool | None) -> bool:
        """Pick where NER runs, if anywhere; sets ``mode`` and ``mode_note``. True: NER on."""
        choice = (pool.spacy_model if pool is not None else spacy_model or "auto").strip()
        wanted_ner = ner_entities(self.entities)
        missing = " and ".join(wanted_ner) if wanted_ner else ""
        how = f"install a spaCy {_language_name(self.language)} pipeline ({INSTALL_HINT})"

        if not wanted_ner:
            self.mode = PATTERN_ONLY
            self.mode_note = (
                "pattern-only: no name or place entity (PERSON, LOCATION) is configured, "
                "so no spaCy pipeline is loaded"
            )
            log.info("PII engine: %s", self.mode_note)
            return False

        if choice.lower() == "none":
            self.mode = PATTERN_ONLY
            self.mode_note = (
                f"pattern-only: names and places ({missing}) are not detected because "
                f"pii.spacy_model is 'none'; set it to 'auto' and {how} to detect them"
            )
            log.warning("PII engine: %s", self.mode_note)
            return False

        if pool is not None and pool.package is not None:
            self._set_spacy_mode(pool.package, pool.version, f"{pool.workers} worker process(es)")
            return True

        if choice.lower() == "auto" and pool is not None:
            self._set_fallback_note(pool.failed, missing, how)
            return False

        if choice.lower() == "auto":
            candidates = installed_pipelines(self.language)
            failed: list[str] = []
            for package in candidates:
                try:
                    return self._spacy_engine(package)
                except Exception as exc:
                    failed.append(package)
                    log.warning(
                        "PII engine: spaCy pipeline %s is installed but could not be loaded "
                        "(%s: %s); trying the next one",
                        package,
                        type(exc).__name__,
                        exc,
                    )
            self._set_fallback_note(failed, missing, how)
            return False

        package = choice.replace("-", "_")
        if not is_installed(package):
            raise ConfigError(
                f"pii.spacy_model '{choice}' is not installed. Install it (for example "
                f"{INSTALL_HINT}) or set pii.spacy_model to 'auto' or 'none'.",
                param="spacy_model",
            )
        try:
            return self._spacy_engine(package)
        except Exception as exc:
            raise ConfigError(
                f"pii.spacy_model '{choice}' could not be loaded ({type(exc).__name__}: {exc}). "
                "Reinstall it or set pii.spacy_model to 'auto' or 'none'.",
                param="spacy_model",
            ) from exc

    def _set_fallback_note(self, failed: list[str], missing: str, how: str) -> None:
        self.mode = PATTERN_ONLY
        why = (
            f"the installed pipeline(s) {', '.join(failed)} could not be loaded (see the log)"
            if failed
            else f"no spaCy {_language_name(self.language)} pipeline is installed"
        )
        self.mode_note = (
            f"pattern-only: names and places ({missing}) are not detected because {why}; "
            f"{how} and restart the gateway to detect them"
        )
        log.warning("PII engine: %s", self.mode_note)

    def _set_spacy_mode(self, package: str, version: str, where: str = "") -> None:
        self.mode = f"spacy:{package}"
        self.mode_note = (
            f"names and places ({' and '.join(ner_entities(self.entities))}) are detected "
            f"by the spaCy pipeline {package} {version}" + (f" in {where}" if where else "")
        )
        log.info("PII engine: %s", self.mode_note)

    def _spacy_engine(self, package: str) -> bool:
        """NER in this process: the process's one copy of ``package``. Raises if it fails."""
        pipeline = shared_pipeline(package)
        self._pipeline = pipeline
        self._set_spacy_mode(package, pipeline_version(pipeline.nlp))
        return True

    # ----------------------------------------------------------------- analysis

    def analyze_text(self, text: str) -> list[Finding]:
        """Findings in ``text``, sorted by position. Blocking: off the loop use analyze_texts.

        With a pool, a text that needs NER waits here for a worker (up to the scan timeout).
        """
        out: list[Finding] = []
        for offset, piece in self._split(text):
            key = self._key(piece)
            hit = self._cache_get(key)
            if hit is None:
                route = self._route(piece)
                spans: list[EntitySpan] | None = None
                if route == "ner" and self._pool is not None:
                    self.ner_runs += 1
                    parts = self._ner_parts(piece)
                    got = self._pool.scan_blocking([piece[a:b] for a, b in parts])
                    spans = shifted_spans(parts, got)
                hit = self._compute(piece, route, spans)
                self._cache_put(key, hit)
            out.extend(shifted(hit, offset))
        return out

    async def analyze_texts(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in order.

        Cached texts, small texts the prefilter clears, and the patterns of texts up to 1 KB
        are answered on the loop. Texts (or chunks of long texts) that need NER go to the
        pool's workers, one job each so they spread over the workers, while the pattern
        recognizers run on them (on the loop, or on the worker thread for longer texts, in
        one hop). A text another request is scanning waits for that scan.
        """
        # Each text's pieces: (offset, key). A piece is a chunk of a long text, or the text.
        layout: list[list[tuple[int, bytes]]] = []
        found: dict[bytes, tuple[Finding, ...]] = {}
        local: dict[bytes, tuple[str, str]] = {}
        remote: dict[bytes, str] = {}
        for text in texts:
            pieces: list[tuple[int, bytes]] = []
            for offset, piece in self._split(text):
                key = self._key(piece)
                pieces.append((offset, key))
                if key in found or key in local:
                    continue
                hit = self._cache_get(key)
                if hit is not None:
                    found[key] = hit
                    continue
                # With a pool the route is always known here: NER must not fall to the thread.
                inline = len(piece) <= _INLINE_PREFILTER_MAX or self._pool is not None
                route = self._route(piece) if inline else ""
                if route == "clear":
                    self._cache_put(key, ())
                    found[key] = ()
                    continue
                local[key] = (piece, route)
                if route == "ner" and self._pool is not None:
                    remote[key] = piece
            layout.append(pieces)
        if local:
            await self._analyse_once(local, remote, found)
        return [
            [f for offset, key in pieces for f in shifted(found[key], offset)] for pieces in layout
        ]

    def redact(self, text: str, findings: list[Finding]) -> str:
        """``text`` with each finding replaced by ``<ENTITY_TYPE>``; overlaps become one."""
        return redact(text, findings)

    def cache_clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def close(self) -> None:
        """Stop the worker thread. Pending analyses are cancelled. The pool is its owner's."""
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    # ----------------------------------------------------------------- internals

    def _split(self, text: str) -> list[tuple[int, str]]:
        limit = self.chunk_chars
        if self._ner and not 0 < limit <= _CHUNK:
            limit = _CHUNK  # spaCy refuses texts past nlp.max_length; NER memory grows
        return split_text(text, limit)

    def _key(self, text: str) -> bytes:
        # surrogatepass: JSON can carry lone surrogates ("\ud800") that strict UTF-8 refuses.
        h = hashlib.sha256(self._settings)
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.digest()

    def _cache_get(self, key: bytes) -> tuple[Finding, ...] | None:
        with self._cache_lock:
            found = self._cache.get(key)
            if found is None:
                self.misses += 1
                return None
            self._cache.move_to_end(key)
            self.hits += 1
            return found

    def _cache_put(self, key: bytes, findings: tuple[Finding, ...]) -> None:
        if self.cache_size == 0:
            return
        with self._cache_lock:
            self._cache[key] = findings
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _route(self, text: str) -> str:
        """``clear`` (nothing can match), ``patterns`` (no NER needed) or ``ner``."""
        if self._ner:
            if self._gate is None or self._gate.needs_ner(text):
                return "ner"
            self.ner_skipped += 1
        return "patterns" if self._patterns_may_match(text) else "clear"

    def _patterns_may_match(self, text: str) -> bool:
        if self._patterns is None:
            return False
        pf = self._prefilter
        return pf is None or pf.search(text) is not None

    def _cleared(self, text: str) -> bool:
        """True if no active recognizer can match ``text`` (so presidio may be skipped)."""
        return self._route(text) == "clear"

    def _compute(
        self, text: str, route: str = "", spans: Sequence[EntitySpan] | None = None
    ) -> tuple[Finding, ...]:
        """Findings in ``text`` by ``route`` (found here if empty), in this process.

        For ``ner``, ``spans`` are the entities a worker found; None runs the pipeline here.
        """
        route = route or self._route(text)
        if route == "clear":
            return ()
        findings = list(self._patterns_in(text))
        if route == "ner":
            if spans is None:
                spans = self._local_spans(text)
            findings.extend(ner_findings(text, spans, self.active_entities, self.score_threshold))
        return sorted_findings(findings)

    def _ner_parts(self, text: str) -> list[tuple[int, int]]:
        """Where in ``text`` NER reads: the gate's windows around the words that could begin
        a name, or all of it (no gate, or windows covering most of it anyway)."""
        whole = [(0, len(text))]
        if self._gate is None:
            return whole
        windows = self._gate.ner_windows(text)
        if not windows or sum(b - a for a, b in windows) > _WHOLE_TEXT_SHARE * len(text):
            return whole
        return windows

    def _local_spans(self, text: str) -> list[EntitySpan]:
        if self._pipeline is None:
            raise OpenClawError(
                "PII analysis needs NER but the worker pool is not running",
                code="pii_analysis_failed",
            )
        self.ner_runs += 1
        parts = self._ner_parts(text)
        try:
            found = self._pipeline.spans([text[a:b] for a, b in parts])
        except Exception as exc:
            raise analysis_failed(exc, "spaCy") from None
        return shifted_spans(parts, found)

    def _patterns_in(self, text: str) -> tuple[Finding, ...]:
        """What presidio's pattern recognizers find (nothing if the prefilter rules it out)."""
        if not self._patterns_may_match(text):
            return ()
        assert self._patterns is not None
        return self._patterns.findings(text)

    def _compute_many(
        self, jobs: list[tuple[bytes, str, str]], remote: Collection[bytes]
    ) -> list[tuple[Finding, ...]]:
        """The thread's share: patterns for every job, and NER here for those not remote."""
        out: list[tuple[Finding, ...]] = []
        for key, text, route in jobs:
            if key in remote:
                out.append(self._patterns_in(text))
            else:
                out.append(self._compute(text, route))
        return out

    async def _analyse_once(
        self,
        local: dict[bytes, tuple[str, str]],
        remote: dict[bytes, str],
        found: dict[bytes, tuple[Finding, ...]],
    ) -> None:
        """:meth:`_analyse` for the pieces no other request is scanning now; the result of
        that scan for the others (:class:`~.flights.SingleFlight`)."""

        async def analyse(keys: Collection[bytes]) -> dict[bytes, tuple[Finding, ...]]:
            out: dict[bytes, tuple[Finding, ...]] = {}
            mine = {k: local[k] for k in keys}
            await self._analyse(mine, {k: v for k, v in remote.items() if k in mine}, out)
            return out

        found.update(await self._inflight.run(list(local), analyse))

    async def _analyse(
        self,
        local: dict[bytes, tuple[str, str]],
        remote: dict[bytes, str],
        found: dict[bytes, tuple[Finding, ...]],
    ) -> None:
        """Analyse ``local`` (on the loop or the thread) while ``remote`` is in the pool."""
        jobs = [(key, text, route) for key, (text, route) in local.items()]
        loop = asyncio.get_running_loop()
        scans: list[asyncio.Future[Spans]] = []
        parts: dict[bytes, list[tuple[int, int]]] = {}
        if remote:
            assert self._pool is not None
            self.ner_runs += len(remote)
            parts = {k: self._ner_parts(text) for k, text in remote.items()}
            scans = [self._pool.submit([remote[k][a:b] for a, b in parts[k]]) for k in remote]
        # Short texts' patterns run here: less than a hop to the thread costs, and on the
        # thread they would hold the GIL while the loop waits for it after every system call.
        # Never NER: only patterns, and NER in the pool's workers.
        inline = self._loop_patterns is not None and (
            sum(len(text) for text, _ in local.values()) <= _INLINE_PATTERNS_MAX
            and all(route in ("patterns", "clear") or k in remote for k, _, route in jobs)
        )
        if inline:
            if scans:
                await asyncio.sleep(0)  # the pool hands the scans to its workers first
            computed = self._inline_patterns(jobs)
        else:
            computed = await loop.run_in_executor(
                self._get_executor(), self._compute_many, jobs, remote
            )
        spans: dict[bytes, list[EntitySpan]] = {}
        if scans:
            answers = await asyncio.gather(*scans)
            spans = {
                k: shifted_spans(parts[k], got) for k, got in zip(remote, answers, strict=True)
            }
        for (key, text, _), findings in zip(jobs, computed, strict=True):
            if key in remote:
                ner = ner_findings(text, spans[key], self.active_entities, self.score_threshold)
                findings = sorted_findings([*findings, *ner])
            self._cache_put(key, findings)
            found[key] = findings

    def _inline_patterns(self, jobs: list[tuple[bytes, str, str]]) -> list[tuple[Finding, ...]]:
        """The pattern recognizers for ``jobs``, on the event loop, with the loop's own
        analyzer (the thread may hold its own; waiting for its lock would block the loop)."""
        analyzer = self._loop_patterns
        return [
            analyzer.findings(text) if analyzer and self._patterns_may_match(text) else ()
            for _, text, _ in jobs
        ]

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="openclaw-pii"
                )
            return self._executor


def _language_name(language: str) -> str:
    return "English" if language == "en" else f"'{language}'"
