"""The figures of docs/observability.md, measured again: ``python -m bench.observability``.

    python -m bench.observability cost   [--rounds 4] [--duration 5] [--concurrency 32]
    python -m bench.observability inproc [--rounds 12] [--views 3000]
    python -m bench.observability lag    [--seconds 12] [--concurrency 32]
    python -m bench.observability api    [--rows 1000000] [--db postgresql://...]
    python -m bench.observability memory [--requests 1000000] [--concurrency 32]
    python -m bench.observability smoke  (a few seconds of each, for the test suite)

- ``cost``: requests/s of the ``view`` and ``create`` workloads of ``make bench``
  with request logging on (``logs.maxDays: 5``) and off (``maxDays: 0``), in
  alternating order round after round on one server, and the server's CPU time
  per request (steadier than requests/s on a shared machine).
- ``inproc``: the same comparison for record views sent to the app in-process
  (no HTTP server, no wrk): the process's CPU time per view, the client's
  included, with logging on and off, alternating; the writer's batches are
  written (and counted) before each round ends.
- ``lag``: how far the newest log entry trails its request under load (wrk on
  ``/api/health``), and whether every answered request got its entry.
- ``api``: ``/api/logs`` list, view and stats times with ``--rows`` entries
  inserted straight into ``auxiliary.db`` (or the ``_logs`` table of a fresh
  PostgreSQL database with ``--db``), in-process.
- ``memory``: the server's resident memory (RSS) while wrk sends ``--requests``
  record views, sampled every 250,000 requests (and between wrk runs).

The server is pinned to core 0 and wrk to core 1 (``taskset``) and listens on
``--port`` (a free one when 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench import logs_api, logs_lag
from bench.__main__ import (
    LUA,
    WORKLOADS,
    Workload,
    modes,
    run_wrk,
    seed,
    setup_collections,
    use_logs,
)
from bench.servers import Server, fresh_postgres


def _workload(name: str) -> Workload:
    return next(w for w in WORKLOADS if w.name == name)


def cost(
    workdir: Path, port: int, seeds: int, rounds: int, duration: float, concurrency: int
) -> list[dict[str, object]]:
    """Rows of (workload, logs, round, rps, p50, p99, errors, cpu µs per request)."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server("keelbase", workdir, cpu=0, port=port, workers=1)
    pinned = modes(["pinned"])[0]  # the server on the first core, wrk on the second
    rows: list[dict[str, object]] = []
    try:
        setup_collections(server)
        ids = seed(server, seeds, random.Random(seeds))
        ids_file = workdir / "posts.txt"
        ids_file.write_text("\n".join(ids["posts"]) + "\n")
        for round_number in range(rounds):
            order = [True, False] if round_number % 2 == 0 else [False, True]
            for name in ("view", "create"):
                workload = _workload(name)
                for on in order:
                    use_logs(server, on)
                    cpu = server.cpu_seconds()
                    rps, p50, p99, errors = run_wrk(
                        server, workload, ids_file if workload.ids else None,
                        concurrency, duration, "", pinned,
                    )  # fmt: skip
                    used = server.cpu_seconds() - cpu
                    row = {
                        "workload": name, "logs": "on" if on else "off", "round": round_number,
                        "rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors,
                        "cpu_us_per_request": used / max(rps * duration, 1) * 1e6,
                    }  # fmt: skip
                    rows.append(row)
                    print(row, flush=True)
    finally:
        server.stop()
    return rows


def cost_table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| workload | logs on rps (median) | logs off rps (median) | on/off "
        "| CPU µs per request on / off (median) | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("view", "create"):

        def med(logs: str, key: str, name: str = name) -> float:
            values = [
                float(str(r[key])) for r in rows if r["workload"] == name and r["logs"] == logs
            ]
            return statistics.median(values) if values else float("nan")

        on, off = med("on", "rps"), med("off", "rps")
        count = sum(1 for r in rows if r["workload"] == name and r["logs"] == "on")
        lines.append(
            f"| {name} | {on:.0f} | {off:.0f} | {on / off:.3f} "
            f"| {med('on', 'cpu_us_per_request'):.0f} / {med('off', 'cpu_us_per_request'):.0f} "
            f"| {count} |"
        )
    return "\n".join(lines)


