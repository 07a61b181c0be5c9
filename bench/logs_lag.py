"""How far the logs trail the requests under load: ``python -m bench.logs_lag``.

    python -m bench.logs_lag [--seconds 12] [--concurrency 32]

Runs wrk on ``GET /api/health`` against a fresh ``keelbase serve`` (pinned to
core 0, wrk to core 1) and, four times a second, asks ``/api/logs`` for the
newest entry: the lag is how long ago that entry's request ended. At the end
it compares the entries kept with the answers wrk counted (none should be missing).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.servers import Server


def measure(workdir: Path, seconds: int, concurrency: int, port: int = 0) -> str:
    """wrk on ``/api/health`` for ``seconds``: the rate, the entries kept, the lag."""
    server = Server("keelbase", workdir, cpu=0, port=port)
    try:
        client = httpx.Client(base_url=server.url, headers={"Authorization": server.token})
        before = client.get("/api/logs", params={"perPage": 1}).json()["totalItems"]
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s"]
        if shutil.which("taskset"):
            command = ["taskset", "-c", "1", *command]
        wrk = subprocess.Popen(
            [*command, server.url + "/api/health"], stdout=subprocess.PIPE, text=True
        )
        time.sleep(1.5)
        lags: list[float] = []
        newest = {"sort": "-@rowid", "perPage": "1", "skipTotal": "1"}
        while wrk.poll() is None:
            items = client.get("/api/logs", params=newest).json()["items"]
            if items:
                created = datetime.strptime(items[0]["created"], "%Y-%m-%d %H:%M:%S.%fZ")
                lags.append((datetime.now(UTC) - created.replace(tzinfo=UTC)).total_seconds())
            time.sleep(0.25)
        output = wrk.stdout.read() if wrk.stdout else ""
        sent = next(int(line.split()[0]) for line in output.splitlines() if "requests in" in line)
        time.sleep(1.5)  # the last batch
        kept = client.get("/api/logs", params={"perPage": 1}).json()["totalItems"] - before
    finally:
        server.stop()
    lags = lags[:-2] or lags  # wrk is winding down
    rate = next((line for line in output.splitlines() if "Requests/sec" in line), "").strip()
    # wrk counts the answers it read before it stopped; a few more may have been served
    return (
        f"{rate}; wrk counted {sent} answers, the logs kept {kept} request entries\n"
        f"lag of the newest entry: median {statistics.median(lags):.2f} s, max {max(lags):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(measure(Path(tmp), args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
