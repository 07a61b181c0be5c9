"""Local stand-ins for Sentry and an OpenTelemetry collector, for tests.

``Receiver`` is a real HTTP server in a thread that keeps every POST it gets.
``sentry_events`` decodes Sentry envelopes (what ``sentry-sdk`` sends to
``/api/PROJECT/envelope/``); ``spans`` decodes OTLP/HTTP protobuf exports
(``/v1/traces``) with ``opentelemetry-proto``'s ``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Post:
    path: str
    body: bytes


@dataclass(frozen=True)
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: int
    events: list[str]
    resource: dict[str, Any]


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only when sentry-sdk found brotli installed

        return bytes(brotli.decompress(body))
    return body


class Receiver:
    def __init__(self) -> None:
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = _decoded(body, self.headers.get("Content-Encoding", ""))
                with receiver._lock:
                    receiver.posts.append(Post(self.path, body))
                if self.path.endswith("/v1/traces"):
                    answer = ExportTraceServiceResponse().SerializeToString()
                    kind = "application/x-protobuf"
                else:
                    answer, kind = b"{}", "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def sentry_dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _bodies(self, suffix: str) -> list[bytes]:
        with self._lock:
            return [post.body for post in self.posts if post.path.endswith(suffix)]

    def sentry_events(self) -> list[dict[str, Any]]:
        """Every event item of every envelope received so far."""
        return [
            item
            for body in self._bodies("/envelope/")
            for kind, item in _envelope_items(body)
            if kind == "event"
        ]

    def spans(self) -> list[Span]:
        found: list[Span] = []
        for body in self._bodies("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append(
                            Span(
                                name=span.name,
                                kind=span.kind,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                attributes=_attributes(span.attributes),
                                status_code=span.status.code,
                                events=[event.name for event in span.events],
                                resource=resource,
                            )
                        )
        return found

    def wait_for(self, read: Callable[[], T], done: Callable[[T], bool], timeout: float = 15) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = read()
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.1)


def _envelope_items(body: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """Sentry's envelope: a header line, then items of a header line and a payload."""
    _, _, rest = body.partition(b"\n")
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") in ("event", "transaction"):
            yield header["type"], json.loads(payload)


def _attributes(values: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in values:
        kind = item.value.WhichOneof("value")
        found[item.key] = getattr(item.value, kind) if kind else None
    return found


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.close()
