"""The PII engine: presidio built offline, with a per-message cache and a prefilter.

:class:`PiiEngine` is what the policy engine calls. It is built once at start-up (that is
blocking: it imports presidio and maybe loads a spaCy pipeline) and then answers
:meth:`PiiEngine.analyze_text` (sync) or :meth:`PiiEngine.analyze_texts` (async, for the
messages of one request).

Four things keep the cost of a request to the cost of its new text, and that small:

- **Cache.** Each message's result is kept in an LRU keyed by ``sha256(settings + text)``, so
  the 19 old turns of a 20-turn conversation are dictionary hits. Only digests and findings
  are kept, never the text itself.
- **Prefilter.** A text in which no active recognizer could match (no digit, no ``@``, ...)
  skips presidio. It is a necessary condition per recognizer, so it never changes a result;
  it cannot apply while NER entities are active, as names need NER.
- **Phone windows.** Presidio's phone recognizer validates every digit group in the text for
  eight regions; ours (:mod:`.phone`) hands python-phonenumbers only the parts that can hold
  a valid number, with the same results. It was nearly all of the pattern-only cost.
- **Off the loop.** Uncached texts are analysed on one dedicated worker thread, so a burst of
  PII work queues there instead of filling the loop's default executor. Presidio and spaCy
  are not documented as thread-safe, so one worker (and a lock for direct sync callers) also
  keeps them single-threaded; the work holds the GIL anyway.

Mode: with a spaCy pipeline for the language installed (any ``en_core_web_*``, chosen in
config or found), ``PERSON`` and ``LOCATION`` come from its NER (``spacy:<package>``);
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

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpEngine

from openclaw.errors import ConfigError, OpenClawError
from openclaw.policies.pii.findings import Finding, redact
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

log = logging.getLogger("openclaw.policies.pii")

PATTERN_ONLY = "pattern-only"
DEFAULT_SCORE_THRESHOLD = 0.4
INSTALL_HINT = "python -m spacy download en_core_web_sm"

# Texts up to this size are prefiltered on the event loop: one regex pass over 32 KB takes
# tens of microseconds, less than a hop to the worker thread and back.
_INLINE_PREFILTER_MAX = 32 * 1024
# spaCy refuses texts over nlp.max_length (1,000,000 characters) and NER memory grows with
# length; longer texts are analysed in pieces cut at line breaks or spaces.
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
    ) -> None:
        """Build presidio for ``entities`` (default :data:`DEFAULT_ENTITIES`).

        ``spacy_model``: None or ``"auto"`` finds an installed pipeline for ``language``;
        ``"none"`` forces pattern-only; anything else is a package that must load, or this
        raises :class:`ConfigError`. ``prefilter=False`` always runs presidio, with its own
        phone recognizer (tests and benchmarks use it to compare).
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

        self._analyze_lock = threading.Lock()
        nlp_engine, ner = self._choose_nlp(spacy_model)
        recognizers: list[EntityRecognizer] = pattern_recognizers(
            self.entities, language, windowed_phone=prefilter
        )
        if ner:
            spacy_rec = ner_recognizer(self.entities, language)
            if spacy_rec is not None:
                recognizers.append(spacy_rec)
        #: The entities this engine can actually find in its mode.
        self.active_entities: tuple[str, ...] = tuple(
            e for e in self.entities if ner or e not in ner_entities(self.entities)
        )
        self._analyzer: AnalyzerEngine | None = None
        if recognizers:
            self._analyzer = AnalyzerEngine(
                registry=RecognizerRegistry(
                    recognizers=recognizers, supported_languages=[language]
                ),
                nlp_engine=nlp_engine,
                supported_languages=[language],
                default_score_threshold=score_threshold,
                context_aware_enhancer=LemmaContextAwareEnhancer(
                    context_matching_mode="whole_word"
                ),
            )
        self._prefilter = prefilter_for(self.active_entities) if prefilter else None

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
        #: How many times presidio itself ran (not counting the warm-up).
        self.presidio_runs = 0

        # Compile every pattern, parse the suffix list and run NER once now, not on the
        # first request.
        if self._analyzer is not None:
            self._presidio(_WARM_UP)
            self.presidio_runs = 0

    # ----------------------------------------------------------------- mode selection

    def _choose_nlp(self, spacy_model: str | None) -> tuple[NlpEngine, bool]:
        """Pick the NLP engine; sets ``mode`` and ``mode_note``. Returns (engine, has NER)."""
        choice = (spacy_model or "auto").strip()
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

    def _spacy_engine(self, package: str) -> NlpEngine:
        pipeline = shared_pipeline(package)
        engine = LoadedSpacyNlpEngine(pipeline, language=self.language, entities=self.entities)
        nlp = pipeline.nlp
        # Engines with other entity sets may share this pipeline, so they share its lock.
        self._analyze_lock = pipeline.lock
        self.mode = f"spacy:{package}"
        self.mode_note = (
            f"names and places ({' and '.join(ner_entities(self.entities))}) are detected "
            f"by the spaCy pipeline {package} {pipeline_version(nlp)}"
        )
        log.info("PII engine: %s", self.mode_note)
        return engine

    # ----------------------------------------------------------------- analysis

    def analyze_text(self, text: str) -> list[Finding]:
        """Findings in ``text``, sorted by position. Blocking: off the loop use analyze_texts."""
        key = self._key(text)
        hit = self._cache_get(key)
        if hit is not None:
            return list(hit)
        return list(self._compute(key, text))

    async def analyze_texts(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in order. Only uncached texts leave the event loop.

        Cached texts, and small texts the prefilter clears, are answered on the loop. The
        rest go to the worker thread together, in one hop.
        """
        results: list[list[Finding]] = [[] for _ in texts]
        pending: dict[bytes, list[int]] = {}
        for i, text in enumerate(texts):
            key = self._key(text)
            hit = self._cache_get(key)
            if hit is not None:
                results[i] = list(hit)
            elif key in pending:
                pending[key].append(i)
            elif len(text) <= _INLINE_PREFILTER_MAX and self._cleared(text):
                self._cache_put(key, ())
            else:
                pending[key] = [i]
        if pending:
            jobs = [(key, texts[idx[0]]) for key, idx in pending.items()]
            loop = asyncio.get_running_loop()
            computed = await loop.run_in_executor(self._get_executor(), self._compute_many, jobs)
            for (key, _), found in zip(jobs, computed, strict=True):
                for i in pending[key]:
                    results[i] = list(found)
        return results

    def redact(self, text: str, findings: list[Finding]) -> str:
        """``text`` with each finding replaced by ``<ENTITY_TYPE>``; overlaps become one."""
        return redact(text, findings)

    def cache_clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def close(self) -> None:
        """Stop the worker thread. Pending analyses are cancelled."""
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    # ----------------------------------------------------------------- internals

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

    def _cleared(self, text: str) -> bool:
        """True if no active recognizer can match ``text`` (so presidio may be skipped)."""
        if self._analyzer is None:
            return True
        return self._prefilter is not None and self._prefilter.search(text) is None

    def _compute(self, key: bytes, text: str) -> tuple[Finding, ...]:
        findings = () if self._cleared(text) else self._presidio(text)
        self._cache_put(key, findings)
        return findings

    def _compute_many(self, jobs: list[tuple[bytes, str]]) -> list[tuple[Finding, ...]]:
        return [self._compute(key, text) for key, text in jobs]

    def _presidio(self, text: str) -> tuple[Finding, ...]:
        assert self._analyzer is not None
        findings: list[Finding] = []
        with self._analyze_lock:
            self.presidio_runs += 1
            for offset, piece in _pieces(text):
                try:
                    results = self._analyzer.analyze(
                        text=piece,
                        language=self.language,
                        entities=list(self.active_entities),
                        score_threshold=self.score_threshold,
                    )
                except Exception as exc:
                    # Presidio's messages can quote the text; ours must not carry PII.
                    log.error("PII analysis failed in presidio: %s", type(exc).__name__)
                    raise OpenClawError(
                        f"PII analysis failed ({type(exc).__name__} in presidio)",
                        code="pii_analysis_failed",
                    ) from None
                findings.extend(
                    Finding(r.entity_type, r.start + offset, r.end + offset, float(r.score))
                    for r in results
                )
        findings.sort(key=lambda f: (f.start, f.end, f.entity_type))
        return tuple(findings)

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="openclaw-pii"
                )
            return self._executor


def _pieces(text: str) -> list[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``_CHUNK`` characters, at a line break or space."""
    if len(text) <= _CHUNK:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > _CHUNK:
        window = text[start : start + _CHUNK]
        cut = window.rfind("\n")
        if cut < _CHUNK // 2:
            cut = max(window.rfind(" "), cut)
        end = start + (cut + 1 if cut > 0 else _CHUNK)
        out.append((start, text[start:end]))
        start = end
    out.append((start, text[start:]))
    return out


def _language_name(language: str) -> str:
    return "English" if language == "en" else f"'{language}'"
