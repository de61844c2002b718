"""Faults for PII pool workers, installed with the pool's ``initializer`` (run in the worker).

They are module-level functions because a spawned or forkserver worker imports its
initializer by name. A marker in a scanned text triggers the fault.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from openclaw.policies.pii.worker import Spans, WorkerState

CRASH = "CRASH-THE-WORKER"
HANG = "HANG-THE-WORKER"
RAISE = "RAISE-IN-SPACY"


def faulty(state: WorkerState) -> None:
    real = state.find

    def find(texts: Sequence[str]) -> Spans:
        joined = " ".join(texts)
        if CRASH in joined:
            os._exit(3)  # a segfault in a native extension looks like this to the pool
        if HANG in joined:
            time.sleep(3600)
        if RAISE in joined:
            raise ValueError("spaCy broke")
        return real(texts)

    state.find = find
