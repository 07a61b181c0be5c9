"""Backup time, the longest write stall during a backup, and restore time, on a real server.

    .venv/bin/python -m bench.backups --mb 100                 # SQLite
    .venv/bin/python -m bench.backups --mb 100 --db postgresql://postgres@127.0.0.1:5432/postgres

A ``keelbase serve`` process gets a ``posts`` collection filled to about
``--mb`` megabytes (written straight into the database, which is quick), then
``--writers`` clients create posts at a steady pace while ``POST /api/backups``
runs. Each write's latency is kept with its start time; the report compares
writes during the backup with writes without one (before it, and as long again
after it). A ``Sampler`` process records every 50 ms where the time goes; with
the server's log of each backup step, the report tells, per step and for the
ten slowest writes during the backup, what the server, the backup's children,
PostgreSQL and the rest of the machine did then (``--trace``/``--analyse``).
Then the backup is restored (``POST /api/backups/{key}/restore``) and timed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ADMIN, free_port, fresh_postgres

ROW_BYTES = 1000
BEFORE = 5  # seconds of writes before the backup


def keelbase(*args: str) -> list[str]:
    return [sys.executable, "-m", "keelbase", *args]


async def create_collection(data: Path, db_url: str) -> None:
    from keelbase import App, Config

    async with App(Config(data_dir=data, db_url=db_url)) as app:
        await app.collections.create({"name": "posts", "type": "base", "listRule": "",
            "createRule": "", "fields": [{"name": "title", "type": "text"},
            {"name": "body", "type": "text", "max": 100000},
            {"name": "created", "type": "autodate", "onCreate": True},
            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True}]})  # fmt: skip


def rows(count: int) -> list[tuple[str, str, str, str, str]]:
    now = "2026-01-01 00:00:00.000Z"
    return [
        (secrets.token_hex(8)[:15], f"seed {n}", secrets.token_hex(ROW_BYTES // 2), now, now)
        for n in range(count)
    ]


def seed_sqlite(data: Path, count: int) -> None:
    import sqlite3

    conn = sqlite3.connect(data / "data.db")
    for start in range(0, count, 10_000):
        conn.executemany(
            'INSERT INTO "posts" ("id", "title", "body", "created", "updated") VALUES (?,?,?,?,?)',
            rows(min(10_000, count - start)),
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def seed_postgres(db_url: str, count: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        for start in range(0, count, 10_000):
            await conn.copy_records_to_table(
                "posts",
                records=rows(min(10_000, count - start)),
                columns=["id", "title", "body", "created", "updated"],
            )
    finally:
        await conn.close()


class Sampler:
    """What the machine, the server, its backup children and PostgreSQL do, every ``PERIOD``.

    Runs in a process of its own (spawned), so that its work neither waits for nor
    delays the benchmark's clients. Each sample is one JSON line in ``out``:
    ``t`` (unix time), ``load`` (1-minute load average), ``psi`` (the kernel's
    cumulative pressure stall microseconds: ``cpu``, ``io``, ``io_full``),
    ``procs`` (``{pid: [role, cpu_ns, run_delay_ns]}`` summed over threads:
    ``server`` and its ``child``ren, the benchmark's ``client``, PostgreSQL
    ``backend``s of the database and its ``bg`` processes), and on PostgreSQL ``pg``
    (active backends: pid, type, wait event type and event, the query's start)
    and ``locks`` (lock requests not granted).
    """

    PERIOD = 0.05
    SCAN = 0.5  # how often the process tree is listed again


def _schedstat(pid: int) -> tuple[int, int, int]:
    """CPU time (ns, in ticks of 10 ms, threads that ended included), time spent waiting
    for a CPU (ns, run queue, over the live threads) and bytes read from or written to
    the disk (written: when dirtied in the page cache)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0, 0
    io = 0
    with contextlib.suppress(OSError), open(f"/proc/{pid}/io") as handle:
        counters = dict(line.split(": ") for line in handle.read().splitlines())
        io = int(counters["read_bytes"]) + int(counters["write_bytes"])
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) * 10_000_000
    delay = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                delay += int(handle.read().split()[1])
        except OSError:
            continue
    return cpu, delay, io


