"""Imported by the NER pool's fork server: load the pipeline once, for every worker to share.

:class:`~openclaw.policies.pii.pool.PiiScanPool` starts the fork server with the candidate
pipelines in ``OPENCLAW_NER_PRELOAD`` (comma-separated) and lists this module in its
preload. Importing it loads the first candidate that loads into the process's
:func:`~.pipeline.shared_pipeline` table, so each worker forked from the server starts with
it loaded and shares its pages (model weights and vocabulary, tens of MB) with the server
and the other workers instead of holding a copy. ``gc.freeze()`` then moves everything
loaded so far out of the garbage collector's reach: a collection in a worker would otherwise
write to every object's header and copy the pages it meant to share.

Nothing fails here: a pipeline that does not load is left for the worker to try, and to
report.
"""

from __future__ import annotations

import gc
import os

from openclaw.policies.pii.pipeline import PRELOAD_ENV, shared_pipeline

for _package in filter(None, os.environ.get(PRELOAD_ENV, "").split(",")):
    try:
        shared_pipeline(_package)
        break
    except Exception:  # the worker loads it again and logs why it failed
        continue
gc.freeze()
