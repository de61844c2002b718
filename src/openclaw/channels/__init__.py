"""Channels: where people reach the gateway besides HTTP, and where it tells them things.

``cli`` (the terminal: ``openclaw chat`` / ``openclaw ask``), ``slack`` (a slack-bolt bot) and
``webhook`` (signed event POSTs), configured in ``channels.yaml``. The daemon runs them through
:mod:`openclaw.channels.manager`, which importing registers with the server. Other parts of
the gateway report events with :func:`emit`.
"""

from openclaw.channels.events import Event, EventBus, emit, verify_signature

__all__ = ["Event", "EventBus", "emit", "verify_signature"]
