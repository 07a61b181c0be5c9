"""Time-bucket arithmetic of the health figures: slots, percentiles, summaries."""

from __future__ import annotations

from keelbase.core import figures


def row_of(durations_ms: list[float], errors: int = 0) -> list[int]:
    row = figures.new_row()
    for ms in durations_ms:
        row[figures.REQUESTS] += 1
        row[figures.latency_slot(ms / 1000)] += 1
    row[figures.ERRORS] = errors
    return row


def test_percentiles_fall_in_the_right_bucket() -> None:
    row = row_of([4.0] * 90 + [40.0] * 9 + [400.0])
    p50, p95, p99 = (figures.percentile(row, f) for f in (0.5, 0.95, 0.99))
    assert p50 is not None and 3 < p50 <= 5
    assert p95 is not None and 30 < p95 <= 50
    assert p99 is not None and 30 < p99 <= 50
    assert figures.percentile(row, 1.0) == 500  # the top of the 300..500 ms bucket
    assert figures.percentile(figures.new_row(), 0.5) is None
    slow = row_of([120_000.0])
    assert figures.percentile(slow, 0.99) == figures.LATENCY_BOUNDS_MS[-1]


def test_fields_round_trip_and_summaries_add_up() -> None:
    first = figures.fields_of("GET /api/a", row_of([1.5, 2.5], errors=1))
    second = figures.fields_of("GET /api/a", row_of([2.5]))
    other = figures.fields_of("POST /api/b", row_of([10.0]))
    summary = figures.summarise([first, {**second, **other, "junk": 3, "x|99": 1}])
    assert summary["requests"] == 4 and summary["errors"] == 1
    assert summary["successRate"] == 0.75
    assert [(r["method"], r["route"], r["requests"]) for r in summary["routes"]] == [
        ("GET", "/api/a", 3),
        ("POST", "/api/b", 1),
    ]
    empty = figures.summarise([])
    assert empty["requests"] == 0 and empty["successRate"] is None and empty["routes"] == []


def test_labels_are_bounded() -> None:
    assert figures.method_label("GET") == "GET"
    assert figures.method_label("BREW") == "_OTHER"
    assert figures.route_label("") == figures.UNMATCHED
