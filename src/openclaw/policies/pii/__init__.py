"""PII detection for the policy engine: presidio, offline, cached, off the event loop.

- :mod:`.engine`: :class:`PiiEngine`, the one object the policy engine holds (modes, cache,
  prefilter, worker thread).
- :mod:`.recognizers`: which presidio recognizers run for which entity, and the prefilter's
  necessary conditions.
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
