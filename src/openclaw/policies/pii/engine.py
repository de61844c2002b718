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
  skip presidio too.
- **Chunks.** A text longer than ``chunk_chars`` is cut at paragraph or sentence breaks
  (:mod:`.chunks`); each chunk is cached and scanned on its own, so a long tool output that
  comes back every turn is scanned once, and its chunks run on all workers at once.
- **Off the loop.** Pattern analysis runs on one dedicated worker thread, so a burst of PII
  work queues there instead of filling the loop's default executor. NER runs in the worker
  processes of a :class:`~openclaw.policies.pii.pool.PiiScanPool` when one is given (each on
  its own core, out of the daemon's GIL); without one, on that same thread. Presidio and spaCy
  are not documented as thread-safe, so one thread (and a lock for direct sync callers) also
  keeps them single-threaded.

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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

from openclaw.errors import ConfigError, OpenClawError
from openclaw.policies.pii.chunks import split_text
from openclaw.policies.pii.findings import Finding, redact, shifted, sorted_findings
from openclaw.policies.pii.gate import NerGate
from openclaw.policies.pii.nlp import (
    LoadedSpacyNlpEngine,
    TokenizerNlpEngine,
    installed_pipelines,
    is_installed,
    pipeline_version,
    shared_pipeline,
)
from openclaw.policies.pii.recognizers import (
    ner_entities,
    ner_recognizer,
    normalise_entities,
    pattern_recognizers,
    prefilter_for,
)

if TYPE_CHECKING:  # the pool's workers build engines, so the pool imports this module
    from openclaw.policies.pii.pool import PiiScanPool

log = logging.getLogger("openclaw.policies.pii")

PATTERN_ONLY = "pattern-only"
DEFAULT_SCORE_THRESHOLD = 0.4
INSTALL_HINT = "python -m spacy download en_core_web_sm"

# Texts up to this size are prefiltered on the event loop: one regex pass over 32 KB takes
# tens of microseconds, less than a hop to the worker thread and back.
_INLINE_PREFILTER_MAX = 32 * 1024
#: Texts longer than this are cut into chunks that are cached and scanned one by one. With
#: NER, chunks of a 4 KB prompt run on two workers at once; pattern-only, chunks only serve
#: the cache (a long tool output that comes back every turn), so they can be larger.
DEFAULT_CHUNK_CHARS = 2048
PATTERN_CHUNK_CHARS = 16384
# spaCy refuses texts over nlp.max_length (1,000,000 characters) and NER memory grows with
# length; a longer text that reaches presidio whole (chunk_chars=0) is analysed in pieces.
_CHUNK = 100_000
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

        self._analyze_lock = threading.Lock()
        self._pattern_lock = threading.Lock()
        nlp_engine, ner = self._choose_nlp(spacy_model, pool)
        pattern_entities = tuple(e for e in self.entities if e not in ner_entities(self.entities))
        #: The entities this engine can actually find in its mode.
        self.active_entities: tuple[str, ...] = tuple(
            e for e in self.entities if ner or e in pattern_entities
        )
        # Full analysis (patterns and NER) in this process: not with a pool, which has it.
        self._analyzer: AnalyzerEngine | None = None
        if self._pool is None:
            recognizers: list[EntityRecognizer] = pattern_recognizers(
                self.entities, language, windowed_phone=prefilter
            )
            if ner:
                spacy_rec = ner_recognizer(self.entities, language)
                if spacy_rec is not None:
                    recognizers.append(spacy_rec)
            self._analyzer = _analyzer(recognizers, nlp_engine, language, score_threshold)
        self._nlp_engine = nlp_engine
        if chunk_chars is None:
            chunk_chars = DEFAULT_CHUNK_CHARS if ner else PATTERN_CHUNK_CHARS
        self.chunk_chars = chunk_chars
        self._prefilter = prefilter_for(self.active_entities) if prefilter else None
        # With NER on: patterns alone, for texts the gate clears (and, with a pool, the
        # patterns are never sent to a worker for such texts).
        self._ner = ner
        self._gate = NerGate() if ner and ner_gate else None
        self._patterns: AnalyzerEngine | None = None
        self._pattern_prefilter = None
        if ner and (self._gate is not None or self._pool is not None):
            if pattern_entities:
                self._patterns = _analyzer(
                    pattern_recognizers(pattern_entities, language, windowed_phone=prefilter),
                    TokenizerNlpEngine(language),
                    language,
                    score_threshold,
                )
            self._pattern_prefilter = prefilter_for(pattern_entities) if prefilter else None
        self._pattern_entities = pattern_entities

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
        self.hits = 0
        self.misses = 0
        #: How many times presidio itself ran in this process (not counting the warm-up).
        self.presidio_runs = 0
        #: How many texts (or chunks) went to NER, and how many the gate let skip it.
        self.ner_runs = 0
        self.ner_skipped = 0

        # Compile every pattern, parse the suffix list and run NER once now, not on the
        # first request.
        if self._analyzer is not None:
            self._presidio(self._analyzer, self._analyze_lock, _WARM_UP)
        if self._patterns is not None:
            self._presidio(self._patterns, self._pattern_lock, _WARM_UP)
        self.presidio_runs = 0

    # ----------------------------------------------------------------- mode selection

    def _choose_nlp(
        self, spacy_model: str | None, pool: PiiScanPool | None
    ) -> tuple[NlpEngine, bool]:
        """Pick the NLP engine; sets ``mode`` and ``mode_note``. Returns (engine, has NER)."""
        choice = (pool.spacy_model if pool is not None else spacy_model or "auto").strip()
        wanted_ner = ner_entities(self.entities)
        pattern_engine = TokenizerNlpEngine(self.language)
        missing = " and ".join(wanted_ner) if wanted_ner else ""
        how = f"install a spaCy {_language_name(self.language)} pipeline ({INSTALL_HINT})"

        if not wanted_ner:
            self.mode = PATTERN_ONLY
            self.mode_note = (
                "pattern-only: no name or place entity (PERSON, LOCATION) is configured, "
                "so no spaCy pipeline is loaded"
            )
            log.info("PII engine: %s", self.mode_note)
            return pattern_engine, False

        if choice.lower() == "none":
            self.mode = PATTERN_ONLY
            self.mode_note = (
                f"pattern-only: names and places ({missing}) are not detected because "
                f"pii.spacy_model is 'none'; set it to 'auto' and {how} to detect them"
            )
            log.warning("PII engine: %s", self.mode_note)
            return pattern_engine, False

        if pool is not None and pool.package is not None:
            self._set_spacy_mode(pool.package, pool.version, f"{pool.workers} worker process(es)")
            return pattern_engine, True

        if choice.lower() == "auto" and pool is not None:
            self._set_fallback_note(pool.failed, missing, how)
            return pattern_engine, False

        if choice.lower() == "auto":
            candidates = installed_pipelines(self.language)
            failed: list[str] = []
            for package in candidates:
                try:
                    return self._spacy_engine(package), True
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
            return pattern_engine, False

        package = choice.replace("-", "_")
        if not is_installed(package):
            raise ConfigError(
                f"pii.spacy_model '{choice}' is not installed. Install it (for example "
                f"{INSTALL_HINT}) or set pii.spacy_model to 'auto' or 'none'.",
                param="spacy_model",
            )
        try:
            return self._spacy_engine(package), True
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

    def _spacy_engine(self, package: str) -> NlpEngine:
        pipeline = shared_pipeline(package)
        engine = LoadedSpacyNlpEngine(pipeline, language=self.language, entities=self.entities)
        # Engines with other entity sets may share this pipeline, so they share its lock.
        self._analyze_lock = pipeline.lock
        self._set_spacy_mode(package, pipeline_version(pipeline.nlp))
        return engine

    # ----------------------------------------------------------------- analysis

    def analyze_text(self, text: str) -> list[Finding]:
        """Findings in ``text``, sorted by position. Blocking: off the loop use analyze_texts.

        With a pool, a text that needs NER waits here for a worker (up to the scan timeout).
        """
        pieces = self._split(text)
        out: list[Finding] = []
        for offset, piece in pieces:
            key = self._key(piece)
            hit = self._cache_get(key)
            if hit is None:
                route = self._route(piece)
                if route == "ner" and self._pool is not None:
                    (hit,) = self._pool.scan_blocking(self._spec, [piece])
                    self._cache_put(key, hit)
                else:
                    hit = self._compute(key, piece, route)
            out.extend(shifted(hit, offset))
        return out

    async def analyze_texts(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in order. Only uncached texts leave the event loop.

        Cached texts, and small texts the prefilter clears, are answered on the loop. Texts
        (or chunks of long texts) that need NER go to the pool's workers, one job each so
        they spread over the workers; the rest go to the worker thread together, in one hop.
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
                if key in found or key in local or key in remote:
                    continue
                hit = self._cache_get(key)
                if hit is not None:
                    found[key] = hit
                    continue
                # With a pool the route is always known here: NER must not fall to the thread.
                inline = len(piece) <= _INLINE_PREFILTER_MAX or self._pool is not None
                route = self._route(piece) if inline else None
                if route == "clear":
                    self._cache_put(key, ())
                    found[key] = ()
                elif route == "ner" and self._pool is not None:
                    remote[key] = piece
                else:
                    local[key] = (piece, route or "")
            layout.append(pieces)
        waits = []
        if remote:
            assert self._pool is not None
            pool, spec = self._pool, self._spec
            waits.append(self._gather_remote(pool, spec, remote, found))
        if local:
            waits.append(self._run_local(local, found))
        if waits:
            await asyncio.gather(*waits)
        return [
            [f for offset, key in pieces for f in shifted(found[key], offset)] for pieces in layout
        ]

    def analyze_batch(self, texts: Sequence[str]) -> list[tuple[Finding, ...]]:
        """Full analysis of several texts at once, uncached (a pool worker's entry point).

        In spaCy mode the texts go through the pipeline together (``nlp.pipe``), which is
        cheaper per text than one call each.
        """
        if not isinstance(self._nlp_engine, LoadedSpacyNlpEngine) or len(texts) < 2:
            return [self._full(t) for t in texts]
        if any(len(t) > _CHUNK for t in texts):
            return [self._full(t) for t in texts]
        assert self._analyzer is not None
        out: list[tuple[Finding, ...]] = []
        with self._analyze_lock:
            artifacts = self._nlp_engine.process_texts(list(texts), self.language)
            for text, art in zip(texts, artifacts, strict=True):
                self.presidio_runs += 1
                self.ner_runs += 1
                results = self._call_presidio(self._analyzer, text, art)
                out.append(
                    sorted_findings(
                        Finding(r.entity_type, r.start, r.end, float(r.score)) for r in results
                    )
                )
        return out

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

    @property
    def _spec(self) -> tuple[tuple[str, ...], float]:
        return self.entities, self.score_threshold

    def _split(self, text: str) -> list[tuple[int, str]]:
        return split_text(text, self.chunk_chars)

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
            if self._patterns is None:
                return "clear"
            pf = self._pattern_prefilter
            return "clear" if pf is not None and pf.search(text) is None else "patterns"
        if self._analyzer is None:
            return "clear"
        if self._prefilter is not None and self._prefilter.search(text) is None:
            return "clear"
        return "patterns"

    def _cleared(self, text: str) -> bool:
        """True if no active recognizer can match ``text`` (so presidio may be skipped)."""
        return self._route(text) == "clear"

    def _compute(self, key: bytes, text: str, route: str = "") -> tuple[Finding, ...]:
        """Analyse ``text`` in this process by ``route`` (found here if empty); cache it."""
        route = route or self._route(text)
        if route == "clear":
            findings: tuple[Finding, ...] = ()
        elif route == "patterns" and self._ner:
            assert self._patterns is not None
            findings = self._presidio(self._patterns, self._pattern_lock, text)
        else:
            findings = self._full(text)
        self._cache_put(key, findings)
        return findings

    def _full(self, text: str) -> tuple[Finding, ...]:
        if self._analyzer is None:
            raise OpenClawError(
                "PII analysis needs NER but the worker pool is not running",
                code="pii_analysis_failed",
            )
        if self._ner:
            self.ner_runs += 1
        return self._presidio(self._analyzer, self._analyze_lock, text)

    def _compute_many(self, jobs: list[tuple[bytes, str, str]]) -> list[tuple[Finding, ...]]:
        return [self._compute(key, text, route) for key, text, route in jobs]

    async def _run_local(
        self, local: dict[bytes, tuple[str, str]], found: dict[bytes, tuple[Finding, ...]]
    ) -> None:
        jobs = [(key, text, route) for key, (text, route) in local.items()]
        loop = asyncio.get_running_loop()
        computed = await loop.run_in_executor(self._get_executor(), self._compute_many, jobs)
        for (key, _, _), findings in zip(jobs, computed, strict=True):
            found[key] = findings

    async def _gather_remote(
        self,
        pool: PiiScanPool,
        spec: tuple[tuple[str, ...], float],
        remote: dict[bytes, str],
        found: dict[bytes, tuple[Finding, ...]],
    ) -> None:
        keys = list(remote)
        self.ner_runs += len(keys)
        answers = await asyncio.gather(*(pool.scan(spec, [remote[k]]) for k in keys))
        for key, (findings,) in zip(keys, answers, strict=True):
            self._cache_put(key, findings)
            found[key] = findings

    def _presidio(
        self, analyzer: AnalyzerEngine, lock: threading.Lock, text: str
    ) -> tuple[Finding, ...]:
        findings: list[Finding] = []
        with lock:
            self.presidio_runs += 1
            for offset, piece in split_text(text, _CHUNK):
                results = self._call_presidio(analyzer, piece, None)
                findings.extend(
                    Finding(r.entity_type, r.start + offset, r.end + offset, float(r.score))
                    for r in results
                )
        return sorted_findings(findings)

    def _call_presidio(
        self, analyzer: AnalyzerEngine, text: str, artifacts: NlpArtifacts | None
    ) -> list[RecognizerResult]:
        try:
            return analyzer.analyze(
                text=text,
                language=self.language,
                entities=list(
                    self._pattern_entities if analyzer is self._patterns else self.active_entities
                ),
                score_threshold=self.score_threshold,
                nlp_artifacts=artifacts,
            )
        except Exception as exc:
            # Presidio's messages can quote the text; ours must not carry PII.
            log.error("PII analysis failed in presidio: %s", type(exc).__name__)
            raise OpenClawError(
                f"PII analysis failed ({type(exc).__name__} in presidio)",
                code="pii_analysis_failed",
            ) from None

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="openclaw-pii"
                )
            return self._executor


def _analyzer(
    recognizers: list[EntityRecognizer], nlp_engine: NlpEngine, language: str, threshold: float
) -> AnalyzerEngine | None:
    if not recognizers:
        return None
    return AnalyzerEngine(
        registry=RecognizerRegistry(recognizers=recognizers, supported_languages=[language]),
        nlp_engine=nlp_engine,
        supported_languages=[language],
        default_score_threshold=threshold,
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
    )


def _language_name(language: str) -> str:
    return "English" if language == "en" else f"'{language}'"
