"""Watching the gateway: Prometheus metrics and the live dashboard.

``metrics`` turns every finished exchange into counters and histograms on a per-app
registry; ``feed`` keeps a bounded, content-free memory of recent requests for the charts;
``sessions`` holds the dashboard's one-time login links and cookie sessions; ``routes``
serves ``/metrics`` and ``/dashboard`` and wires the observers onto the gateway. The page
itself (HTML, CSS, and the hand-written SVG charts) lives in ``static/`` as package data.
"""

from openclaw.observability.feed import Entry, Feed
from openclaw.observability.metrics import Metrics
from openclaw.observability.sessions import DashboardSessions

__all__ = ["DashboardSessions", "Entry", "Feed", "Metrics"]
