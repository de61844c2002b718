"""PII detection for the policy engine: presidio, offline, cached, off the event loop.

- :mod:`.engine`: :class:`PiiEngine`, the one object the policy engine holds (modes, cache,
  prefilter, NER gate, chunks, worker thread).
- :mod:`.pool`: :class:`~.pool.PiiScanPool`, supervised worker processes that run NER; the
  gateway owns it (``start()``/``aclose()``). :mod:`.worker` is the inside of one worker.
- :mod:`.gate`: :class:`~.gate.NerGate`, which lets a text skip NER when no word could begin
  a name. :mod:`.chunks`: long texts cut at paragraph and sentence breaks.
- :mod:`.recognizers`: which presidio recognizers run for which entity, and the prefilter's
  necessary conditions.
- :mod:`.phone`: presidio's phone recognizer, given only the windows that can hold a number.
- :mod:`.nlp`: NLP engines that never download: a lazy tokenizer for pattern-only mode and a
  trimmed spaCy pipeline for names and places.
- :mod:`.findings`: :class:`Finding`, merging overlapping spans, one-way redaction.
- :mod:`.pseudonymize`: reversible placeholders for ``redact_pii``, including streamed answers.
- :mod:`.bench`: ``python -m openclaw.policies.pii.bench`` measures start-up and latency.
"""

from openclaw.policies.pii.engine import DEFAULT_SCORE_THRESHOLD, PATTERN_ONLY, PiiEngine
from openclaw.policies.pii.findings import Finding, redact
from openclaw.policies.pii.pseudonymize import Pseudonymizer, StreamUnmasker
from openclaw.policies.pii.recognizers import DEFAULT_ENTITIES, SUPPORTED_ENTITIES

__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_SCORE_THRESHOLD",
    "PATTERN_ONLY",
    "SUPPORTED_ENTITIES",
    "Finding",
    "PiiEngine",
    "Pseudonymizer",
    "StreamUnmasker",
    "redact",
]
