"""Presidio's pattern recognizers, as one analyzer that one thread at a time may use.

The PII engine (:mod:`.engine`) holds two of them: one for its worker thread (long texts,
and synchronous callers) and one for the event loop (short texts), so that the loop never
waits for the thread's lock. A second costs next to nothing: the ``regex`` module caches
the compiled patterns.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from openclaw.policies.pii.chunks import split_text
from openclaw.policies.pii.findings import Finding, analysis_failed, sorted_findings
from openclaw.policies.pii.nlp import TokenizerNlpEngine
from openclaw.policies.pii.recognizers import pattern_recognizers

# Presidio is handed a long text in pieces of at most this many characters.
PIECE_CHARS = 100_000


class PatternAnalyzer:
    """Presidio with the pattern recognizers for ``entities`` only (names and places come
    from spaCy's spans, :mod:`.ner`). :meth:`findings` takes :attr:`lock`."""

    def __init__(
        self,
        recognizers: list[EntityRecognizer],
        entities: Sequence[str],
        language: str,
        threshold: float,
    ) -> None:
        self.entities = list(entities)
        self.language = language
        self.threshold = threshold
        self.lock = threading.Lock()
        #: How many texts presidio analysed.
        self.runs = 0
        self._analyzer = AnalyzerEngine(
            registry=RecognizerRegistry(recognizers=recognizers, supported_languages=[language]),
            nlp_engine=TokenizerNlpEngine(language),
            supported_languages=[language],
            default_score_threshold=threshold,
            context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
        )

    @classmethod
    def build(
        cls, entities: Sequence[str], language: str, threshold: float, *, windowed_phone: bool
    ) -> PatternAnalyzer | None:
        """The analyzer for ``entities``; None when no pattern recognizer serves them.
        ``windowed_phone=False`` uses presidio's own phone recognizer (for comparisons)."""
        recognizers = pattern_recognizers(entities, language, windowed_phone=windowed_phone)
        return cls(recognizers, entities, language, threshold) if recognizers else None

    def findings(self, text: str) -> tuple[Finding, ...]:
        """What the recognizers find in ``text``, sorted by position."""
        found: list[Finding] = []
        with self.lock:
            self.runs += 1
            for offset, piece in split_text(text, PIECE_CHARS):
                found.extend(
                    Finding(r.entity_type, r.start + offset, r.end + offset, float(r.score))
                    for r in self._analyse(piece)
                )
        return sorted_findings(found)

    def _analyse(self, text: str) -> list[RecognizerResult]:
        try:
            return self._analyzer.analyze(
                text=text,
                language=self.language,
                entities=self.entities,
                score_threshold=self.threshold,
            )
        except Exception as exc:
            raise analysis_failed(exc, "presidio") from None
