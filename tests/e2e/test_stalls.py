"""No stalls (issue 17): while one hostile request runs, ``/api/health`` on the same
``keelbase serve`` process still answers at once.

Hostile requests: a JSON body with a million keys (parsed in a child process, refused
past the key bound), an expensive filter and an endless view query (both stopped by
``--queryTimeout``, meanwhile off the event loop), a big upload (streamed to disk).
Health is asked every few tens of milliseconds for as long as the hostile request
runs. The goal is 100 ms; on an idle machine the median is a few milliseconds.
The thresholds leave room for a loaded 2-core machine shared with other test runs
(load averages of 7 were seen, with p90s of 100 ms from CPU contention alone): 90 %
of the answers within 200 ms, none over 750 ms. A stall of the kind these guard
against lasts seconds (a million keys parsed on the loop: 1.4 s; an endless query
on the loop: the whole query timeout), so the test still fails on one.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.pg import STORES, fresh_database, require_postgres

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
TIMEOUT = 2  # --queryTimeout of the server, seconds
ENDLESS = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r) SELECT i AS id FROM r"
NUMBERS = (
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i < 20000) "
    "SELECT CAST(i AS TEXT) AS id, i AS n FROM r"
)
P90_LIMIT = 0.2
WORST_LIMIT = 0.75
LIKE = "@collection.nums.id ~ id && @collection.nums.n ~ 'x'"
RANGE = "@collection.nums.n > n && @collection.nums.n < n"
MIN_HOSTILE = 0.3  # a hostile request quicker than this proves little


@pytest.fixture(scope="module", params=STORES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """One server for the module, with a superuser, a ``files`` and a ``nums`` collection."""
    data_dir = tmp_path_factory.mktemp(f"stalls-{request.param}") / "kb_data"
    with _database(str(request.param)) as db:
        subprocess.run(
            [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
             "--dir", str(data_dir), *db],
            check=True, capture_output=True,
        )  # fmt: skip
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KEELBASE_QUERY_TIMEOUT", str(TIMEOUT))
            server = ServerProcess(data_dir, *db)
            server.db_url = db[-1] if db else ""  # type: ignore[attr-defined]
        try:
            token = httpx.post(
                server.url + "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            ).json()["token"]
            su = {"Authorization": token}
            for body in (
                {"name": "files", "type": "base", "createRule": "", "listRule": "",
                 "fields": [{"name": "doc", "type": "file", "maxSize": 64 << 20}]},
                {"name": "nums", "type": "view", "listRule": "", "viewQuery": NUMBERS},
            ):  # fmt: skip
                made = httpx.post(server.url + "/api/collections", headers=su, json=body)
                assert made.status_code == 200, made.text
            yield server, su
        finally:
            server.stop()


class _database:
    """``--db URL`` for PostgreSQL (a fresh database), nothing for SQLite."""

    def __init__(self, store: str) -> None:
        self.store = store
        self._fresh: object = None

    def __enter__(self) -> list[str]:
        if self.store == "sqlite":
            return []
        require_postgres()
        self._fresh = fresh_database()
        return ["--db", self._fresh.__enter__()]  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self._fresh is not None:
            self._fresh.__exit__(*exc)  # type: ignore[attr-defined]


def _health_while(
    url: str, hostile: Callable[[], httpx.Response]
) -> tuple[httpx.Response, float, list[float]]:
    """Run ``hostile`` in a thread; ask for health until it ends: its answer, time, health times."""
    answers: list[httpx.Response | BaseException] = []

    def run() -> None:
        try:
            answers.append(hostile())
        except BaseException as error:
            answers.append(error)

    times: list[float] = []
    began = time.monotonic()
    worker = threading.Thread(target=run)
    worker.start()
    with httpx.Client(timeout=30) as client:
        client.get(url + "/api/health")  # a warm connection, so times are the server's
        while worker.is_alive():
            asked = time.monotonic()
            assert client.get(url + "/api/health").status_code == 200
            times.append(time.monotonic() - asked)
            time.sleep(0.03)
    took = time.monotonic() - began
    worker.join()
    answer = answers[0]
    if isinstance(answer, BaseException):
        raise answer
    return answer, took, times


def _check(label: str, took: float, times: list[float], least: float = MIN_HOSTILE) -> None:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9)] if times else 0.0
    print(f"{label}: hostile {took:.2f}s, {len(times)} health checks, "
          f"median {statistics.median(times) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
          f"worst {times[-1] * 1000:.1f} ms")  # fmt: skip
    assert took >= least, f"{label}: the hostile request took only {took:.2f}s"
    assert p90 <= P90_LIMIT, f"{label}: health p90 {p90 * 1000:.0f} ms"
    assert times[-1] <= WORST_LIMIT, f"{label}: health worst {times[-1] * 1000:.0f} ms"


def _many_keys(count: int) -> bytes:
    return (
        b'{"identity":"x@example.com","password":"x","m":{'
        + b",".join(b'"k%d":1' % i for i in range(count))
        + b"}}"
    )


def test_a_body_with_a_million_keys(served: tuple[ServerProcess, dict[str, str]]) -> None:
    server, _ = served
    body = _many_keys(1_000_000)
    answer, took, times = _health_while(server.url, lambda: httpx.post(
        server.url + "/api/collections/users/auth-with-password", content=body,
        headers={"Content-Type": "application/json"}, timeout=60,
    ))  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "The body has more than 100000 object keys."
    _check("1M keys", took, times)


def test_an_expensive_filter(served: tuple[ServerProcess, dict[str, str]]) -> None:
    server, su = served
    # every row against every row of the 20,000-row view: millions of comparisons
    # never true, and no index helps: millions of comparisons (each planner defeats the other's)
    rule = RANGE if server.db_url else LIKE
    answer, took, times = _health_while(server.url, lambda: httpx.get(
        server.url + "/api/collections/nums/records", params={"filter": rule}, headers=su,
        timeout=60,
    ))  # fmt: skip
    assert answer.status_code in (200, 400), answer.text
    _check("expensive filter", took, times)


def test_an_endless_view_query(served: tuple[ServerProcess, dict[str, str]]) -> None:
    server, su = served
    answer, took, times = _health_while(server.url, lambda: httpx.post(
        server.url + "/api/collections", headers=su, timeout=60,
        json={"name": "endless", "type": "view", "viewQuery": ENDLESS},
    ))  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["data"]["viewQuery"]["code"] == "validation_invalid_view_query"
    _check("endless view", took, times)


def test_a_big_upload(served: tuple[ServerProcess, dict[str, str]], tmp_path: Path) -> None:
    server, _ = served
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (30 << 20))

    def upload() -> httpx.Response:
        with big.open("rb") as handle:
            return httpx.post(server.url + "/api/collections/files/records", timeout=60,
                              files={"doc": ("big.bin", handle, "application/octet-stream")})  # fmt: skip

    answer, took, times = _health_while(server.url, upload)
    assert answer.status_code == 200, answer.text
    _check("30 MB upload", took, times, least=0.1)  # the quickest: mostly the client's send
