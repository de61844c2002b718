"""The audit log: one JSON object per line in ``$OPENCLAW_HOME/audit.log``.

:class:`AuditLog` is the one small interface the pipeline writes through. ``write`` is
synchronous and returns once the record is in the kernel's page cache, so a record is never
lost to a crash of this process after the client got its response (records are written
before the last byte of a response goes out).
"""

from openclaw.audit.log import AuditLog, AuditWriteError

__all__ = ["AuditLog", "AuditWriteError"]
