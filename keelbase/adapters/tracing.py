"""OpenTelemetry traces: the SDK set up from the standard ``OTEL_*`` variables, and SQL spans.

Imported only when tracing is on (``OTEL_EXPORTER_OTLP_ENDPOINT`` is set), so a
server without it never loads OpenTelemetry. Spans leave through the OTLP/HTTP
protobuf exporter in batches, on the SDK's own thread, never on the request path.
The exporter, the batch processor, the sampler and the resource read their usual
variables themselves (``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_*``,
``OTEL_TRACES_SAMPLER``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ...).
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import AbstractContextManager, nullcontext

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

log = logging.getLogger("keelbase.tracing")
_NO_PARENT = nullcontext()


class Tracing:
    """One process's tracer provider: started with the app, flushed when it stops."""

    def __init__(self, version: str) -> None:
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        )
        if protocol and protocol != "http/protobuf":
            log.warning("OTLP protocol %r is not supported; sending http/protobuf", protocol)
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over these defaults
        detected = Resource.create()
        if str(detected.attributes.get("service.name", "")).startswith("unknown_service"):
            detected = detected.merge(Resource({"service.name": "keelbase"}))
        defaults = Resource(
            {
                "service.version": version,
                # each worker and node apart: spans from one process share this
                "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
            }
        )
        self.provider = TracerProvider(resource=defaults.merge(detected))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer: Tracer = self.provider.get_tracer("keelbase", version)
        # User code that calls ``trace.get_tracer`` gets spans in the same traces,
        # unless the embedding program has set a provider of its own.
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(self.provider)

    def sql_spans(self, system: str) -> SqlSpans:
        return SqlSpans(self.tracer, system)

    def flush(self) -> None:
        """Send the spans still queued (blocks up to 5 s: run it off the loop).

        The provider itself lives on, so an app stopped and started again keeps
        tracing; the SDK shuts it down when the process exits.
        """
        self.provider.force_flush(timeout_millis=5000)


class SqlSpans:
    """The store's ``StatementTracer``: a CLIENT span per statement, beneath the current span.

    The span carries the statement's text with its ``:name`` placeholders, never
    the bound values. Statements outside any traced work (the schema watcher,
    cron leases) get no span: as root spans of their own, every second, they
    would bury the requests' traces.
    """

    def __init__(self, tracer: Tracer, system: str) -> None:
        self.tracer = tracer
        self.system = system

    def statement(self, sql: str) -> AbstractContextManager[object]:
        if not trace.get_current_span().is_recording():
            return _NO_PARENT
        operation = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "SQL"
        span = self.tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": self.system,
                "db.system.name": self.system,
                "db.operation.name": operation,
                "db.query.text": sql,
            },
            record_exception=False,
            set_status_on_exception=False,
        )
        return _Ending(span)


class _Ending:
    """Ends a statement's span, marked as failed when the statement raised.

    A statement has no children, so its span is never made the current one:
    that saves the context switch ``start_as_current_span`` would make.
    """

    __slots__ = ("span",)

    def __init__(self, span: Span) -> None:
        self.span = span

    def __enter__(self) -> Span:
        return self.span

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> None:
        if error is not None:
            self.span.set_attribute("error.type", type(error).__qualname__)
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()
