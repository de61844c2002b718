"""Keeping tokens out of logs and status output.

Channels resolve secrets (Slack bot and app tokens, signing secrets, webhook secrets) only
when they start, and register each value here. :func:`redact` replaces registered values and
anything shaped like a Slack or gateway token; :class:`RedactingFilter` applies it to every
log record that passes through a logger or handler it is attached to. slack_sdk already masks
the ``Authorization`` header in its debug log; this also covers tokens that end up in
exception text, URLs or third-party messages.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "[redacted]"
_SHAPES = re.compile(
    r"(xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|ocw_[A-Za-z0-9_-]{16,}|"
    r"(?<=Bearer )[A-Za-z0-9._~+/=-]{8,})"
)
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a resolved secret so that it is masked wherever it shows up."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return _SHAPES.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's problem
            return True
        clean = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


FILTER = RedactingFilter()


def protect(logger: logging.Logger) -> None:
    """Attach the filter to ``logger`` and to each of its handlers (idempotent)."""
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)
    for handler in logger.handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
