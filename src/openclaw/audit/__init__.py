"""The audit log: one hash-chained JSON object per line in ``$OPENCLAW_HOME/audit.log``.

:class:`AuditLog` is the one small interface the pipeline writes through. ``write`` is
synchronous and returns once the record is in the kernel's page cache, so a record is never
lost to a crash of this process after the client got its response (records are written
before the last byte of a response goes out).

The rest of the room reads what the writer wrote: :mod:`.record` (fields, canonical form,
chain), :mod:`.reader` (records across rotated files, time windows, following),
:mod:`.verify` (walking the chain) and :mod:`.stats` (figures for ``openclaw audit stats``).
"""

from openclaw.audit.log import AuditLog, AuditWriteError
from openclaw.audit.record import GENESIS, SCHEMA_VERSION
from openclaw.audit.verify import ChainReport, Problem, verify

__all__ = [
    "GENESIS",
    "SCHEMA_VERSION",
    "AuditLog",
    "AuditWriteError",
    "ChainReport",
    "Problem",
    "verify",
]
