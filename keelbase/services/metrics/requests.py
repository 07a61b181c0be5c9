"""The request observer behind ``http_server_request_duration_seconds`` and ``http_server_active_requests``.

Labels are the method (unknown ones as ``_OTHER``), the route template (never
the raw path: ids cannot add label sets) and the status code. Each label set's
child is looked up once and kept, so a request costs two dictionary lookups and
the increments.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.figures import method_label, route_label
from keelbase.core.request_outcome import RequestOutcome
from keelbase.services.metrics.prometheus import Instruments


class RequestMetrics:
    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments
        self._active: dict[str, Any] = {}
        self._durations: dict[tuple[str, str, int], Any] = {}

    def _active_child(self, method: str) -> Any:
        method = method_label(method)  # the cache's keys are bounded like the labels
        child = self._active.get(method)
        if child is None:
            child = self._active[method] = self.instruments.active_requests.labels(method)
        return child

    def request_started(self, method: str) -> None:
        self._active_child(method).inc()

    def request_finished(self, outcome: RequestOutcome) -> None:
        self._active_child(outcome.method).dec()
        key = (method_label(outcome.method), outcome.route, outcome.status)
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self.instruments.request_duration.labels(
                key[0], route_label(outcome.route), str(outcome.status)
            )
        child.observe(outcome.duration)
