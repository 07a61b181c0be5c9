"""``SqlSpans``, the stores' tracer: a CLIENT span per statement beneath the current span.

The spans are collected by the SDK's in-memory exporter from a real store;
the end-to-end test (``tests/e2e/test_tracing_e2e.py``) sends them over OTLP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from keelbase.adapters.tracing import SqlSpans
from keelbase.store.base import Store, StoreError
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store = PgStore(fresh_db_url) if fresh_db_url else SqliteStore(tmp_path / "data.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_statements_are_children_of_the_current_span(store: Store) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    store.tracer = SqlSpans(tracer, store.dialect.name)

    async with store.read() as conn:
        await conn.fetch_value("SELECT 1")  # no current span: not traced
    with tracer.start_as_current_span("request") as request:
        async with store.read() as conn:
            assert await conn.fetch_value("SELECT :n + 1", {"n": 41}) == 42
            with pytest.raises(StoreError):
                await conn.fetch_one("SELECT nope FROM nowhere")

    finished = exporter.get_finished_spans()
    assert sorted(span.name for span in finished) == ["SELECT", "SELECT", "request"]
    statements = [span for span in finished if span.name == "SELECT"]
    request_context = request.get_span_context()
    for span in statements:
        assert span.kind == SpanKind.CLIENT
        assert span.parent is not None and span.parent.span_id == request_context.span_id
        assert span.attributes is not None
        assert span.attributes["db.system"] == store.dialect.name
    ok, failed = statements
    assert ok.attributes is not None and ok.attributes["db.query.text"] == "SELECT :n + 1"
    assert ok.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "InvalidStatement"
    assert [event.name for event in failed.events] == ["exception"]
