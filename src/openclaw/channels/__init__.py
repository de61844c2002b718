"""Channels: where people reach the gateway besides HTTP, and where it tells them things.

``cli`` (the terminal: ``openclaw chat`` / ``openclaw ask``), ``slack`` (a slack-bolt bot) and
``webhook`` (signed event POSTs), configured in ``channels.yaml``. The daemon runs them through
:mod:`openclaw.channels.manager` (one of the daemon's route installers). The pipeline's
stages report events on the gateway's event relay, which the manager forwards to its bus.
"""

from openclaw.channels.events import Event, EventBus, verify_signature

__all__ = ["Event", "EventBus", "verify_signature"]
