"""Cold start and idle memory of ``keelbase serve``: ``python -m bench.cold_start``.

    python -m bench.cold_start [--runs 5] [--idle 3] [--db postgresql://...] [--pocketbase]

Each run starts ``keelbase serve --workers 1`` on a fresh, empty data folder and
polls ``GET /api/health`` every 5 ms from the moment the process is spawned; the
time to the first 200 is the cold start, and the CPU time the process used until
then (user + system) is the figure a busy machine disturbs least. The server then idles for ``--idle``
seconds and its RSS (``VmRSS``) is read; then once more after one request that
carries a token (what loads the JWT library, as the first signed-in request
does). ``--pocketbase`` runs PocketBase the
same way for comparison. Medians over the runs are printed with every run's
figures; on a shared machine the spread says how far to trust them. Python's
bytecode caches matter: with ``PYTHONDONTWRITEBYTECODE=1`` and an editable
install every Keelbase module is compiled at each start (set
``PYTHONPYCACHEPREFIX`` and unset it to measure what a ``pip install`` runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.servers import POCKETBASE, free_port, fresh_postgres


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (the ``VmRSS`` line of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in ms: /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def one_run(
    kind: str, idle: float, db_url: str = "", restart: bool = False
) -> tuple[float, float, float, float]:
    """Start one server on an empty folder (with ``restart``, on a folder a server made
    and left): ms to the first 200 of /api/health, the CPU ms it used until then, idle
    RSS MB, and RSS MB after a request with a token."""
    folder = Path(tempfile.mkdtemp(prefix="kb-cold-"))
    if restart:
        _serve_once(kind, folder, db_url)
    try:
        return _measure(kind, idle, folder, db_url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _serve_once(kind: str, folder: Path, db_url: str) -> None:
    """Start a server on ``folder`` until it answers, then stop it: the tables are made."""
    port = free_port()
    proc = subprocess.Popen(_command(kind, port, folder, db_url), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError(f"{kind} did not answer within 30 s")
    finally:
        proc.terminate()
        proc.wait(10)


def _command(kind: str, port: int, folder: Path, db_url: str) -> list[str]:
    if kind == "pocketbase":
        return [str(POCKETBASE), "serve", "--http", f"127.0.0.1:{port}", "--dir", str(folder)]
    command = [sys.executable, "-m", "keelbase", "serve", "--workers", "1",
               "--http", f"127.0.0.1:{port}", "--dir", str(folder)]  # fmt: skip
    return command + (["--db", db_url] if db_url else [])


def _measure(
    kind: str, idle: float, folder: Path, db_url: str
) -> tuple[float, float, float, float]:
    port = free_port()
    command = _command(kind, port, folder, db_url)
    url = f"http://127.0.0.1:{port}/api/health"
    client = httpx.Client(timeout=1)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        while True:
            try:
                if client.get(url).status_code == 200:
                    ready = (time.perf_counter() - started) * 1000
                    cpu = cpu_ms(proc.pid)
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} exited with {proc.returncode} before answering")
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"{kind} did not answer within 30 s")
            time.sleep(0.005)
        time.sleep(idle)
        idle_rss = rss_mb(proc.pid)
        token = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IngifQ.c2lnbmF0dXJl"  # well formed, signed by nobody
        client.get(url.replace("/api/health", "/api/collections/users/records"),
                   headers={"Authorization": token})  # fmt: skip
        time.sleep(0.5)
        return ready, cpu, idle_rss, rss_mb(proc.pid)
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading RSS")
    parser.add_argument("--db", default="", help="PostgreSQL URL (a fresh database per run)")
    parser.add_argument("--pocketbase", action="store_true", help="also measure PocketBase")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="start on a folder a first start made, not an empty one",
    )
    args = parser.parse_args()
    kinds = ["keelbase"] + (["pocketbase"] if args.pocketbase and POCKETBASE.exists() else [])
    results: dict[str, list[tuple[float, float, float, float]]] = {kind: [] for kind in kinds}
    for _ in range(args.runs):
        for kind in kinds:  # taking turns, so a noisy moment hits both
            if kind == "keelbase" and args.db:
                with fresh_postgres(args.db, "kb_cold_start") as url:
                    results[kind].append(one_run(kind, args.idle, url, args.restart))
            else:
                results[kind].append(one_run(kind, args.idle, restart=args.restart))
    print(
        "| server | first /api/health ms | CPU ms until then | idle RSS MB "
        "| RSS after a token MB | runs (ms) |"
    )
    print("|---|---|---|---|---|---|")
    for kind, runs in results.items():
        ready, cpu, rss, used = (statistics.median(run[i] for run in runs) for i in range(4))
        each = ", ".join(f"{run[0]:.0f}" for run in runs)
        print(f"| {kind} | {ready:.0f} | {cpu:.0f} | {rss:.1f} | {used:.1f} | {each} |")
    print("(medians over the runs)")


if __name__ == "__main__":
    main()