async def _inproc(rounds: int, requests: int) -> dict[bool, list[float]]:
    from keelbase import App, Config

    admin = {"identity": "bench@example.com", "password": "Passw0rd123"}
    with tempfile.TemporaryDirectory() as tmp:
        async with App(Config(data_dir=Path(tmp) / "kb_data")) as app:
            await app.superusers.upsert(admin["identity"], admin["password"])
            transport = httpx.ASGITransport(app=app.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
                signed = await client.post(
                    "/api/collections/_superusers/auth-with-password", json=admin
                )
                headers = {"Authorization": signed.json()["token"]}
                made = await client.post("/api/collections", headers=headers, json={
                    "name": "posts", "listRule": "", "viewRule": "", "createRule": "",
                    "fields": [{"name": "title", "type": "text"}]})  # fmt: skip
                made.raise_for_status()
                ids = []
                for n in range(200):
                    created = await client.post(
                        "/api/collections/posts/records", json={"title": f"post {n}"}
                    )
                    ids.append(created.json()["id"])
                cpu: dict[bool, list[float]] = {True: [], False: []}
                for round_number in range(rounds):
                    for on in [True, False] if round_number % 2 == 0 else [False, True]:
                        if not on:  # as use_logs: the deletion is not charged to the run
                            (await client.delete("/api/logs", headers=headers)).raise_for_status()
                        logs = {"logs": {"maxDays": 5 if on else 0}}
                        (
                            await client.patch("/api/settings", headers=headers, json=logs)
                        ).raise_for_status()
                        await asyncio.sleep(0.5)
                        await app.logs.flush()
                        started = time.process_time()
                        for n in range(requests):
                            await client.get(f"/api/collections/posts/records/{ids[n % len(ids)]}")
                        await app.logs.flush()
                        cpu[on].append((time.process_time() - started) / requests * 1e6)
                        print(
                            f"round {round_number} logs {'on ' if on else 'off'} {cpu[on][-1]:.1f} µs per view",
                            flush=True,
                        )
    return cpu


def inproc(rounds: int, requests: int) -> str:
    cpu = asyncio.run(_inproc(rounds, requests))
    on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
    return (
        f"median CPU per record view, in-process: logs on {on:.1f} µs, off {off:.1f} µs "
        f"({100 * (on / off - 1):+.1f} %, {rounds} rounds of {requests})"
    )


def _wrk_count(server: Server, path: str, ids_file: Path, concurrency: int, seconds: int) -> int:
    """Run wrk for ``seconds`` on ``path`` with ids from ``ids_file``: how many answers it read."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(LUA), server.url]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "1", *command]
    env = {**os.environ, "KB_PATH": path, "KB_METHOD": "GET", "KB_IDS": str(ids_file)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("KB_RESULT")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    requests, _p50, _p99, errors, _duration = (int(x) for x in line.split()[1:])
    if errors:
        raise RuntimeError(f"{errors} errors from wrk")
    return requests


def memory(
    workdir: Path, port: int, requests: int, concurrency: int, chunk: int
) -> list[tuple[int, float, float]]:
    """(requests served, RSS MB, seconds since the first request) after each wrk run."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server("keelbase", workdir, cpu=0, port=port)
    samples: list[tuple[int, float, float]] = []
    try:
        setup_collections(server)
        ids = seed(server, 1000, random.Random(1))
        ids_file = workdir / "posts.txt"
        ids_file.write_text("\n".join(ids["posts"]) + "\n")
        path = _workload("view").path
        _wrk_count(server, path, ids_file, concurrency, 2)  # warm up: caches, first batches
        time.sleep(2)
        started = time.monotonic()
        served = 0
        samples.append((served, server.rss_mb(), 0.0))
        print(f"{served:>9} requests  RSS {samples[-1][1]:.1f} MB", flush=True)
        while served < requests:
            served += _wrk_count(server, path, ids_file, concurrency, chunk)
            samples.append((served, server.rss_mb(), time.monotonic() - started))
            print(
                f"{served:>9} requests  RSS {samples[-1][1]:.1f} MB  ({samples[-1][2]:.0f} s)",
                flush=True,
            )
        time.sleep(2)  # the last log batches
        kept = httpx.get(
            server.url + "/api/logs", params={"perPage": 1},
            headers={"Authorization": server.token}, timeout=120,
        ).json()["totalItems"]  # fmt: skip
        print(f"log entries kept: {kept}; peak RSS {server.peak_rss_mb():.1f} MB", flush=True)
    finally:
        server.stop()
    return samples


def memory_table(samples: list[tuple[int, float, float]], step: int) -> str:
    lines = ["| requests served | RSS MB |", "|---|---|"]
    mark = 0
    for served, rss, _ in samples:
        if served >= mark:
            lines.append(f"| {served:,} | {rss:.1f} |")
            while mark <= served:
                mark += step
    return "\n".join(lines)


def api(rows: int, repeat: int, db: str) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "kb_data"
        if not db:
            return logs_api.run(data_dir, rows, repeat, "")
        with fresh_postgres(db, f"kb_bench_logs_{rows}") as url:
            return logs_api.run(data_dir, rows, repeat, url)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("cost", "inproc", "lag", "api", "memory", "smoke"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=10_000, help="cost: posts seeded")
    parser.add_argument("--rounds", type=int, default=0, help="cost: 4, inproc: 12")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=12, help="lag: seconds of load")
    parser.add_argument("--rows", type=int, default=1_000_000, help="api: log entries")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", default="", help="api: a PostgreSQL URL to make a database from")
    parser.add_argument("--requests", type=int, default=1_000_000, help="memory: requests")
    parser.add_argument("--views", type=int, default=3000, help="inproc: views per round")
    parser.add_argument("--chunk", type=int, default=15, help="memory: seconds per wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None and args.what != "api":
        print("wrk is not installed (Debian: apt-get install wrk)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.what == "cost":
            rounds = args.rounds or 4
            rows = cost(workdir, args.port, args.seeds, rounds, args.duration, args.concurrency)
            print(cost_table(rows))
        elif args.what == "inproc":
            print(inproc(args.rounds or 12, args.views))
        elif args.what == "lag":
            print(logs_lag.measure(workdir, args.seconds, args.concurrency, args.port))
        elif args.what == "api":
            print(logs_api.table(api(args.rows, args.repeat, args.db)))
        elif args.what == "memory":
            samples = memory(workdir, args.port, args.requests, args.concurrency, args.chunk)
            print(memory_table(samples, max(args.requests // 4, 1)))
        else:
            rows = cost(workdir / "cost", args.port, 200, 2, 1, 8)
            print(cost_table(rows))
            print(inproc(2, 200))
            print(logs_lag.measure(workdir / "lag", 3, 8, args.port))
            print(logs_api.table(api(2000, 1, "")))
            samples = memory(workdir / "memory", args.port, 2000, 8, 1)
            print(memory_table(samples, 500))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
