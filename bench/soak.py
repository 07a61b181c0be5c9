"""Soak: a real ``keelbase serve`` under a steady mixed load for N minutes, watched for trends.

    make soak                                   # 10 minutes on SQLite
    SOAK_MINUTES=3 .venv/bin/python -m bench.soak
    .venv/bin/python -m bench.soak --minutes 3 --db postgresql://postgres@127.0.0.1:5432/postgres

The load, paced so that it does not take the whole machine: readers list and view
records, a writer creates records and deletes the oldest (the table stays near
``KEEP`` rows, so a growing server is the server's doing, not the data's), an
uploader sends small files and deletes them, and a realtime client connects,
subscribes, reads a few events and goes, over and over.

Every minute (``--sample`` seconds) the server's RSS, its open file descriptors and
the p99 latency of that minute's requests are sampled. The verdict compares the
second half of the run with the first: flat when RSS grew less than
``max(8 MB, 10 %)``, open files by at most 5 and p99 to at most twice the first
half's; growing otherwise. The exit status is 0 when flat, 1 when growing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.servers import ADMIN, free_port, fresh_postgres

KEEP = 500  # rows the writer keeps in the table
READ_PAUSE = 0.05  # seconds between reads, per reader
WRITE_PAUSE = 0.05
UPLOAD_PAUSE = 0.25
READERS = 2


@dataclass
class Minute:
    """The requests of one sampling interval."""

    took: list[float] = field(default_factory=list)
    errors: int = 0
    churns: int = 0  # realtime connect, subscribe, events, disconnect cycles


@dataclass
class Sample:
    minute: int
    rss_mb: float
    fds: int
    requests: int
    errors: int
    churns: int
    p50_ms: float
    p99_ms: float


class Load:
    def __init__(self, url: str) -> None:
        self.url = url
        self.minute = Minute()
        self.ids: list[str] = []
        self.stop = asyncio.Event()
        self.kinds: collections.Counter[str] = collections.Counter()  # what the errors were

    async def _timed(
        self, request: asyncio.Future[httpx.Response] | object
    ) -> httpx.Response | None:
        began = time.perf_counter()
        try:
            response: httpx.Response = await request  # type: ignore[misc]
        except httpx.HTTPError as error:
            self.minute.errors += 1
            self.kinds[type(error).__name__] += 1
            return None
        self.minute.took.append(time.perf_counter() - began)
        if response.status_code >= 500:
            self.minute.errors += 1
            self.kinds[f"{response.status_code} {response.request.method}"] += 1
        return response

    async def reader(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            await self._timed(
                client.get("/api/collections/soak/records", params={"perPage": 20, "sort": "-n"})
            )
            if self.ids:
                await self._timed(
                    client.get(f"/api/collections/soak/records/{random.choice(self.ids)}")
                )
            await asyncio.sleep(READ_PAUSE)

    async def writer(self, client: httpx.AsyncClient) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            made = await self._timed(client.post("/api/collections/soak/records",
                                                 json={"title": f"soak {n}", "n": n}))  # fmt: skip
            if made is not None and made.status_code == 200:
                self.ids.append(made.json()["id"])
            if len(self.ids) > KEEP:
                oldest = self.ids.pop(0)
                await self._timed(client.delete(f"/api/collections/soak/records/{oldest}"))
            await asyncio.sleep(WRITE_PAUSE)

    async def uploader(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            made = await self._timed(client.post(
                "/api/collections/soak/records", data={"title": "upload", "n": "-1"},
                files={"doc": ("small.bin", os.urandom(4096), "application/octet-stream")}))  # fmt: skip
            if made is not None and made.status_code == 200:
                record = made.json()
                await self._timed(client.get(f"/api/files/soak/{record['id']}/{record['doc']}"))
                await self._timed(client.delete(f"/api/collections/soak/records/{record['id']}"))
            await asyncio.sleep(UPLOAD_PAUSE)

    async def churner(self) -> None:
        """Connect, subscribe, read a few events, disconnect; again and again."""
        while not self.stop.is_set():
            try:
                async with (
                    httpx.AsyncClient(base_url=self.url, timeout=10) as client,
                    client.stream("GET", "/api/realtime") as stream,
                ):
                    lines = stream.aiter_lines()
                    client_id = ""
                    async for line in lines:
                        if line.startswith("data:"):
                            client_id = line[5:].split('"clientId":"', 1)[1].split('"', 1)[0]
                            break
                    topics = ["soak/*"] if random.random() < 0.8 else ["soak/*", "chat:x"]
                    await self._timed(client.post("/api/realtime",
                                                      json={"clientId": client_id, "subscriptions": topics}))  # fmt: skip
                    events = 0
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(2):
                            async for line in lines:
                                if line.startswith("event:"):
                                    events += 1
                                    if events >= 5:
                                        break
                self.minute.churns += 1
            except (httpx.HTTPError, IndexError) as error:
                self.minute.errors += 1
                self.kinds[f"realtime {type(error).__name__}"] += 1
            await asyncio.sleep(0.1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(url: str, pid: int, minutes: float, sample: float) -> list[Sample]:
    load = Load(url)
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        tasks = [asyncio.create_task(load.reader(client)) for _ in range(READERS)]
        tasks += [asyncio.create_task(load.writer(client)), asyncio.create_task(load.uploader(client)),
                  asyncio.create_task(load.churner())]  # fmt: skip
        samples: list[Sample] = []
        count = max(1, round(minutes * 60 / sample))
        try:
            for index in range(1, count + 1):
                await asyncio.sleep(sample)
                minute, load.minute = load.minute, Minute()
                taken = Sample(index, rss_mb(pid), open_fds(pid), len(minute.took), minute.errors,
                               minute.churns, percentile(minute.took, 0.5) * 1000,
                               percentile(minute.took, 0.99) * 1000)  # fmt: skip
                samples.append(taken)
                print(f"  {taken.minute:>3}  {taken.rss_mb:7.1f}  {taken.fds:4d}  {taken.requests:7d}  "
                      f"{taken.errors:5d}  {taken.churns:6d}  {taken.p50_ms:7.1f}  {taken.p99_ms:7.1f}",
                      flush=True)  # fmt: skip
        finally:
            load.stop.set()
            await asyncio.wait(tasks, timeout=15)
            for task in tasks:
                task.cancel()
    if load.kinds:
        print("errors: " + ", ".join(f"{kind} x{n}" for kind, n in load.kinds.most_common()))
    return samples


def verdict(samples: list[Sample]) -> tuple[bool, list[str]]:
    """Whether the second half looks like the first, and what grew if not.

    The first sample is warm-up (caches, the pool, the allocator's arenas) and left out.
    """
    steady = samples[1:] if len(samples) > 2 else samples
    half = max(1, len(steady) // 2)
    first, second = steady[:half], steady[half:] or steady[-1:]
    findings: list[str] = []
    rss_before = statistics.median(s.rss_mb for s in first)
    rss_after = max(s.rss_mb for s in second)
    if rss_after - rss_before > max(8.0, 0.10 * rss_before):
        findings.append(f"RSS grew from {rss_before:.1f} MB to {rss_after:.1f} MB")
    fds_before = max(s.fds for s in first)
    fds_after = max(s.fds for s in second)
    if fds_after - fds_before > 5:
        findings.append(f"open files grew from {fds_before} to {fds_after}")
    p99_before = statistics.median(s.p99_ms for s in first)
    p99_after = statistics.median(s.p99_ms for s in second)
    if p99_after > 2 * max(p99_before, 5.0):
        findings.append(f"p99 grew from {p99_before:.1f} ms to {p99_after:.1f} ms")
    errors = sum(s.errors for s in samples)
    if errors:
        findings.append(f"{errors} requests failed (5xx or no answer)")
    return not findings, findings


def _tracebacks(log: str) -> list[str]:
    """Each traceback in the server's log, from its first line to the exception's line."""
    found: list[str] = []
    lines = log.splitlines()
    for start, line in enumerate(lines):
        if "Traceback (most recent call last)" not in line:
            continue
        end = start + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        found.append("\n".join(lines[start : min(end + 1, len(lines))][-40:]))
    return found


def serve(data: Path, db_url: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    db = ["--db", db_url] if db_url else []
    keelbase = [sys.executable, "-m", "keelbase"]
    subprocess.run([*keelbase, "superuser", "upsert", *ADMIN, "--dir", str(data), *db],
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    log = data.parent / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*keelbase, "serve", "--workers", "1", "--http", f"127.0.0.1:{port}", "--dir", str(data), *db],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"keelbase serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    token = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                       json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
    made = httpx.post(url + "/api/collections", headers={"Authorization": token}, json={
        "name": "soak", "listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"},
                   {"name": "doc", "type": "file", "maxSize": 1 << 20}],
        "indexes": ["CREATE INDEX idx_soak_n ON soak (n)"]})  # fmt: skip
    if made.status_code != 200:
        raise SystemExit(f"could not create the collection: {made.text}")
    return proc, url, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10"))
    )
    parser.add_argument("--sample", type=float, default=float(os.environ.get("SOAK_SAMPLE_SECONDS", "60")),
                        help="seconds between samples (default 60)")  # fmt: skip
    parser.add_argument(
        "--db", default="", help="a PostgreSQL URL (a fresh database is made on it)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-soak-") as work:
        data = Path(work) / "kb_data"
        name = f"kb_soak_{os.getpid()}"
        with fresh_postgres(args.db, name) if args.db else contextlib.nullcontext("") as db_url:
            proc, url, log = serve(data, str(db_url))
            try:
                print(f"soak: {args.minutes:g} min on {'PostgreSQL' if args.db else 'SQLite'}, "
                      f"a sample every {args.sample:g} s (pid {proc.pid})", flush=True)  # fmt: skip
                print("    n   RSS MB   fds     reqs  errors  churns  p50 ms   p99 ms", flush=True)
                samples = asyncio.run(run_load(url, proc.pid, args.minutes, args.sample))
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        flat, findings = verdict(samples)
        print("verdict: " + ("flat" if flat else "growing: " + "; ".join(findings)))
        tracebacks = _tracebacks(log.read_text(errors="replace"))
        if tracebacks:
            # the log goes with the temporary folder: show what went wrong before it does
            print(f"the server logged {len(tracebacks)} traceback(s); the first ones:")
            for traceback in tracebacks[:3]:
                print(traceback)
        sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
