"""OpenTelemetry: a span per request with the GenAI conventions, children per stage and per
upstream attempt, the caller's traceparent honoured and passed upstream, content only when
asked (and then redacted), and an exporter that is down costs dropped spans, not requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from fakes.providers import OpenAIUpstream
from harness import Served, serve_gateway
from openclaw.config.schema import TelemetrySettings
from openclaw.telemetry.otel import OtelTracer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def models(upstream: OpenAIUpstream) -> str:
    return (
        f'providers:\n  up: {{type: openai_compatible, base_url: "{upstream.url}"}}\n'
        "models:\n  general: {provider: up, model: gpt-4o-mini}\n"
        "  sensitive: {provider: mock, model: mock-local}\n"
    )


POLICIES = """\
policies:
  - {name: drafts, rule: all_outputs_are_drafts, enforce: true}
  - {name: pii, rule: if_context_contains_pii_use_sensitive_model, enforce: true}
  - {name: audit, rule: log_all_requests_and_responses, enforce: true}
"""


async def chat(served: Served, content: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url, headers=served.auth) as c:
        return await c.post(
            "/chat/completions",
            headers=headers,
            json={"model": "general", "messages": [{"role": "user", "content": content}]},
        )


@pytest.fixture
async def traced(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> AsyncIterator[tuple[Served, InMemorySpanExporter]]:
    served = await serve_gateway(openclaw_home, models=models(openai_upstream), policies=POLICIES)
    exporter = InMemorySpanExporter()
    served.state.gateway.tracer = OtelTracer(
        TelemetrySettings(capture_content=True), exporter=exporter
    )
    yield served, exporter
    await served.close()


async def test_a_request_span_has_gen_ai_attributes_and_stage_and_attempt_children(
    traced: tuple[Served, InMemorySpanExporter], openai_upstream: OpenAIUpstream
) -> None:
    served, exporter = traced
    r = await chat(served, "what is a monad?", traceparent=CALLER)
    assert r.status_code == 200
    tracer = served.state.gateway.tracer
    assert isinstance(tracer, OtelTracer) and tracer.flush()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    root = spans["chat general"]
    attrs = dict(root.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "general"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.provider.name"] == "up"
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["openclaw.draft"] is True and attrs["openclaw.attempts"] == 1
    assert "pii=pass" in attrs["openclaw.policies"]
    # The caller's trace is the parent; the upstream got our span as its parent.
    assert format(root.context.trace_id, "032x") == TRACE_ID
    assert root.parent is not None and format(root.parent.span_id, "016x") == "00f067aa0ba902b7"
    sent = openai_upstream.last.headers["traceparent"]
    assert sent == f"00-{TRACE_ID}-{format(root.context.span_id, '016x')}-01"
    children = [s for s in spans.values() if s.parent and s.parent.span_id == root.context.span_id]
    assert {s.name for s in children} == {"stage policies", "stage cache", "attempt up/gpt-4o-mini"}
    for child in children:
        assert root.start_time <= child.start_time <= child.end_time <= root.end_time


async def test_span_content_is_only_the_redacted_form(
    traced: tuple[Served, InMemorySpanExporter],
) -> None:
    served, exporter = traced
    r = await chat(served, "my card is 4111 1111 1111 1111, call me at jane@example.com")
    assert r.status_code == 200
    tracer = served.state.gateway.tracer
    assert isinstance(tracer, OtelTracer) and tracer.flush()
    (root,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    text = repr(dict(root.attributes or {}))
    assert "gen_ai.input.messages" in text
    assert "jane@example.com" not in text and "4111 1111" not in text
    assert "<EMAIL_ADDRESS>" in text


class OtlpListener:
    """A real OTLP/HTTP endpoint on loopback: decodes each export with opentelemetry-proto."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        app = web.Application()
        app.router.add_post("/v1/traces", self.receive)
        self.server = TestServer(app, host="127.0.0.1")

    async def receive(self, request: web.Request) -> web.Response:
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(await request.read())
        self.requests.append(msg)
        return web.Response(body=b"", content_type="application/x-protobuf")

    def spans(self) -> list[Any]:
        return [
            span
            for req in self.requests
            for rs in req.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]


async def test_an_otlp_http_listener_receives_gen_ai_spans(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    listener = OtlpListener()
    await listener.server.start_server()
    endpoint = str(listener.server.make_url("")).rstrip("/")
    served = await serve_gateway(
        openclaw_home,
        models=models(openai_upstream),
        policies=f'telemetry: {{otlp_endpoint: "{endpoint}", service_name: gw-test}}\n',
    )
    try:
        assert (await chat(served, "hello there")).status_code == 200
        tracer = served.state.gateway.tracer
        assert isinstance(tracer, OtelTracer)
        # The exporter posts from its own thread to a listener on this loop: wait off-loop.
        assert await asyncio.to_thread(tracer.flush)
        spans = listener.spans()
        (root,) = [s for s in spans if s.name == "chat general"]
        attrs = {a.key: a.value for a in root.attributes}
        assert attrs["gen_ai.operation.name"].string_value == "chat"
        assert attrs["gen_ai.request.model"].string_value == "general"
        assert attrs["gen_ai.usage.output_tokens"].int_value > 0
        resource = listener.requests[0].resource_spans[0].resource
        names = {a.key: a.value.string_value for a in resource.attributes}
        assert names["service.name"] == "gw-test"
        async with httpx.AsyncClient(base_url=served.base, headers=served.auth) as c:
            metrics = (await c.get("/metrics")).text
        assert "openclaw_trace_spans_exported_total" in metrics
    finally:
        await served.close()
        await listener.server.close()


async def test_an_exporter_that_is_down_drops_spans_and_the_requests_still_succeed(
    openclaw_home: Path, openai_upstream: OpenAIUpstream
) -> None:
    with __import__("socket").socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    served = await serve_gateway(
        openclaw_home,
        models=models(openai_upstream),
        policies=f'telemetry: {{otlp_endpoint: "http://127.0.0.1:{dead}", max_queue: 4}}\n',
    )
    try:
        for i in range(10):
            assert (await chat(served, f"question {i}")).status_code == 200
        tracer = served.state.gateway.tracer
        assert isinstance(tracer, OtelTracer)
        await asyncio.to_thread(tracer.flush, 15000)
        assert tracer.counts.dropped > 0 and tracer.counts.exported == 0
        async with httpx.AsyncClient(base_url=served.base, headers=served.auth) as c:
            metrics = (await c.get("/metrics")).text
        assert "openclaw_trace_spans_dropped_total" in metrics
    finally:
        await served.close()