def _tree(root: int) -> dict[int, str]:
    """The descendants of ``root``: ``child`` for backup children (multiprocessing), else ``server``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found = {root: "server"}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        cmdline = handle.read()
                except OSError:
                    continue
                found[pid] = "child" if b"multiprocessing" in cmdline else "server"
                grew = True
    return found


def _psi() -> dict[str, int]:
    found: dict[str, int] = {}
    for kind in ("cpu", "io"):
        try:
            with open(f"/proc/pressure/{kind}") as handle:
                for line in handle:
                    level, *pairs = line.split()
                    total = int(dict(p.split("=") for p in pairs)["total"])
                    found[kind if level == "some" else f"{kind}_{level}"] = total
        except OSError:
            pass
    return found


PG_ACTIVITY = """SELECT pid, backend_type, state, wait_event_type, wait_event, left(query, 60),
    datname = current_database() FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND (datname = current_database() OR datname IS NULL)"""
PG_LOCKS = (
    """SELECT pid, locktype, mode, relation::regclass::text FROM pg_locks WHERE NOT granted"""
)


def sample(server: int, client: int, db_url: str, out: str, stop: Any) -> None:
    """In the sampler's process: samples into ``out`` until ``stop`` is set."""
    os.nice(-5) if os.geteuid() == 0 else None  # a late sample blurs the picture

    async def main() -> None:
        conn = None
        if db_url:
            import asyncpg

            conn = await asyncpg.connect(db_url)
            sampler_backend = await conn.fetchval("SELECT pg_backend_pid()")
        exporting: set[int] = set()
        tree: dict[int, str] = {}
        scanned = 0.0
        with open(out, "w") as handle:
            while not stop.is_set():
                now = time.time()
                if now - scanned > Sampler.SCAN:
                    tree = {**_tree(server), client: "client", os.getpid(): "sampler"}
                    scanned = now
                entry: dict[str, Any] = {"t": now}
                with open("/proc/loadavg") as load:
                    entry["load"] = float(load.read().split()[0])
                entry["psi"] = _psi()
                with open("/proc/stat") as stat:  # every CPU's busy time, in ns (ticks of 10 ms)
                    ticks = [int(v) for v in stat.readline().split()[1:]]
                entry["busy"] = (sum(ticks[:8]) - ticks[3] - ticks[4]) * 10_000_000
                with open("/proc/diskstats") as disks:  # bytes read and written, every disk
                    entry["disk"] = sum(
                        (int(f[5]) + int(f[9])) * 512
                        for f in (line.split() for line in disks)
                        if not f[2].startswith(("loop", "ram", "dm-")) and not f[2][-1].isdigit()
                    )
                roles = dict(tree)
                if conn is not None:
                    activity = await conn.fetch(PG_ACTIVITY)
                    for pid, _kind, _state, _wtype, _wevent, query, ours in activity:
                        if (query or "").startswith("SELECT r.*"):
                            exporting.add(pid)  # the backend that reads for the export
                        roles[pid] = "export" if pid in exporting else "backend" if ours else "bg"
                    roles[sampler_backend] = "sampler"
                    entry["pg"] = [
                        list(row)[:6] for row in activity if row[2] not in (None, "idle")
                        or row[3] not in (None, "Activity")
                    ]  # fmt: skip
                    entry["locks"] = [list(row) for row in await conn.fetch(PG_LOCKS)]
                entry["procs"] = {pid: [role, *_schedstat(pid)] for pid, role in roles.items()}
                handle.write(json.dumps(entry) + "\n")
                await asyncio.sleep(max(0.0, Sampler.PERIOD - (time.time() - now)))
        if conn is not None:
            await conn.close()

    asyncio.run(main())


