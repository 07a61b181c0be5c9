"""OpenTelemetry traces from a real ``keelbase serve``, received by a local OTLP/HTTP endpoint.

A request becomes a SERVER span named by its route template, joined to the
caller's trace by ``traceparent``, with its SQL statements as CLIENT spans
beneath it: their text, never their bound values.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.telemetry_receivers import Receiver, Span, receiving

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
SERVER, CLIENT = 2, 3  # Span.SpanKind in OTLP
STATUS_ERROR = 2
RECORD_ROUTE = "/api/collections/{collection}/records/{id}"

HOOKS = """
    def setup(app):
        @app.route("/api/boom", methods=["GET"])
        async def boom(e):
            raise RuntimeError("a bug in a route")
    """


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def traced(
    tmp_path: Path, db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerProcess]:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "kb-traced")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "boom.py").write_text(textwrap.dedent(HOOKS))
    server = ServerProcess(tmp_path / "kb_data", *(["--db", db_url] if db_url else []))
    yield server
    server.stop()


def server_span(receiver: Receiver, request_id: str) -> Span:
    def find(spans: list[Span]) -> list[Span]:
        return [s for s in spans if s.attributes.get("keelbase.request_id") == request_id]

    spans = receiver.wait_for(receiver.spans, lambda spans: bool(find(spans)))
    found = find(spans)
    assert len(found) == 1, spans
    return found[0]


def children(receiver: Receiver, parent: Span) -> list[Span]:
    return [s for s in receiver.spans() if s.parent_span_id == parent.span_id]


def test_a_request_span_with_its_sql_beneath_it(
    traced: ServerProcess, receiver: Receiver, db_url: str
) -> None:
    answer = httpx.get(
        traced.url + "/api/collections/users/records/secretid12345ab",
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
    )
    assert answer.status_code == 404
    span = server_span(receiver, answer.headers["x-request-id"])
    assert span.name == f"GET {RECORD_ROUTE}"
    assert span.kind == SERVER
    assert (span.trace_id, span.parent_span_id) == (TRACE_ID, PARENT_ID)
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.route"] == RECORD_ROUTE
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["url.path"] == "/api/collections/users/records/secretid12345ab"
    assert span.status_code != STATUS_ERROR  # a 404 is the client's error, not the server's
    assert span.resource["service.name"] == "kb-traced"
    assert span.resource["service.version"] == "0.1.0"
    assert span.resource["deployment.environment.name"] == "test"
    assert span.resource["service.instance.id"]

    statements = receiver.wait_for(
        lambda: children(receiver, span), lambda found: bool(found), timeout=5
    )
    system = "postgresql" if db_url else "sqlite"
    assert statements, receiver.spans()
    for statement in statements:
        assert statement.kind == CLIENT
        assert statement.trace_id == TRACE_ID
        assert statement.attributes["db.system"] == system
        assert statement.name == statement.attributes["db.operation.name"]
    texts = [s.attributes["db.query.text"] for s in statements]
    assert any(text.lstrip().upper().startswith("SELECT") for text in texts), texts
    assert not any("secretid12345ab" in text for text in texts), "a bound value was exported"


def test_a_5xx_span_is_an_error_with_its_exception(
    traced: ServerProcess, receiver: Receiver
) -> None:
    answer = httpx.get(traced.url + "/api/boom")
    assert answer.status_code == 500
    span = server_span(receiver, answer.headers["x-request-id"])
    assert span.name == "GET /api/boom"
    assert span.parent_span_id == ""  # no traceparent: a trace of its own
    assert span.status_code == STATUS_ERROR
    assert span.attributes["http.response.status_code"] == 500
    assert span.attributes["error.type"] == "builtins.RuntimeError"
    assert "exception" in span.events


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
         "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
         "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"),
    ],
)  # fmt: skip
def test_settings_traces_could_not_follow_are_refused(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **settings},
    )  # fmt: skip
    assert done.returncode == 2
    assert named in done.stderr
