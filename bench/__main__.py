"""Keelbase side by side with the real PocketBase, in one run: ``make bench``.

    python -m bench [--smoke] [--seeds 10000,100000] [--concurrency 32,256]
                    [--duration 10] [--rounds 2] [--workloads view,list,...]
                    [--db postgresql://postgres@127.0.0.1:5432/test] [--logs on|off|both]
                    [--modes pinned,allcores,shared]

Both servers get the same collections and data. Each workload runs on each
server in turn (A, B, A, B), in each mode:

- ``pinned``: each server on one core (taskset, core 0; Keelbase ``--workers 1``),
  wrk on another (core 1).
- ``allcores``: each server may use every core but the last (Keelbase's default,
  one worker per usable core; PocketBase's GOMAXPROCS follows the same
  affinity), wrk on the last core.
- ``shared``: no pinning at all: the servers and wrk (one thread per core) share
  every core, as on a laptop.

The bare Starlette + uvicorn + sqlite3 app (one process) sets the ceiling for
reading one record and one page; it runs in the pinned mode only. Results go to
``bench/results/`` as JSON and a markdown table is printed.

``--logs both`` runs every Keelbase workload twice, with request logging on
(``logs.maxDays: 5``, the default) and off (``logs.maxDays: 0``), reported as
``keelbase`` and ``keelbase-nologs``: the cost of logging is their ratio.

``--servers keelbase,keelbase-granian,pocketbase`` adds Keelbase served by
granian (``serve --http-server granian``, with the same ``--workers`` as
Keelbase in each mode) as a third server; the table gets its figures and its
ratio to PocketBase.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.servers import BareServer, Server, fresh_postgres

HERE = Path(__file__).parent
LUA = HERE / "lua" / "ids.lua"
RESULTS = HERE / "results"
USERS = 10
KEELBASES = ("keelbase", "keelbase-granian")  # Keelbase under uvicorn, under granian
PASSWORD = "Passw0rd123"


@dataclass
class Workload:
    name: str
    path: str
    ids: str = "posts"  # which id list the "{id}" placeholder draws from
    method: str = "GET"
    body: str = ""
    auth: bool = False
    write_every: int = 0
    bare: bool = False  # the bare app serves it too


WORKLOADS = [
    Workload("view", "/api/collections/posts/records/{id}", bare=True),
    Workload("list", "/api/collections/posts/records?sort=-created&perPage=30", ids="", bare=True),
    Workload(
        "filter_indexed", "/api/collections/posts/records?perPage=30&filter=n%3D{id}", ids="numbers"
    ),
    Workload(
        "filter_plain",
        "/api/collections/posts/records?perPage=30&filter=title%3D{id}",
        ids="titles",
    ),
    Workload(  # a contains-scan with its total, as an app's search box sends
        "filter_scan",
        "/api/collections/posts/records?perPage=30&filter=title~%27post%2099%27",
        ids="",
    ),
    Workload(
        "create",
        "/api/collections/posts/records",
        ids="",
        method="POST",
        body='{"title":"new {n}","n":{n}}',
    ),
    Workload(
        "update",
        "/api/collections/posts/records/{id}",
        method="PATCH",
        body='{"title":"changed {n}"}',
    ),
    Workload(
        "auth_list", "/api/collections/notes/records?perPage=30&sort=-created", ids="", auth=True
    ),
    Workload(
        "expand", "/api/collections/posts/records?perPage=30&sort=-created&expand=owner", ids=""
    ),
    Workload(
        "mixed", "/api/collections/posts/records/{id}", body='{"title":"mixed {n}"}', write_every=5
    ),
]


@dataclass(frozen=True)
class Mode:
    """Where the servers and wrk may run: taskset core lists (None: anywhere)."""

    name: str
    servers: str | None
    wrk: str | None
    wrk_threads: int
    workers: int | None  # Keelbase's --workers (None: its default)


def modes(names: list[str]) -> list[Mode]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or not shutil.which("taskset"):
        # one core, or no taskset: only the shared mode means anything
        return [Mode("shared", None, None, max(1, len(cores)), None)]
    known = {
        "pinned": Mode("pinned", str(cores[0]), str(cores[1]), 1, 1),
        "allcores": Mode("allcores", ",".join(map(str, cores[:-1])), str(cores[-1]), 1, None),
        "shared": Mode("shared", None, None, len(cores), None),
    }
    return [known[name] for name in names]


@dataclass
class Result:
    mode: str
    server: str
    workload: str
    seed: int
    concurrency: int
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s: float
    peak_rss_mb: float
    settled_s: float = 0.0  # waited before the run for every server to go idle (``settle``)


def settle(servers: dict[str, Server], window: float = 0.5, limit: float = 30.0) -> float:
    """Wait until no server is still working off an earlier run; the seconds waited.

    Servers share cores in every mode, and a server can go on working for seconds
    after wrk stops: PocketBase, after 8 s of ``view`` at c=256, used 85 % of its
    core for another 3.5 s (requests it had queued). The next server measured on
    that core would lose half of it for half its run, so each run starts only once
    every server used less than 4 % of a core over ``window`` seconds.
    """
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = {kind: server.cpu_seconds() for kind, server in servers.items()}
        time.sleep(window)
        busy = [kind for kind, server in servers.items()
                if server.cpu_seconds() - before[kind] > 0.04 * window]  # fmt: skip
        if not busy:
            break
    return time.monotonic() - began - window


def setup_collections(server: Server) -> None:
    http = httpx.Client(base_url=server.url, headers={"Authorization": server.token}, timeout=120)
    http.patch("/api/collections/users", json={"listRule": "", "viewRule": ""}).raise_for_status()
    http.patch(
        "/api/settings", json={"batch": {"enabled": True, "maxRequests": 1000, "timeout": 60}}
    ).raise_for_status()
    fields = [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "text"},
        {"name": "n", "type": "number"},
        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
        {"name": "created", "type": "autodate", "onCreate": True},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]
    open_rules = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": ""}
    http.post("/api/collections", json={"name": "posts", **open_rules, "fields": fields,
              "indexes": ["CREATE INDEX idx_posts_n ON posts (n)", "CREATE INDEX idx_posts_created ON posts (created)"]},
              ).raise_for_status()  # fmt: skip
    owner_rule = "owner = @request.auth.id"
    http.post("/api/collections", json={"name": "notes", "listRule": owner_rule, "viewRule": owner_rule,
              "fields": fields, "indexes": ["CREATE INDEX idx_notes_owner ON notes (owner)"]}).raise_for_status()  # fmt: skip


def seed(
    server: Server, count: int, rng: random.Random, user_ids: list[str] | None = None
) -> dict[str, list[str]]:
    """Same records on every server: ids are chosen here, so they match across servers."""
    http = httpx.Client(base_url=server.url, headers={"Authorization": server.token}, timeout=300)
    if user_ids is None:
        user_ids = [f"benchuser{i:06d}" for i in range(USERS)]
    for index, user_id in enumerate(user_ids):
        http.post("/api/collections/users/records", json={
            "id": user_id, "email": f"user{index}@example.com", "password": PASSWORD,
            "passwordConfirm": PASSWORD, "name": f"User {index}"}).raise_for_status()  # fmt: skip
    post_ids = [f"p{n:014d}" for n in range(count)]
    note_count = max(count // 10, 10)
    for collection, ids in (
        ("posts", post_ids),
        ("notes", [f"n{n:014d}" for n in range(note_count)]),
    ):
        for start in range(0, len(ids), 1000):
            requests = [
                {
                    "method": "POST",
                    "url": f"/api/collections/{collection}/records",
                    "body": {
                        "id": record_id,
                        "title": f"post {start + i}",
                        "body": "lorem ipsum " * 8,
                        "n": start + i,
                        "owner": user_ids[(start + i) % len(user_ids)],
                    },
                }
                for i, record_id in enumerate(ids[start : start + 1000])
            ]
            response = http.post("/api/batch", json={"requests": requests})
            response.raise_for_status()
    sample = rng.sample(post_ids, min(2000, len(post_ids)))
    numbers = [str(int(p[1:])) for p in sample]
    titles = [quote(f"'post {n}'") for n in numbers]
    return {"posts": sample, "numbers": numbers, "titles": titles}


def user_token(server: Server) -> str:
    response = httpx.post(server.url + "/api/collections/users/auth-with-password",
                          json={"identity": "user0@example.com", "password": PASSWORD})  # fmt: skip
    return str(response.json()["token"])


def run_wrk(server: Server, workload: Workload, ids_file: Path | None, concurrency: int, duration: float,
            token: str, mode: Mode) -> tuple[float, float, float, int]:  # fmt: skip
    env = {
        **os.environ,
        "KB_PATH": workload.path,
        "KB_METHOD": workload.method,
        "KB_WRITE_EVERY": str(workload.write_every),
        "KB_TOKEN": token if workload.auth else "",
    }
    if workload.body:
        env["KB_BODY"] = workload.body
    if ids_file is not None:
        env["KB_IDS"] = str(ids_file)
    command = [
        "wrk",
        f"-t{mode.wrk_threads}",
        f"-c{concurrency}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        server.url,
    ]
    if mode.wrk is not None:
        command = ["taskset", "-c", mode.wrk, *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith("KB_RESULT")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    requests, p50_us, p99_us, errors, duration_us = (int(x) for x in line.split()[1:])
    return requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, errors


def runs(servers: dict[str, Server], logs: str, round_number: int) -> list[tuple[str, Server, str]]:
    """(kind, server, label) of one round; with ``logs`` "both", Keelbase runs with and without
    request logs, in an order that alternates between rounds."""
    out: list[tuple[str, Server, str]] = []
    for kind, server in servers.items():
        if kind not in KEELBASES:
            out.append((kind, server, kind))
            continue
        labels = {"on": [kind], "off": [f"{kind}-nologs"]}.get(logs, [kind, f"{kind}-nologs"])
        if round_number % 2:
            labels.reverse()
        out.extend((kind, server, label) for label in labels)
    return out


def use_logs(server: Server, on: bool) -> None:
    """Request logging on (PocketBase's default retention, 5 days) or off (``maxDays: 0``).

    Before logging goes off, the entries are deleted and the file compacted while
    this waits (``DELETE /api/logs``): ``maxDays: 0`` would do it in the background,
    during the next measurement, and charge it to the run without logs.
    """
    http = httpx.Client(base_url=server.url, headers={"Authorization": server.token}, timeout=120)
    if not on:
        http.delete("/api/logs").raise_for_status()
    http.patch("/api/settings", json={"logs": {"maxDays": 5 if on else 0}}).raise_for_status()
    time.sleep(1)  # what the change set off (a small retention pass) is over


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds: checks the bench still works"
    )
    parser.add_argument("--seeds", default="10000,100000")
    parser.add_argument("--concurrency", default="32,256")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS))
    parser.add_argument("--servers", default="keelbase,pocketbase")
    parser.add_argument(
        "--db",
        default="",
        help="run Keelbase on PostgreSQL: URL of a database to create bench databases from "
        "(e.g. postgresql://postgres@127.0.0.1:5432/test); the bare stack is left out",
    )
    parser.add_argument(
        "--logs",
        choices=("on", "off", "both"),
        default="on",
        help="Keelbase's request logging: on (the default), off (logs.maxDays 0), or both in turn",
    )
    parser.add_argument(
        "--modes",
        default="pinned,allcores,shared",
        help="where servers and wrk run: pinned (one core each), allcores (servers on every "
        "core but the last, wrk on it), shared (all share every core)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.concurrency, args.duration, args.rounds = "200", "8", 1, 1
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed (Debian: apt-get install wrk); `make bench` installs it",
            file=sys.stderr,
        )
        return 2
    workloads = [w for w in WORKLOADS if w.name in args.workloads.split(",")]
    kinds = args.servers.split(",")
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for mode, seed_count in (
            (m, int(s)) for m in modes(args.modes.split(",")) for s in args.seeds.split(",")
        ):
            servers: dict[str, Server] = {}
            stack = contextlib.ExitStack()
            try:
                ids: dict[str, list[str]] = {}
                for kind in kinds:
                    print(f"# {mode.name}: seeding {seed_count} records into {kind}", flush=True)
                    db_url = ""
                    if kind == "keelbase" and args.db:
                        db_url = stack.enter_context(
                            fresh_postgres(args.db, f"kb_bench_{os.getpid()}_{seed_count}")
                        )
                    servers[kind] = Server(kind, workdir, cpu=mode.servers, db_url=db_url,
                                           workers=mode.workers)  # fmt: skip
                    setup_collections(servers[kind])
                    ids = seed(servers[kind], seed_count, random.Random(seed_count))
                files = {}
                for key, values in ids.items():
                    files[key] = workdir / f"{key}.txt"
                    files[key].write_text("\n".join(values) + "\n")
                if "keelbase" in servers and not args.db and mode.name == "pinned":
                    servers["bare"] = BareServer(
                        servers["keelbase"].data / "data.db", workdir, cpu=mode.servers
                    )
                tokens = {
                    kind: user_token(server) for kind, server in servers.items() if kind != "bare"
                }
                for workload in workloads:
                    for concurrency in (int(c) for c in args.concurrency.split(",")):
                        for round_number in range(args.rounds):
                            for kind, server, label in runs(servers, args.logs, round_number):
                                if kind == "bare" and not workload.bare:
                                    continue
                                if kind in KEELBASES:
                                    use_logs(server, label == kind)
                                settled = settle(servers)
                                cpu = server.cpu_seconds()
                                ids_file = files.get(workload.ids) if workload.ids else None
                                rps, p50, p99, errors = run_wrk(server, workload, ids_file, concurrency,
                                                                args.duration, tokens.get(kind, ""), mode)  # fmt: skip
                                result = Result(mode.name, label, workload.name, seed_count, concurrency, round_number, rps,
                                                p50, p99, errors, server.cpu_seconds() - cpu, server.peak_rss_mb(), settled)  # fmt: skip
                                results.append(result)
                                print(json.dumps(asdict(result)), flush=True)
            finally:
                for server in servers.values():
                    server.stop()
                stack.close()
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-postgres" if args.db else stamp
    out = RESULTS / (f"smoke-{name}.json" if args.smoke else f"{name}.json")
    out.write_text(json.dumps([asdict(r) for r in results], indent=1))
    print(f"\nresults: {out}\n")
    print(table(results))
    if any(r.server == "keelbase-nologs" for r in results):
        print()
        print(logs_table(results))
    return 0


def table(results: list[Result]) -> str:
    """One row per (mode, seed, workload, concurrency): means over the rounds, and the ratios."""
    groups: dict[tuple[str, int, str, int], dict[str, list[Result]]] = {}
    for r in results:
        key = (r.mode, r.seed, r.workload, r.concurrency)
        groups.setdefault(key, {}).setdefault(r.server, []).append(r)
    lines = [
        "| mode | seed | workload | c | Keelbase rps | PocketBase rps | ratio | KB p50/p99 ms | PB p50/p99 ms "
        "| KB/PB errors | KB/PB CPU s | KB/PB peak RSS MB | bare rps | KB/bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def mean(rows: list[Result], attr: str) -> float:
        return statistics.fmean(getattr(r, attr) for r in rows) if rows else float("nan")

    for (mode, seed_count, workload, concurrency), by_server in groups.items():
        kb, pb, bare = (
            by_server.get("keelbase", []),
            by_server.get("pocketbase", []),
            by_server.get("bare", []),
        )
        kb_rps, pb_rps, bare_rps = mean(kb, "rps"), mean(pb, "rps"), mean(bare, "rps")
        granian, extra = by_server.get("keelbase-granian", []), ""
        if granian:  # a third server: its figures after the row's usual ones
            granian_rps = mean(granian, "rps")
            extra = (
                f" {granian_rps:.0f} | {granian_rps / pb_rps:.2f} "
                f"| {mean(granian, 'p50_ms'):.1f}/{mean(granian, 'p99_ms'):.1f} "
                f"| {sum(r.errors for r in granian)} |"
            )
        lines.append(
            f"| {mode} | {seed_count} | {workload} | {concurrency} | {kb_rps:.0f} | {pb_rps:.0f} | {kb_rps / pb_rps:.2f} "
            f"| {mean(kb, 'p50_ms'):.1f}/{mean(kb, 'p99_ms'):.1f} | {mean(pb, 'p50_ms'):.1f}/{mean(pb, 'p99_ms'):.1f} "
            f"| {sum(r.errors for r in kb)}/{sum(r.errors for r in pb)} "
            f"| {mean(kb, 'cpu_s'):.1f}/{mean(pb, 'cpu_s'):.1f} "
            f"| {max((r.peak_rss_mb for r in kb), default=0):.0f}/{max((r.peak_rss_mb for r in pb), default=0):.0f} "
            f"| {bare_rps:.0f} | {kb_rps / bare_rps:.2f} |{extra}"
        )
    if any(r.server == "keelbase-granian" for r in results):
        lines[0] += " granian rps | granian/PB | granian p50/p99 ms | granian errors |"
        lines[1] += "---|---|---|---|"
    return "\n".join(lines)


def logs_table(results: list[Result]) -> str:
    """Keelbase with request logging on and off: what logging costs, per workload."""
    groups: dict[tuple[int, str, int], dict[str, list[Result]]] = {}
    for r in results:
        if r.server in ("keelbase", "keelbase-nologs") and r.mode == "pinned":
            key = (r.seed, r.workload, r.concurrency)
            groups.setdefault(key, {}).setdefault(r.server, []).append(r)
    lines = [
        "| seed | workload | c | logs on rps | logs off rps | on/off | on p50/p99 ms | off p50/p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (seed_count, workload, concurrency), by_server in groups.items():
        on, off = by_server.get("keelbase", []), by_server.get("keelbase-nologs", [])
        if not on or not off:
            continue
        on_rps = statistics.fmean(r.rps for r in on)
        off_rps = statistics.fmean(r.rps for r in off)
        lines.append(
            f"| {seed_count} | {workload} | {concurrency} | {on_rps:.0f} | {off_rps:.0f} "
            f"| {on_rps / off_rps:.3f} "
            f"| {statistics.fmean(r.p50_ms for r in on):.1f}/{statistics.fmean(r.p99_ms for r in on):.1f} "
            f"| {statistics.fmean(r.p50_ms for r in off):.1f}/{statistics.fmean(r.p99_ms for r in off):.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