def phases_from_log(log: Path) -> list[tuple[str, float, float]]:
    """The backup's phases as the server logged them (``--log-format json``)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if '"backup_phase"' not in line:
            continue
        entry = json.loads(line)
        found.append((entry["backup_phase"], entry["phase_start"], entry["phase_end"]))
    return sorted(found, key=lambda phase: phase[1])


class Trace:
    """The samples, read back, and what they say about a moment of the run."""

    def __init__(self, samples: list[dict[str, Any]]) -> None:
        self.samples = samples
        self.times = [s["t"] for s in samples]
        # A process's role: a child is listed as the server until it runs its own command.
        self.roles: dict[str, str] = {}
        for sampled in samples:
            for pid, (role, *_values) in sampled["procs"].items():
                if self.roles.get(pid) not in ("child", "export"):
                    self.roles[pid] = role

    def _index(self, moment: float) -> int:
        import bisect

        return max(0, min(len(self.samples) - 1, bisect.bisect_left(self.times, moment)))

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Figures from the last sample at or before ``start`` to the first at or after ``end``."""
        first = max(0, self._index(start) - (1 if self.times[self._index(start)] > start else 0))
        last = self._index(end)
        a, b = self.samples[first], self.samples[last]
        seconds = max(b["t"] - a["t"], 1e-3)
        used: dict[str, float] = {}
        waited: dict[str, float] = {}
        latest: dict[str, list[Any]] = {}
        for sampled in self.samples[first : last + 1]:
            for pid, values in sampled["procs"].items():
                if values[1] or values[2]:  # not gone: a process counts until its last sample
                    seen = latest.get(pid)
                    latest[pid] = (
                        values if seen is None else [values[0], *map(max, seen[1:], values[1:])]
                    )
        io: dict[str, float] = {}
        for pid, (_role, cpu, delay, *rest) in latest.items():
            role = self.roles[pid]
            before = a["procs"].get(pid)
            if before is None and role in ("server", "client", "bg", "sampler"):
                continue  # seen only later: its totals since it started are not this window's
            cpu0, delay0, *rest0 = before[1:] if before else (0, 0, 0)
            used[role] = used.get(role, 0.0) + (cpu - cpu0) / 1e6
            waited[role] = waited.get(role, 0.0) + (delay - delay0) / 1e6
            if rest:
                io[role] = io.get(role, 0.0) + (rest[0] - (rest0[0] if rest0 else 0)) / 1e6
        busy = (b.get("busy", 0) - a.get("busy", 0)) / 1e6
        used["others"] = max(0.0, busy - sum(used.values()))
        io["disk"] = (b.get("disk", 0) - a.get("disk", 0)) / 1e6
        waits: dict[str, int] = {}
        locks: set[str] = set()
        for sampled in self.samples[first : last + 1]:
            for _pid, kind, _state, wtype, wevent, query in sampled.get("pg", []):
                if wtype in (None, "Activity") or wevent == "ClientRead":
                    continue
                export = "export " if (query or "").startswith("SELECT r.*") else ""
                tag = f"{export}{kind}:{wtype}:{wevent}"
                waits[tag] = waits.get(tag, 0) + 1
            for pid, locktype, mode, relation in sampled.get("locks", []):
                locks.add(f"{pid} {locktype} {mode} {relation}")
        psi = {k: (b["psi"].get(k, 0) - a["psi"].get(k, 0)) / 1e3 for k in b["psi"]}
        return {
            "seconds": seconds,
            "load": max(s["load"] for s in self.samples[first : last + 1]),
            "cpu_ms": used,
            "runq_ms": waited,
            "psi_ms": psi,
            "io_mb": io,
            "waits": waits,
            "locks": sorted(locks),
        }


def describe(figures: dict[str, Any]) -> str:
    def roles(values: dict[str, float]) -> str:
        return " ".join(f"{k} {v:.0f}" for k, v in sorted(values.items()) if v >= 1) or "-"

    waits = ", ".join(f"{k} x{n}" for k, n in sorted(figures["waits"].items(), key=lambda x: -x[1]))
    return (
        f"load {figures['load']:.1f}; cpu ms: {roles(figures['cpu_ms'])}; "
        f"run-queue wait ms: {roles(figures['runq_ms'])}; "
        f"psi ms: {roles(figures['psi_ms'])}; io MB: {roles(figures.get('io_mb', {}))}; "
        f"pg waits: {waits or '-'}"
        + (f"; locks not granted: {figures['locks']}" if figures["locks"] else "")
    )


