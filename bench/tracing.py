"""What tracing costs: requests/s with OpenTelemetry off, on (exporting to a local
receiver), and on with one trace in ten sampled.

    python -m bench.tracing [--seed 2000] [--concurrency 32] [--duration 10] [--rounds 3]
                            [--workloads view,create] [--baseline /path/to/other/checkout]

Each variant is its own ``keelbase serve`` with the same data, pinned to core 0
with wrk on core 1; the workloads run on each in turn, ``--rounds`` times. With
``--baseline`` a checkout of another commit (``git archive main | tar -x -C DIR``)
runs too, to show that the off path costs what no seam at all costs. Run it from
outside the repository, with ``PYTHONPATH`` naming this checkout, so each server
imports the code its variant names.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.__main__ import WORKLOADS, modes, run_wrk, seed, setup_collections
from bench.servers import Server

HERE = Path(__file__).resolve().parent.parent


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that takes every export and keeps a count of them."""
    received = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received[0] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        print(f"# the OTLP sink received {received[0]} exports")


def start(variant: str, workdir: Path, source: Path, sink: str) -> Server:
    env = dict(os.environ)
    os.environ["PYTHONPATH"] = str(source)
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"):
        os.environ.pop(name, None)
    if variant.startswith("otel"):
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink
    if variant == "otel-10%":
        os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        os.environ["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
    try:
        folder = workdir / variant
        folder.mkdir()
        return Server("keelbase", folder, cpu=0, workers=1)
    finally:
        os.environ.clear()
        os.environ.update(env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", default="view,create")
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    variants = {"off": HERE, "otel": HERE, "otel-10%": HERE}
    if args.baseline is not None:
        variants = {"baseline": args.baseline.resolve(), **variants}
    workloads = [w for w in WORKLOADS if w.name in args.workloads.split(",")]
    rps: dict[tuple[str, str], list[float]] = {}
    pinned = modes(["pinned"])[0]  # the servers on the first core, wrk on the second
    with otlp_sink() as sink, tempfile.TemporaryDirectory() as tmp:
        servers = {name: start(name, Path(tmp), source, sink) for name, source in variants.items()}
        try:
            ids: dict[str, list[str]] = {}
            for server in servers.values():
                setup_collections(server)
                ids = seed(server, args.seed, random.Random(7))
            ids_file = Path(tmp) / "ids.txt"
            ids_file.write_text("\n".join(ids["posts"]) + "\n")
            for round_number in range(args.rounds):
                for workload in workloads:
                    for name, server in servers.items():
                        result = run_wrk(server, workload, ids_file if "{id}" in workload.path else None,
                                         args.concurrency, args.duration, "", pinned)  # fmt: skip
                        rps.setdefault((workload.name, name), []).append(result[0])
                        print(f"round {round_number + 1} {workload.name:8} {name:8} "
                              f"{result[0]:8.0f} req/s  p50 {result[1]:.2f} ms  p99 {result[2]:.2f} ms  "
                              f"errors {result[3]}", flush=True)  # fmt: skip
        finally:
            for server in servers.values():
                server.stop()
    print("\n| workload | " + " | ".join(variants) + " |")
    print("|---|" + "---|" * len(variants))
    for workload in workloads:
        cells = [f"{statistics.median(rps[(workload.name, name)]):.0f}" for name in variants]
        print(f"| {workload.name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
