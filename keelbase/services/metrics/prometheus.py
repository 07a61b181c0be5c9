"""The Prometheus metrics: their names, and the scrape of one process or of all workers.

With ``keelbase serve --workers N`` every worker writes its figures to files in
``PROMETHEUS_MULTIPROC_DIR`` (the CLI makes a temporary folder per serve and
sets the variable before any worker imports ``prometheus_client``, which picks
its storage at import); whichever worker answers the scrape adds up all of
them. Gauges of workers that died are dropped at the next scrape; their
counters stay in the sums, as counters must.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# OpenTelemetry's advice for http.server.request.duration
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
# Statements and waits take microseconds to seconds.
DB_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
)  # fmt: skip
_FILE_PID = re.compile(r"_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Instruments:
    """One app's Prometheus metrics (in a registry of its own unless workers share files)."""

    def __init__(self) -> None:
        self.directory = multiprocess_dir()
        self.registry = CollectorRegistry()
        target = None if self.directory else self.registry
        # first, so that a worker is counted as soon as any file of its exists
        self.workers = Gauge(
            "keelbase_workers",
            "Worker processes whose figures this scrape adds up.",
            multiprocess_mode="livesum",
            registry=target,
        )
        self.workers.set(1)
        self.request_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=HTTP_BUCKETS,
            registry=target,
        )
        self.active_requests = Gauge(
            "http_server_active_requests",
            "Number of active HTTP server requests.",
            ["http_request_method"],
            multiprocess_mode="livesum",
            registry=target,
        )
        self.realtime_connections = Gauge(
            "keelbase_realtime_connections",
            "Open realtime (SSE) connections.",
            multiprocess_mode="livesum",
            registry=target,
        )
        self.realtime_sent = Counter(
            "keelbase_realtime_events_sent",
            "Realtime messages written to clients' streams.",
            registry=target,
        )
        self.realtime_dropped = Counter(
            "keelbase_realtime_events_dropped",
            "Realtime messages lost because a client stopped reading and was dropped.",
            registry=target,
        )
        self._db_query = Histogram(
            "keelbase_db_query_duration_seconds",
            "Time one SQL statement took, by operation (read or write).",
            ["operation"],
            buckets=DB_BUCKETS,
            registry=target,
        )
        self.db_query_children = {op: self._db_query.labels(op) for op in ("read", "write")}
        self.db_wait = Histogram(
            "keelbase_db_transaction_wait_seconds",
            "Time a transaction waited for the SQLite writer or a PostgreSQL connection.",
            buckets=DB_BUCKETS,
            registry=target,
        )
        self.cron_runs = Counter(
            "keelbase_cron_runs",
            "Cron job runs by job and outcome.",
            ["job", "outcome"],
            registry=target,
        )
        self.mails = Counter(
            "keelbase_mails",
            "Mails by outcome (sent, cancelled, failed).",
            ["outcome"],
            registry=target,
        )
        self.rate_limited = Counter(
            "keelbase_rate_limit_refusals",
            "Requests refused by a rate limit rule (429), by rule.",
            ["rule"],
            registry=target,
        )
        if not self.directory:
            ProcessCollector(registry=self.registry)

    def db_query(self, operation: str) -> Histogram:
        return self.db_query_children[operation]

    def scrape(self) -> bytes:
        """The text exposition of this process, or of every worker of this serve."""
        if not self.directory:
            return generate_latest(self.registry)
        forget_dead_workers(self.directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.directory)
        registry.register(WorkerProcesses(self.directory))
        return generate_latest(registry)

    def close(self) -> None:
        """This worker is leaving: its live gauges go, its counters stay in the sums."""
        if self.directory:
            multiprocess.mark_process_dead(os.getpid(), self.directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_pids(directory: str) -> set[int]:
    pids = set()
    for path in Path(directory).glob("*.db"):
        match = _FILE_PID.search(path.name)
        if match:
            pids.add(int(match.group(1)))
    return pids


def forget_dead_workers(directory: str) -> None:
    for pid in worker_pids(directory):
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


class WorkerProcesses:
    """The process collector's figures (CPU, memory, files) for each live worker, by ``pid``.

    prometheus-client's multiprocess mode leaves the process collector out;
    on Linux it can read any process of ours from ``/proc``, so each live
    worker's figures are collected and labelled with its pid.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in sorted(worker_pids(self.directory)):
            if not _alive(pid):
                continue
            collector = ProcessCollector(pid=_fixed(pid), registry=None)
            for family in collector.collect():
                target = families.get(family.name)
                if target is None:
                    target = families[family.name] = Metric(
                        family.name, family.documentation, family.type
                    )
                for sample in family.samples:
                    target.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from families.values()