def report(
    writes: list[tuple[float, float]],
    begin: float,
    end: float,
    phases: list[tuple[str, float, float]],
    trace: Trace,
    after: float,
) -> None:
    """The per-phase figures and the ten slowest writes during the backup, with what went on."""
    out = sys.stderr

    def phase_of(start: float, finish: float) -> str:
        overlap = [(min(finish, b) - max(start, a), name) for name, a, b in phases]
        best = max(overlap, default=(0.0, ""))
        return best[1] if best[0] > 0 else "(between phases)"

    def latencies(a: float, b: float) -> list[float]:
        return [f - s for s, f in writes if s < b and f > a]

    print(
        "\nphase            seconds  writes   p50 ms   p99 ms   max ms | evidence over the phase",
        file=out,
    )
    rows = (
        [("before", begin - 3, begin)]
        + [(n, a, b) for n, a, b in phases]
        + [("backup", begin, end)]
    )
    for name, a, b in rows:
        lat = sorted(latencies(a, b))
        p50, p99, top = (_quantile(lat, q) * 1000 for q in (0.5, 0.99, 1.0))
        print(f"{name:15} {b - a:8.2f} {len(lat):7d} {p50:8.1f} {p99:8.0f} {top:8.0f} | "
              f"{describe(trace.window(a, b))}", file=out)  # fmt: skip
    during = sorted(((f - s, s, f) for s, f in writes if s < end and f > begin), reverse=True)
    print("\nslowest writes during the backup:", file=out)
    for latency, s, f in during[:10]:
        print(f"{latency * 1000:6.0f} ms at +{s - begin:6.2f}s in {phase_of(s, f):15} | "
              f"{describe(trace.window(s, f))}", file=out)  # fmt: skip


