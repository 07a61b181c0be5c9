"""What services report for the metrics: named figures, no Prometheus types.

Services call these methods whatever the settings say; while metrics are off
each call is one attribute check, and ``prometheus_client`` is not even
imported. ``MetricsService`` plugs the Prometheus instruments in when metrics
are turned on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keelbase.services.metrics.prometheus import Instruments


class Meter:
    def __init__(self) -> None:
        self.instruments: Instruments | None = None

    # realtime
    def realtime_connections(self, count: int) -> None:
        if self.instruments is not None:
            self.instruments.realtime_connections.set(count)

    def realtime_sent(self, count: int = 1) -> None:
        if self.instruments is not None and count:
            self.instruments.realtime_sent.inc(count)

    def realtime_dropped(self, count: int) -> None:
        if self.instruments is not None and count:
            self.instruments.realtime_dropped.inc(count)

    # cron, mail, rate limits
    def cron_run(self, job: str, outcome: str) -> None:
        if self.instruments is not None:
            self.instruments.cron_runs.labels(job, outcome).inc()

    def mail(self, outcome: str) -> None:
        if self.instruments is not None:
            self.instruments.mails.labels(outcome).inc()

    def rate_limited(self, rule: str) -> None:
        if self.instruments is not None:
            self.instruments.rate_limited.labels(rule).inc()

    # the store (``StoreTiming``): set on the store only while metrics are on
    def query(self, operation: str, seconds: float) -> None:
        if self.instruments is not None:
            self.instruments.db_query(operation).observe(seconds)

    def transaction_wait(self, seconds: float) -> None:
        if self.instruments is not None:
            self.instruments.db_wait.observe(seconds)
