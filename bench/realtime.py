"""Realtime fan-out: N SSE subscribers on one node, Keelbase and PocketBase in one run.

    .venv/bin/python -m bench.realtime [--subscribers 1000,10000] [--events 20] [--cycles 10000]

For each server and subscriber count: connect N streams (bare asyncio protocols,
so the load client stays light), subscribe each to ``feed/*``, create records
one by one and time each event from the moment the create is sent to its
arrival at every subscriber. Prints delivered events/s, delay p50/p99, the
server's CPU per event, its memory (RSS, and per 1,000 connections), the
client's own CPU use (it must not be the bottleneck) and the machine's load
average (the pinned server shares its core with whatever else runs).
``--cycles`` also measures connect/disconnect churn on Keelbase.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import socket
import tempfile
import time
from pathlib import Path

import httpx

from bench import servers
from bench.servers import Server

# Idle connections are dropped before the server's keep-alive timeout (5 s) could close
# them as a request goes out (an httpx ReadError, once in several runs).
LIMITS = httpx.Limits(max_connections=50, keepalive_expiry=2)


class Subscriber(asyncio.Protocol):
    """One SSE stream read by a bare protocol: no task, reader or buffer per stream.

    Events are sent one at a time and each is awaited at every subscriber before
    the next, so an arrival is counted for the current event without parsing
    JSON: each chunk the socket gives is timed once and its events counted. The
    client stays far from saturating its core, so the delays are the server's.
    """

    def __init__(self, port: int, arrivals: list[float]) -> None:
        self.port = port
        self.arrivals = arrivals
        self.client_id = ""
        self.transport: asyncio.Transport | None = None
        self.opening = b""  # what came before PB_CONNECT's clientId
        self.tail = b""  # the last bytes of the previous chunk: a marker may span two
        self.ready: asyncio.Future[None] | None = None

    async def connect(self, source: str | None = None) -> None:
        """``source``: the loopback address to connect from (each has its own ~28,000
        ephemeral ports toward one server port, so 50,000 streams need several)."""
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: self, "127.0.0.1", self.port, local_addr=(source, 0) if source else None
        )
        self.transport = transport
        transport.write(
            f"GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await self.ready

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if not self.client_id:
            self.opening += data
            for line in self.opening.split(b"\n")[:-1]:  # complete lines only
                if line.startswith(b"data:") and b"clientId" in line:
                    self.client_id = json.loads(line[5:])["clientId"]
                    self.opening = b""
                    if self.ready is not None and not self.ready.done():
                        self.ready.set_result(None)
                    break
            return
        chunk = self.tail + data
        self.tail = data[-7:]
        count = chunk.count(b'"action"')
        if count:
            now = time.perf_counter()
            self.arrivals.extend([now] * count)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(ConnectionError("stream closed before PB_CONNECT"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _cpu_split(pid: int) -> tuple[float, float]:
    """A process's user and system CPU seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def fan_out(server: Server, count: int, events: int) -> dict[str, float]:
    headers = {"Authorization": server.token}
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=LIMITS) as http:
        collection = await http.post("/api/collections", headers=headers, json={
            "name": f"feed{count}", "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
        collection.raise_for_status()
        name = f"feed{count}"
        rss_before = server.rss_mb()
        arrivals: list[float] = []
        subscribers = [Subscriber(server.port, arrivals) for _ in range(count)]
        for start in range(0, count, 200):
            await asyncio.gather(*(s.connect() for s in subscribers[start : start + 200]))
        semaphore = asyncio.Semaphore(50)

        async def subscribe(s: Subscriber) -> None:
            async with semaphore:
                r = await http.post(
                    "/api/realtime", json={"clientId": s.client_id, "subscriptions": [f"{name}/*"]}
                )
                r.raise_for_status()

        await asyncio.gather(*(subscribe(s) for s in subscribers))
        await asyncio.sleep(1)
        rss_connected = server.rss_mb()
        # The client's own 10,000 streams make a full collection of its heap take long
        # enough to show in the delays it measures: none runs while it times events.
        gc.collect()
        gc.freeze()
        gc.disable()
        cpu_client = time.process_time()
        cpu_server = server.cpu_seconds()
        user_server, system_server = _cpu_split(server.server_pid)
        print(json.dumps({"phase": "events", "pid": server.server_pid}), flush=True)
        delays: list[float] = []
        began = time.perf_counter()
        for n in range(events):
            arrivals.clear()
            t0 = time.perf_counter()
            r = await http.post(f"/api/collections/{name}/records", json={"n": n})
            r.raise_for_status()
            # wait until this event reached everyone (or 30 s), then send the next
            deadline = time.perf_counter() + 30
            while len(arrivals) < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            delays.extend((t - t0) * 1000 for t in arrivals)
        elapsed = time.perf_counter() - began
        gc.enable()
        gc.unfreeze()
        delivered = len(delays)
        result = {
            "subscribers": count,
            "events": events,
            "delivered": delivered,
            "expected": count * events,
            "events_per_s": delivered / elapsed,
            "p50_ms": percentile(delays, 0.5),
            "p99_ms": percentile(delays, 0.99),
            "mb_per_1000": (rss_connected - rss_before) / count * 1000,
            "server_rss_mb": rss_connected,
            "server_cpu_s": server.cpu_seconds() - cpu_server,
            "server_cpu_ms_per_event": (server.cpu_seconds() - cpu_server) / events * 1000,
            "server_cpu_us_per_delivery": (server.cpu_seconds() - cpu_server)
            / max(1, delivered)
            * 1e6,
            "server_user_s": _cpu_split(server.server_pid)[0] - user_server,
            "server_system_s": _cpu_split(server.server_pid)[1] - system_server,
            "client_cpu_pct": 100 * (time.process_time() - cpu_client) / elapsed,
            # the machine's other work competes with the pinned server: say how much there was
            "loadavg": float(Path("/proc/loadavg").read_text().split()[0]),
        }
        for s in subscribers:
            s.close()
        await asyncio.sleep(0.5)
        return result


async def churn(server: Server, cycles: int) -> dict[str, float]:
    """Connect and drop ``cycles`` streams; the server's memory must come back down."""
    rss_before = server.rss_mb()
    for start in range(0, cycles, 100):
        batch = [Subscriber(server.port, []) for _ in range(min(100, cycles - start))]
        await asyncio.gather(*(s.connect() for s in batch))
        for s in batch:
            s.close()
        await asyncio.sleep(0)
    await asyncio.sleep(2)
    return {"cycles": cycles, "rss_before_mb": rss_before, "rss_after_mb": server.rss_mb()}


def all_cores(
    kinds: list[str], counts: list[int], events: int, workers: int, per_client: int
) -> list[dict[str, object]]:
    """Each server on every core (Keelbase with ``workers`` workers), the streams held by
    several client processes on the same cores, as on a machine serving everything."""
    from bench.realtime_spread import fan_out_spread

    every = set(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, every)
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            processes = workers if kind == "keelbase" else 1
            label = f"{kind} ({workers} workers)" if kind == "keelbase" else f"{kind} (all cores)"
            server = Server(kind, Path(tmp), workers=workers if kind == "keelbase" else None)
            try:
                for count in counts:
                    # one server process holds at most its open-file limit of sockets
                    if count / processes > files - 500:
                        row: dict[str, object] = {
                            "server": label, "subscribers": count,
                            "skipped": f"{count} streams in {processes} process(es) exceed the "
                            f"open-file limit of {files} per process",
                        }  # fmt: skip
                    else:
                        row = {
                            "server": label,
                            **asyncio.run(fan_out_spread(server, count, events, per_client)),
                        }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                server.stop()
    return rows


def loopback_floor(sends: int = 5000, rounds: int = 5) -> float:
    """The kernel's own cost of one small write to a loopback TCP connection, in µs of the
    server's core (best of ``rounds``).

    On loopback the receiver's half of TCP runs in the sender's system call, so this is
    what a server pays per subscriber and per event whatever it is written in: the floor
    under its delays (at 10,000 subscribers, 10,000 times this before the last one has it).
    """
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})  # the server's core
    listener = socket.create_server(("127.0.0.1", 0))
    pairs: list[tuple[socket.socket, socket.socket]] = []
    try:
        port = listener.getsockname()[1]
        for _ in range(sends):
            near = socket.create_connection(("127.0.0.1", port))
            far, _ = listener.accept()
            far.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pairs.append((far, near))
        chunk = b"x" * 250  # about one event's chunk
        best = float("inf")
        for _ in range(rounds):
            before = time.process_time()
            for far, _near in pairs:
                far.send(chunk)
            best = min(best, time.process_time() - before)
            for _far, near in pairs:
                near.recv(4096)
        return best / sends * 1e6
    finally:
        for far, near in pairs:
            far.close()
            near.close()
        listener.close()
        os.sched_setaffinity(0, affinity)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", default="1000,10000")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=10000)
    parser.add_argument("--servers", default="keelbase,pocketbase")
    parser.add_argument(
        "--allcores",
        default="10000,50000",
        help="subscriber counts for the all-cores mode: servers on every core, the streams "
        "held by several client processes ('' to skip)",
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="Keelbase's --workers in the all-cores mode"
    )
    parser.add_argument(
        "--streams-per-client",
        type=int,
        default=15_000,
        help="streams one client process holds in the all-cores mode (under its open-file limit)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the servers' port (default: any free one)"
    )
    args = parser.parse_args()
    if args.port:
        servers.free_port = lambda: args.port  # type: ignore[assignment]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the server runs on core 0, the client on core 1
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    counts = [int(c) for c in args.subscribers.split(",") if c.strip()]
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    floor_us = (
        loopback_floor(min(5000, (files - 100) // 2))
        if hasattr(os, "sched_setaffinity") and files > 1000
        else float("nan")
    )
    print(json.dumps({"loopback_write_us": floor_us}), flush=True)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.servers.split(",") if counts or args.cycles else []:
            server = Server(kind, Path(tmp), cpu=0)
            try:
                for count in counts:
                    result = asyncio.run(fan_out(server, count, args.events))
                    rows.append({"server": kind, **result})
                    print(json.dumps(rows[-1]), flush=True)
                if kind == "keelbase" and args.cycles:
                    print(
                        json.dumps({"server": kind, **asyncio.run(churn(server, args.cycles))}),
                        flush=True,
                    )
            finally:
                server.stop()
    spread = [int(c) for c in args.allcores.split(",") if c.strip()]
    if spread:
        rows.extend(
            all_cores(
                args.servers.split(","), spread, args.events, args.workers, args.streams_per_client
            )
        )
    print()
    print(
        "| server | subscribers | delivered | events/s | p50 ms | p99 ms | server CPU ms per event"
        " | RSS MB | MB per 1k conns | client CPU % | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['server']} | {row['subscribers']} | skipped: {row['skipped']} |")
            continue
        print(
            f"| {row['server']} | {row['subscribers']} | {row['delivered']}/{row['expected']} | "
            f"{row['events_per_s']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['server_cpu_ms_per_event']:.0f} | {row['server_rss_mb']:.0f} | "
            f"{row['mb_per_1000']:.1f} | {row['client_cpu_pct']:.0f} | {row['loadavg']:.1f} |"
        )
    print()
    print(
        f"The kernel's share of a loopback write on the server's core: {floor_us:.1f} µs, so "
        + ", ".join(
            f"{count * floor_us / 1000:.0f} ms of CPU per event at {count}"
            for count in counts + spread
        )
        + " for any server."
    )


if __name__ == "__main__":
    main()
