"""OpenTelemetry traces for gateway requests (``telemetry:`` in policies.yaml; the ``otel`` extra).

One span per request (``chat general``), with the GenAI semantic conventions
(``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.provider.name``, ``gen_ai.usage.input_tokens``/``output_tokens``) and ``openclaw.*``
attributes (alias, service, api, policy decisions, attempts, cache, draft), plus one child
span per pipeline stage and one per upstream attempt. The caller's W3C ``traceparent`` is
the parent, and the request span's context goes to the upstream in its own ``traceparent``.

The request span starts live (its context must exist before the upstream call); the child
spans are written when the request ends, from the timings the pipeline keeps on the
exchange, so tracing adds no ``await`` and no lock to the request path. Spans are exported
in batches from a background thread with a bounded queue: an exporter that is down or slow
never slows a request, and spans that do not fit are dropped and counted
(``openclaw_trace_spans_dropped_total`` in /metrics).

Message content is never put on spans unless ``capture_content: true``, and then only the
audit policy's redacted form (PII replaced by ``<ENTITY_TYPE>``); with any other audit
content mode nothing is captured.
"""

from __future__ import annotations

import logging
import os

from openclaw.config.schema import TelemetrySettings
from openclaw.errors import ConfigError
from openclaw.pipeline.stage import Tracer

log = logging.getLogger("openclaw.telemetry")

ENV_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def enabled(settings: TelemetrySettings) -> bool:
    return bool(settings.otlp_endpoint) or any(os.environ.get(v) for v in ENV_ENDPOINTS)


def build_tracer(settings: TelemetrySettings) -> Tracer | None:
    """The tracer for ``settings``, or None when tracing is off (no endpoint anywhere)."""
    if not enabled(settings):
        return None
    try:
        # The otel extra is optional: most installs never load the SDK.
        from openclaw.telemetry.otel import OtelTracer
    except ImportError:
        raise ConfigError(
            "policies.yaml: telemetry: an OTLP endpoint is set but OpenTelemetry is not "
            "installed; run: pip install 'openclaw[otel]' (install.sh includes it)"
        ) from None
    return OtelTracer(settings)


__all__ = ["build_tracer", "enabled"]