async def load_and_backup(
    url: str,
    token: str,
    writers: int,
    pace: float,
    restore: bool = True,
    server: int = 0,
    db_url: str = "",
    log: Path | None = None,
    trace_file: Path | None = None,
    after: float = 60,
) -> dict[str, float]:
    """Writers at a steady pace; a backup in the middle; latencies during it, and without
    one: ``BEFORE`` seconds before it and as long as it took (at most ``after``) after it."""
    import multiprocessing

    results: list[tuple[float, float]] = []
    stop = asyncio.Event()
    headers = {"Authorization": token}
    samples = Path(tempfile.mkstemp(prefix="kb-bench-samples-")[1])
    context = multiprocessing.get_context("spawn")
    stop_sampling = context.Event()
    sampler = context.Process(
        target=sample, args=(server, os.getpid(), db_url, str(samples), stop_sampling)
    )
    sampler.start()

    async def writer(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            started = time.time()
            answer = await client.post(
                "/api/collections/posts/records", json={"title": "load", "body": "x" * 200}
            )
            assert answer.status_code == 200, answer.text
            results.append((started, time.time()))
            await asyncio.sleep(max(0.0, pace - (time.time() - started)))

    async with httpx.AsyncClient(base_url=url, timeout=1200) as client:
        tasks = [asyncio.create_task(writer(client)) for _ in range(writers)]
        await asyncio.sleep(BEFORE)
        begin = time.time()
        made = await client.post("/api/backups", headers=headers, json={"name": "bench.zip"})
        end = time.time()
        assert made.status_code == 204, made.text
        await asyncio.sleep(min(end - begin, after))  # as long again, without a backup
        stop.set()
        await asyncio.gather(*tasks)
        stop_sampling.set()
        sampler.join(30)
        without = sorted(f - s for s, f in results if f < begin or s > end)
        during = sorted(f - s for s, f in results if s < end and f > begin)
        loaded = [json.loads(line) for line in samples.read_text().splitlines() if line]
        samples.unlink()
        phases = phases_from_log(log) if log is not None else []
        if trace_file is not None:
            trace_file.write_text(json.dumps({"writes": results, "begin": begin, "end": end,
                "phases": phases, "samples": loaded}))  # fmt: skip
        trace = Trace(loaded)
        report(results, begin, end, phases, trace, min(end - begin, after))
        size = next(b["size"] for b in (await client.get("/api/backups", headers=headers)).json())
        restore_seconds = float("nan")
        if restore:
            restore_start = time.monotonic()
            restored = await client.post("/api/backups/bench.zip/restore", headers=headers)
            restore_seconds = time.monotonic() - restore_start
            assert restored.status_code == 204, restored.text
    return {
        "backup_s": end - begin,
        "backup_mb": size / 1e6,
        "writes_during": len(during),
        "without_p50_ms": _quantile(without, 0.5) * 1000,
        "without_p99_ms": _quantile(without, 0.99) * 1000,
        "without_max_ms": without[-1] * 1000,
        "during_p50_ms": _quantile(during, 0.5) * 1000,
        "during_p99_ms": _quantile(during, 0.99) * 1000,
        "during_max_ms": during[-1] * 1000 if during else 0,
        "restore_s": restore_seconds,
        "load_without": trace.window(begin - BEFORE, begin)["load"],
        "load_during": trace.window(begin, end)["load"],
    }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def run(
    mb: int,
    db_url: str,
    writers: int,
    pace: float,
    port: int = 0,
    restore: bool = True,
    trace_file: Path | None = None,
    after: float = 60,
) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="kb-bench-backups-"))
    data = work / "kb_data"
    extra = ["--db", db_url] if db_url else []
    try:
        subprocess.run(keelbase("superuser", "upsert", *ADMIN, "--dir", str(data), *extra),
                       check=True, capture_output=True)  # fmt: skip
        asyncio.run(create_collection(data, db_url))
        count = mb * 1_000_000 // (ROW_BYTES + 100)
        seeded = time.monotonic()
        if db_url:
            asyncio.run(seed_postgres(db_url, count))
        else:
            seed_sqlite(data, count)
        print(f"seeded {count} posts in {time.monotonic() - seeded:.1f}s", file=sys.stderr)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        with open(work / "server.log", "wb") as log:
            server = subprocess.Popen(
                keelbase("serve", "--workers", "1", "--log-format", "json", "--http", f"127.0.0.1:{port}", "--dir", str(data), *extra),
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            try:
                for _ in range(200):
                    try:
                        httpx.get(url + "/api/health", timeout=1)
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                token = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                    json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
                return asyncio.run(load_and_backup(url, token, writers, pace, restore,
                    server.pid, db_url, work / "server.log", trace_file, after))  # fmt: skip
            finally:
                server.terminate()
                server.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="about this many MB of records")
    parser.add_argument("--db", default="", help="a postgresql:// URL (a fresh database is made)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between a writer's posts")
    parser.add_argument("--port", type=int, default=0, help="the server's port (a free one if 0)")
    parser.add_argument("--no-restore", action="store_true", help="time the backup only")
    parser.add_argument("--after", type=float, default=60,
        help="writes go on after the backup as long as it took, at most this many seconds")  # fmt: skip
    parser.add_argument(
        "--trace", type=Path, help="keep the writes, phases and samples here (JSON)"
    )
    parser.add_argument("--analyse", type=Path, help="only report on a trace kept by --trace")
    args = parser.parse_args()
    if args.analyse:
        kept = json.loads(args.analyse.read_text())
        begin, end = kept["begin"], kept["end"]
        writes = [(s, f) for s, f in kept["writes"]]
        last = max(f for _s, f in writes)
        report(
            writes,
            begin,
            end,
            kept["phases"],
            Trace(kept["samples"]),
            min(last, end + args.after) - end,
        )
        return
    restore = not args.no_restore
    if args.db:
        with fresh_postgres(args.db, f"kb_bench_backups_{os.getpid()}") as url:
            figures = run(
                args.mb, url, args.writers, args.pace, args.port, restore, args.trace, args.after
            )
    else:
        figures = run(
            args.mb, "", args.writers, args.pace, args.port, restore, args.trace, args.after
        )
    store = "postgres" if args.db else "sqlite"
    print(
        "| store | data | backup | zip | writes during | p50 without / during "
        "| p99 without / during | max without / during | restore | load without / during |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    f = figures
    print(f"| {store} | ~{args.mb} MB | {f['backup_s']:.1f} s | {f['backup_mb']:.0f} MB "
          f"| {f['writes_during']:.0f} | {f['without_p50_ms']:.1f} / {f['during_p50_ms']:.1f} ms "
          f"| {f['without_p99_ms']:.0f} / {f['during_p99_ms']:.0f} ms "
          f"| {f['without_max_ms']:.0f} / {f['during_max_ms']:.0f} ms | {f['restore_s']:.1f} s "
          f"| {f['load_without']:.1f} / {f['load_during']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
