"""The benchmark keeps working: a few-second run against both servers (not a timed test)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_run() -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is required in CI for the benchmark smoke run (make test installs it)")
        pytest.skip("wrk is not installed: `make test` installs it")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--workloads", "view,list,create,auth_list"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| 200 | view | 8 |" in done.stdout
    result_file = next(
        line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("results: ")
    )
    rows = json.loads(Path(result_file).read_text())
    Path(result_file).unlink()
    servers = {row["server"] for row in rows}
    assert servers == {"keelbase", "pocketbase", "bare"}
    assert all(row["rps"] > 0 and row["errors"] == 0 for row in rows), rows


def test_bench_smoke_run_with_granian() -> None:
    """``--servers ...,keelbase-granian``: Keelbase served by granian, a column of its own."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed: `make test` installs it")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--servers", "keelbase,keelbase-granian",
         "--workloads", "view", "--modes", "pinned"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "granian rps | granian/PB |" in done.stdout
    result_file = next(
        line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("results: ")
    )
    rows = json.loads(Path(result_file).read_text())
    Path(result_file).unlink()
    assert {row["server"] for row in rows} == {"keelbase", "keelbase-granian", "bare"}
    assert all(row["rps"] > 0 and row["errors"] == 0 for row in rows), rows


def test_bench_smoke_run_on_postgresql() -> None:
    from tests.pg import PG_URL, require_postgres

    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed: `make test` installs it")
    require_postgres()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--servers", "keelbase", "--db", PG_URL,
         "--workloads", "view,create"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result_file = next(
        line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("results: ")
    )
    assert result_file.endswith("-postgres.json")
    rows = json.loads(Path(result_file).read_text())
    Path(result_file).unlink()
    assert {row["server"] for row in rows} == {"keelbase"}  # no bare stack on PostgreSQL
    assert all(row["rps"] > 0 and row["errors"] == 0 for row in rows), rows


def test_observability_bench_smoke_run() -> None:
    """``python -m bench.observability smoke``: a second or two of each measurement."""
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is required in CI for the benchmark smoke run (make test installs it)")
        pytest.skip("wrk is not installed: `make test` installs it")
    done = subprocess.run(
        [sys.executable, "-m", "bench.observability", "smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "| view |" in out and "| create |" in out  # logging on and off
    assert "median CPU per record view, in-process" in out
    assert "lag of the newest entry" in out
    assert "| stats, all |" in out and "totalItems 2000 |" in out  # the logs API over 2000 entries
    assert "| requests served | RSS MB |" in out


def test_cold_start_bench_smoke_run() -> None:
    """One cold start: the table comes out with a time, CPU and memory (not a timed test)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.cold_start", "--runs", "1", "--idle", "0.2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| keelbase |"))
    ready, cpu, idle_rss, token_rss = (float(cell) for cell in row.split("|")[2:6])
    assert ready > 0 and cpu > 0 and 10 < idle_rss <= token_rss


def test_realtime_all_cores_smoke_run() -> None:
    """The all-cores fan-out: streams held by two client processes, Keelbase on two workers."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.realtime", "--subscribers", "", "--allcores", "300",
         "--workers", "2", "--streams-per-client", "200", "--events", "3", "--cycles", "0",
         "--servers", "keelbase"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"server"')]
    assert len(rows) == 1, done.stdout
    row = rows[0]
    assert row["client_processes"] == 2
    assert row["delivered"] == row["expected"] == 900, row
    assert sum(row["streams_per_server_process"]) >= 300, row
