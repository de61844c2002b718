"""The OpenTelemetry SDK behind :class:`~openclaw.pipeline.stage.Tracer` (see the package doc)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextvars import Token
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from openclaw.audit.record import AuditRecord
from openclaw.config.schema import TelemetrySettings
from openclaw.pipeline.exchange import Exchange
from openclaw.providers.base import OUTBOUND_HEADERS

PROPAGATOR = TraceContextTextMapPropagator()


class SpanCounts:
    """Spans exported and dropped, for /metrics (updated from the export thread too)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = 0
        self.exported = 0
        self.dropped = 0


class CountingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, counts: SpanCounts) -> None:
        self.inner = inner
        self.counts = counts

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        with self.counts.lock:
            self.counts.queued -= len(spans)
            if result is SpanExportResult.SUCCESS:
                self.counts.exported += len(spans)
            else:
                self.counts.dropped += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class BoundedProcessor(BatchSpanProcessor):
    """A batch processor that counts what it drops when its queue is full."""

    def __init__(self, exporter: SpanExporter, counts: SpanCounts, max_queue: int) -> None:
        super().__init__(
            CountingExporter(exporter, counts),
            max_queue_size=max_queue,
            max_export_batch_size=min(512, max_queue),
            schedule_delay_millis=1000,
        )
        self.counts = counts
        self.max_queue = max_queue

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        with self.counts.lock:
            if self.counts.queued >= self.max_queue:
                self.counts.dropped += 1
                return
            self.counts.queued += 1
        super().on_end(span)


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class OtelTracer:
    def __init__(self, settings: TelemetrySettings, exporter: SpanExporter | None = None) -> None:
        self.settings = settings
        self.counts = SpanCounts()
        if exporter is None:
            # Explicit settings win; otherwise the exporter reads OTEL_EXPORTER_OTLP_* itself.
            endpoint = settings.otlp_endpoint
            headers = {k: v.resolve() or "" for k, v in settings.headers.items()} or None
            exporter = OTLPSpanExporter(
                endpoint=f"{endpoint.rstrip('/')}/v1/traces" if endpoint else None,
                headers=headers,
                timeout=5,
            )
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        )
        self.provider.add_span_processor(
            BoundedProcessor(exporter, self.counts, settings.max_queue)
        )
        self.tracer = self.provider.get_tracer("openclaw")

    # -- the Tracer protocol -----------------------------------------------------------
    def begin(self, ex: Exchange) -> None:
        parent: Context | None = None
        if ex.traceparent:
            parent = PROPAGATOR.extract({"traceparent": ex.traceparent})
        span = self.tracer.start_span(
            f"{_operation(ex)} {ex.requested_model or ''}".strip(),
            context=parent,
            kind=SpanKind.SERVER,
            start_time=_ns(ex.ts),
        )
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, context=set_span_in_context(span))
        token = OUTBOUND_HEADERS.set(carrier)
        ex.trace = (span, token)

    def end(self, ex: Exchange, record: AuditRecord) -> None:
        if not isinstance(ex.trace, tuple):
            return
        span, token = ex.trace
        ex.trace = None
        _reset(token)
        assert isinstance(span, Span)
        now = time.time()
        span.update_name(f"{_operation(ex)} {ex.alias or ex.requested_model or ''}".strip())
        span.set_attributes(_attributes(ex))
        if self.settings.capture_content:
            content = record.content
            if content is not None and content.get("mode") == "redacted":
                span.set_attribute("gen_ai.input.messages", _json(content.get("messages")))
                if content.get("response") is not None:
                    span.set_attribute("gen_ai.output.messages", _json(content["response"]))
        if ex.error is not None:
            span.set_attribute("error.type", ex.error.code or ex.error.type)
            if ex.status >= 500:
                span.set_status(Status(StatusCode.ERROR, ex.error.message[:200]))
        parent = set_span_in_context(span)
        for name, t0, ms in ex.stage_timings:
            start = ex.ts + (t0 - ex.started)
            child = self.tracer.start_span(f"stage {name}", context=parent, start_time=_ns(start))
            child.set_attribute("openclaw.stage", name)
            child.end(end_time=_ns(start + ms / 1000.0))
        for a in ex.attempts:
            start = a.ended - a.latency_ms / 1000.0
            child = self.tracer.start_span(
                f"attempt {a.deployment}",
                context=parent,
                kind=SpanKind.CLIENT,
                start_time=_ns(start),
            )
            child.set_attributes(
                {
                    "gen_ai.provider.name": a.provider,
                    "openclaw.deployment": a.deployment,
                    "openclaw.outcome": a.outcome,
                }
            )
            if a.status is not None:
                child.set_attribute("http.response.status_code", a.status)
            if a.outcome != "ok":
                child.set_status(Status(StatusCode.ERROR, a.outcome))
            child.end(end_time=_ns(a.ended))
        span.end(end_time=_ns(now))

    # -- lifecycle ---------------------------------------------------------------------
    def flush(self, timeout_ms: int = 5000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _operation(ex: Exchange) -> str:
    return "embeddings" if ex.api == "embeddings" else "chat"


def _attributes(ex: Exchange) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": _operation(ex),
        "gen_ai.request.model": ex.requested_model or ex.alias or "",
        "openclaw.request_id": ex.request_id,
        "openclaw.api": ex.api,
        "openclaw.service": ex.service,
        "openclaw.draft": ex.draft,
        "openclaw.attempts": len(ex.attempts),
        "http.response.status_code": ex.status,
    }
    optional = {
        "gen_ai.response.model": ex.provider_model,
        "gen_ai.provider.name": ex.provider,
        "gen_ai.usage.input_tokens": ex.prompt_tokens,
        "gen_ai.usage.output_tokens": ex.completion_tokens,
        "openclaw.alias": ex.alias,
        "openclaw.task": ex.task,
        "openclaw.channel": ex.channel,
        "openclaw.cache": ex.cache,
        "openclaw.fallback_from": ex.fallback_from,
        "openclaw.cost_usd": ex.cost_usd,
    }
    attrs.update({k: v for k, v in optional.items() if v is not None})
    if ex.decisions:
        attrs["openclaw.policies"] = [d.header() for d in ex.decisions]
    return attrs


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _reset(token: Token[Any]) -> None:
    try:
        OUTBOUND_HEADERS.reset(token)
    except ValueError:  # ended in another context (an in-process caller's task)
        OUTBOUND_HEADERS.set(None)
