"""Scrubbing text that is not a prompt: an upstream's error body before it is audited.

An upstream may quote the request back in its error ("invalid input for jane@example.com"),
and that text becomes the audit record's ``error.message``. The audit writer (which cannot
import policies) takes any ``str -> str`` callable; the assembler of the daemon passes an
:class:`ErrorScrubber`: the pattern recognizers of :class:`~.pii.engine.PiiEngine` in
pattern-only mode (e-mail, phone, card, IBAN, IP ...), entity by entity replaced with
``<ENTITY_TYPE>`` as the audit policy's ``redacted`` mode does. NER is left out on purpose:
the writer runs on the event loop, and the engine's cache makes an upstream's repeated error
body cost microseconds after the first.

This module sits outside :mod:`openclaw.policies.pii` on purpose: importing that package
loads presidio and spaCy (seconds), which every process that builds a gateway would then
pay even if no upstream ever fails.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openclaw.policies.pii import PiiEngine


class ErrorScrubber:
    """``scrub(text)``: ``text`` with every pattern-detectable PII entity redacted.

    The engine is built on first use (a few hundred milliseconds), so a gateway that never
    sees an upstream error never pays for it.
    """

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._engine: PiiEngine | None = None
        self._lock = threading.Lock()

    def _get(self) -> PiiEngine:
        # presidio and spaCy take seconds to import: only loaded once an error is recorded.
        from openclaw.policies.pii import PiiEngine

        with self._lock:
            if self._engine is None:
                self._engine = PiiEngine(spacy_model="none", language=self.language)
            return self._engine

    def __call__(self, text: str) -> str:
        engine = self._get()
        redacted: str = engine.redact(text, engine.analyze_text(text))
        return redacted
