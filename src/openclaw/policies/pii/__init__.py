"""PII detection for the policy engine: presidio and spaCy, offline, cached, NER in workers.

- :mod:`.engine`: :class:`PiiEngine`, the one object the policy engine holds (modes, cache,
  prefilter, NER gate, chunks, worker thread).
- :mod:`.pool`: :class:`~.pool.PiiScanPool`, supervised worker processes that run NER; the
  gateway owns it (``start()``/``aclose()``). :mod:`.worker` is the inside of one worker.
- :mod:`.gate`: :class:`~.gate.NerGate`, which lets a text skip NER when no word could begin
  a name. :mod:`.chunks`: long texts cut at paragraph and sentence breaks.
- :mod:`.recognizers`: which presidio recognizers run for which entity, and the prefilter's
  necessary conditions. :mod:`.patterns`: :class:`~.patterns.PatternAnalyzer`, presidio with
  those recognizers, one thread at a time.
- :mod:`.flights`: :class:`~.flights.SingleFlight`, so that concurrent requests for one new
  text share one scan.
- :mod:`.phone`: presidio's phone recognizer, given only the windows that can hold a number.
- :mod:`.nlp`: NLP engines that never download: a lazy tokenizer for pattern-only mode and a
  trimmed spaCy pipeline for names and places.
- :mod:`.findings`: :class:`Finding`, merging overlapping spans, one-way redaction.
- :mod:`.pseudonymize`: reversible placeholders for ``redact_pii``, including streamed answers
  and tool-call arguments.
- :mod:`.walk`: every string in a request body that can leave the machine, and opaque parts.
- :mod:`.scan`: one scan of a request for the rules (walk, analyse, keep what counts).
- :mod:`.entities`: which findings count: places with an address, PERSON spans that are
  people, ``allow_names``.
- :mod:`.address`: the ``STREET_ADDRESS`` recognizer presidio lacks.
- :mod:`.bench`: ``python -m openclaw.policies.pii.bench`` measures start-up and latency.
"""

from __future__ import annotations

import importlib
from typing import Any

# The package's names load on first use (PEP 562): presidio and spaCy take over a second to
# import, and the light modules here (walk, scan, entities) are imported by every gateway
# and CLI command whether or not a PII rule runs.
_LAZY = {
    "DEFAULT_SCORE_THRESHOLD": "engine",
    "PATTERN_ONLY": "engine",
    "PiiEngine": "engine",
    "Finding": "findings",
    "redact": "findings",
    "Pseudonymizer": "pseudonymize",
    "StreamUnmasker": "pseudonymize",
    "DEFAULT_ENTITIES": "recognizers",
    "SUPPORTED_ENTITIES": "recognizers",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
