"""Fan-out beyond one process's open-file limit: subscribers held by several client processes.

One process may hold at most its open-file limit of sockets (20,000 on the machines
these figures come from, and the hard limit cannot be raised there), and one loopback
address has about 28,000 ephemeral ports toward one server port. So for 50,000
streams, each client process here holds a share (under ``PER_PROCESS``) and connects
from its own loopback address (127.0.0.2, .3, ...). The server side has the same
limit per process: Keelbase spreads the streams over its workers.

The parent creates the records and each child times arrivals with the same clock
(``perf_counter`` is the system's monotonic clock, shared by every process).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import time
from multiprocessing.connection import Connection
from pathlib import Path

from bench.realtime import Subscriber
from bench.servers import Server

PER_PROCESS = 15_000  # sockets per client process, well under a 20,000 open-file limit


def groups_for(count: int, per_process: int = PER_PROCESS) -> list[int]:
    """How many streams each client process holds (as even as possible)."""
    processes = max(1, -(-count // per_process))
    share, extra = divmod(count, processes)
    return [share + (1 if i < extra else 0) for i in range(processes)]


def _child(
    conn: Connection, port: int, source: str, count: int, topic: str, cpus: set[int] | None
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_hold(conn, port, source, count, topic))


async def _hold(conn: Connection, port: int, source: str, count: int, topic: str) -> None:
    """Connect ``count`` streams and subscribe them to ``topic``, then answer the parent's
    commands until told to close. Subscriptions go from the streams' own address: both
    servers refuse them from another."""
    import httpx

    from bench.realtime import LIMITS

    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    subscribers = [Subscriber(port, arrivals) for _ in range(count)]
    try:
        for start in range(0, count, 200):
            await asyncio.gather(*(s.connect(source) for s in subscribers[start : start + 200]))
        transport = httpx.AsyncHTTPTransport(local_address=source, limits=LIMITS)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=120
        ) as http:
            semaphore = asyncio.Semaphore(50)

            async def subscribe(s: Subscriber) -> None:
                async with semaphore:
                    r = await http.post(
                        "/api/realtime", json={"clientId": s.client_id, "subscriptions": [topic]}
                    )
                    r.raise_for_status()

            await asyncio.gather(*(subscribe(s) for s in subscribers))
    except (OSError, httpx.HTTPError) as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", count))
    commands: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    gc.collect()
    gc.freeze()
    gc.disable()  # as in the one-process client: no collection while events are timed
    cpu = time.process_time()
    while True:
        command, deadline = await commands.get()
        if command == "arm":
            arrivals.clear()
            conn.send(("armed", 0.0))
        elif command == "collect":
            while len(arrivals) < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            conn.send(("arrivals", list(arrivals)))
        elif command == "cpu":
            conn.send(("cpu", time.process_time() - cpu))
        else:
            break
    loop.remove_reader(conn.fileno())
    for s in subscribers:
        s.close()
    await asyncio.sleep(0.2)


class Clients:
    """The child processes holding ``count`` streams to the server on ``port``."""

    def __init__(
        self,
        port: int,
        count: int,
        topic: str,
        per_process: int = PER_PROCESS,
        cpus: set[int] | None = None,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.links: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for index, share in enumerate(groups_for(count, per_process)):
            parent, child = context.Pipe()
            process = context.Process(
                target=_child,
                args=(child, port, f"127.0.0.{index + 2}", share, topic, cpus),
                daemon=True,
            )
            process.start()
            self.links.append(parent)
            self.processes.append(process)

    def ready(self, timeout: float = 300) -> int:
        """Wait until every process connected and subscribed its streams; how many in all."""
        total = 0
        for link in self.links:
            if not link.poll(timeout):
                raise TimeoutError("a client process did not connect its streams in time")
            kind, value = link.recv()
            if kind == "error":
                raise ConnectionError(f"a client process could not connect: {value}")
            total += value
        return total

    def arm(self) -> None:
        for link in self.links:
            link.send(("arm", 0.0))
        for link in self.links:
            link.recv()

    def arrivals(self, deadline: float) -> list[float]:
        for link in self.links:
            link.send(("collect", deadline))
        found: list[float] = []
        for link in self.links:
            found.extend(link.recv()[1])
        return found

    def cpu_seconds(self) -> float:
        for link in self.links:
            link.send(("cpu", 0.0))
        return sum(link.recv()[1] for link in self.links)

    def close(self) -> None:
        for link in self.links:
            with contextlib.suppress(OSError):
                link.send(("close", 0.0))
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


async def fan_out_spread(
    server: Server, count: int, events: int, per_process: int = PER_PROCESS
) -> dict[str, object]:
    """As ``realtime.fan_out``, with the streams held by ``Clients`` and every core shared."""
    import httpx

    from bench.realtime import LIMITS, percentile

    headers = {"Authorization": server.token}
    name = f"feed{count}"
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=LIMITS) as http:
        created = await http.post("/api/collections", headers=headers, json={
            "name": name, "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
        created.raise_for_status()
        rss_before = server.rss_mb()
        clients = Clients(server.port, count, f"{name}/*", per_process)
        try:
            clients.ready()
            await asyncio.sleep(1)
            rss_connected = server.rss_mb()
            streams = _streams_per_process(server)
            cpu_server = server.cpu_seconds()
            cpu_clients = clients.cpu_seconds()
            delays: list[float] = []
            began = time.perf_counter()
            for n in range(events):
                clients.arm()
                t0 = time.perf_counter()
                r = await http.post(f"/api/collections/{name}/records", json={"n": n})
                r.raise_for_status()
                delays.extend((t - t0) * 1000 for t in clients.arrivals(time.perf_counter() + 30))
            elapsed = time.perf_counter() - began
            server_cpu = server.cpu_seconds() - cpu_server
            client_cpu = clients.cpu_seconds() - cpu_clients
        finally:
            clients.close()
    await asyncio.sleep(0.5)
    return {
        "subscribers": count,
        "events": events,
        "delivered": len(delays),
        "expected": count * events,
        "events_per_s": len(delays) / elapsed,
        "p50_ms": percentile(delays, 0.5),
        "p99_ms": percentile(delays, 0.99),
        "mb_per_1000": (rss_connected - rss_before) / count * 1000,
        "server_rss_mb": rss_connected,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_event": server_cpu / events * 1000,
        "server_cpu_us_per_delivery": server_cpu / max(1, len(delays)) * 1e6,
        # of one core: the client processes' CPU over the timed events
        "client_cpu_pct": 100 * client_cpu / elapsed,
        "client_processes": len(clients.processes),
        "streams_per_server_process": streams,
        "loadavg": float(Path("/proc/loadavg").read_text().split()[0]),
    }


def _streams_per_process(server: Server) -> list[int]:
    """Open sockets of each server process holding more than a few (its share of streams)."""
    counts = []
    for pid in server.processes():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        sockets = 0
        for fd in fds:
            try:
                sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
            except OSError:
                continue
        if sockets > 50:
            counts.append(sockets)
    return sorted(counts, reverse=True)
