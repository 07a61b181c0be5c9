"""Request figures kept in time buckets: counts, 5xx and a fixed latency histogram.

Each minute (and each hour) keeps, per ``METHOD route``, the number of requests,
how many failed with a 5xx, and how many fell in each latency bucket. Memory is
bounded by routes times buckets, whatever the traffic; percentiles are estimated
from the buckets, which is all the dashboard needs. The same flat
``{field: count}`` shape is kept in process and in Redis hashes, so nodes add
their counts with HINCRBY and any node can answer for the cluster.

Pure data and arithmetic: no I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Upper bounds of the latency buckets in milliseconds; one more bucket holds the rest.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
    1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 30000, 60000,
)  # fmt: skip
SLOTS = 2 + len(LATENCY_BOUNDS_MS) + 1  # requests, 5xx, then one count per bucket
REQUESTS, ERRORS = 0, 1
# The route of requests that no API route matched (404s, static files), for labels and figures.
UNMATCHED = "unmatched"
# OpenTelemetry's known methods; anything else is "_OTHER", so clients cannot add labels.
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
)
# The windows the health figures cover: name, minute buckets or hour buckets, how many.
WINDOWS: tuple[tuple[str, str, int], ...] = (("5m", "m", 5), ("1h", "m", 60), ("24h", "h", 24))


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"


def route_label(route: str) -> str:
    return route or UNMATCHED


def latency_slot(duration_seconds: float) -> int:
    """The counter slot of a request that took ``duration_seconds``."""
    return 2 + bisect_left(LATENCY_BOUNDS_MS, duration_seconds * 1000.0)


def new_row() -> list[int]:
    return [0] * SLOTS


def fields_of(series: str, row: list[int]) -> dict[str, int]:
    """One series' counters as hash fields (``series|slot``), zeros left out."""
    return {f"{series}|{slot}": count for slot, count in enumerate(row) if count}


def rows_of(fields: Mapping[str, int]) -> dict[str, list[int]]:
    """Hash fields back to rows by series; malformed fields are skipped."""
    rows: dict[str, list[int]] = {}
    for name, value in fields.items():
        series, _, slot_text = name.rpartition("|")
        if not slot_text.isdigit() or int(slot_text) >= SLOTS:
            continue
        row = rows.get(series)
        if row is None:
            row = rows[series] = new_row()
        row[int(slot_text)] += int(value)
    return rows


def percentile(row: list[int], fraction: float) -> float | None:
    """The latency (ms) under which ``fraction`` of the requests fell, interpolated in its bucket."""
    buckets = row[2:]
    total = sum(buckets)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index == len(LATENCY_BOUNDS_MS):  # past the last bound: its bound is all we know
                return float(LATENCY_BOUNDS_MS[-1])
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0.0
            upper = LATENCY_BOUNDS_MS[index]
            return round(lower + (upper - lower) * (rank - seen) / count, 3)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


@dataclass
class Summary:
    """One window's figures for one series (or all of them)."""

    rows: list[list[int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        total = new_row()
        for row in self.rows:
            for slot, count in enumerate(row):
                total[slot] += count
        requests = total[REQUESTS]
        return {
            "requests": requests,
            "errors": total[ERRORS],
            "successRate": round((requests - total[ERRORS]) / requests, 6) if requests else None,
            "p50": percentile(total, 0.50),
            "p95": percentile(total, 0.95),
            "p99": percentile(total, 0.99),
        }


def summarise(buckets: Iterable[Mapping[str, int]]) -> dict[str, Any]:
    """A window's figures from its buckets: overall, and per series busiest first."""
    overall = Summary()
    by_series: dict[str, Summary] = {}
    for fields in buckets:
        for series, row in rows_of(fields).items():
            overall.rows.append(row)
            by_series.setdefault(series, Summary()).rows.append(row)
    routes = []
    for series, summary in by_series.items():
        method, _, route = series.partition(" ")
        routes.append({"method": method, "route": route, **summary.as_json()})
    routes.sort(key=lambda entry: (-entry["requests"], entry["route"], entry["method"]))
    return {**overall.as_json(), "routes": routes}
