"""``keelbase serve --http-server granian``: what clients and operators see is uvicorn's.

One real server (granian embedded in ``keelbase serve``) answers most tests; the
stop and the refusals start their own. Run the other process-based suites under
granian with ``KEELBASE_HTTP_SERVER=granian`` (docs/contributing.md).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Queue

import httpx
import pytest

from keelbase.cli import main
from tests.conftest import ServerProcess, free_port

ADMIN = ("admin@example.com", "Passw0rd123")
GRANIAN = ("--http-server", "granian")

# A route that shows the request as the app sees it, and the realtime clients it holds.
SCOPE_HOOK = """
from keelbase import RouteEvent

def setup(app):
    @app.route("/api/scope/{rest:path}", methods=["GET", "POST"])
    async def scope(e: RouteEvent):
        scope = e.request.scope
        return {
            "client": list(scope["client"]),
            "server": list(scope["server"]),
            "http_version": scope["http_version"],
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "realtime_clients": len(e.app.realtime.clients),
        }
"""


PUBLIC_BLOB = bytes(range(256)) * 1200  # a public file: granian sends it itself (pathsend)


def make_data(tmp_path: Path) -> Path:
    data = tmp_path / "kb_data"
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "scope.py").write_text(textwrap.dedent(SCOPE_HOOK))
    public = tmp_path / "kb_public"
    public.mkdir()
    (public / "blob.bin").write_bytes(PUBLIC_BLOB)
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data)],
                   check=True, capture_output=True)  # fmt: skip
    return data


@pytest.fixture(scope="module")
def granian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(make_data(tmp_path_factory.mktemp("granian")), *GRANIAN)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token(granian: ServerProcess) -> str:
    response = httpx.post(granian.url + "/api/collections/_superusers/auth-with-password",
                          json={"identity": ADMIN[0], "password": ADMIN[1]})  # fmt: skip
    return str(response.json()["token"])


@pytest.fixture(scope="module")
def posts(granian: ServerProcess, token: str) -> str:
    """A public ``posts`` collection with a file field."""
    created = httpx.post(granian.url + "/api/collections", headers={"Authorization": token}, json={
        "name": "posts", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
        "deleteRule": "",
        "fields": [{"name": "title", "type": "text"},
                   {"name": "doc", "type": "file", "maxSize": 20_000_000}],
    })  # fmt: skip
    assert created.status_code == 200, created.text
    return granian.url + "/api/collections/posts/records"


def raw(port: int, data: bytes, wait: float = 2.0) -> bytes:
    """What the server answers ``data`` with, until it closes or ``wait`` passes."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait)
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        return answer


class Stream:
    """An SSE connection read on a thread; events land in a queue."""

    def __init__(self, url: str) -> None:
        self.events: Queue[tuple[str, dict[str, object]]] = Queue()
        self.client = httpx.Client(base_url=url, timeout=None)
        threading.Thread(target=self._read, daemon=True).start()
        name, data = self.events.get(timeout=5)
        assert name == "PB_CONNECT"
        self.client_id = str(data["clientId"])

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/api/realtime") as response:
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    if not line:
                        if "event" in event:
                            self.events.put((event["event"], json.loads(event["data"])))
                        event = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        event[key] = value
        except httpx.HTTPError:
            pass


def test_records_crud_with_a_file(posts: str) -> None:
    upload = bytes(range(256)) * 12_000  # 3 MB, several chunks each way
    created = httpx.post(posts, data={"title": "hello"}, files={"doc": ("a.bin", upload)})
    assert created.status_code == 200, created.text
    record = created.json()
    assert created.headers["x-request-id"]
    view = httpx.get(f"{posts}/{record['id']}", headers={"X-Request-Id": "mine-1"})
    assert view.status_code == 200 and view.json()["title"] == "hello"
    assert view.headers["x-request-id"] == "mine-1"
    base = posts.removesuffix("/api/collections/posts/records")
    file_url = f"{base}/api/files/posts/{record['id']}/{record['doc']}"
    downloaded = httpx.get(file_url)
    assert downloaded.status_code == 200 and downloaded.content == upload
    head = httpx.head(file_url)
    assert head.status_code == 200 and head.content == b""
    updated = httpx.patch(f"{posts}/{record['id']}", json={"title": "bye"})
    assert updated.json()["title"] == "bye"
    assert httpx.delete(f"{posts}/{record['id']}").status_code == 204
    missing = httpx.get(f"{posts}/{record['id']}")
    assert missing.status_code == 404
    assert set(missing.json()) == {"data", "message", "status"}  # PocketBase's error shape


def test_public_files_whole_in_ranges_and_head(granian: ServerProcess) -> None:
    url = granian.url + "/blob.bin"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == PUBLIC_BLOB
    assert whole.headers["content-length"] == str(len(PUBLIC_BLOB)) and whole.headers["etag"]
    assert whole.headers["x-request-id"] and whole.headers["x-frame-options"] == "SAMEORIGIN"
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == PUBLIC_BLOB[10:20]
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(PUBLIC_BLOB))


def test_the_scope_is_as_uvicorn_gives_it(granian: ServerProcess) -> None:
    seen = httpx.get(granian.url + "/api/scope/a%2Fb/c%20d?q=%20x&y=%2F").json()
    assert seen["client"][0] == "127.0.0.1" and isinstance(seen["client"][1], int)
    assert seen["server"] == ["127.0.0.1", granian.port]
    assert seen["http_version"] == "1.1"
    assert (seen["path"], seen["raw_path"]) == ("/api/scope/a/b/c d", "/api/scope/a%2Fb/c%20d")
    assert seen["query"] == "q=%20x&y=%2F"
    old = raw(granian.port, b"GET /api/scope/x HTTP/1.0\r\n\r\n")
    assert old.startswith(b"HTTP/1.0 200") and b'"http_version":"1.0"' in old


def test_keep_alive_and_pipelining(granian: ServerProcess) -> None:
    get = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = raw(granian.port, get + get + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 3


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /api/\x01health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_request_gets_a_4xx(granian: ServerProcess, request_bytes: bytes) -> None:
    answer = raw(granian.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert httpx.get(granian.url + "/api/health").status_code == 200


def test_an_oversize_body_gets_413(granian: ServerProcess) -> None:
    big = b"x" * (33 << 20)  # past the 32 MiB limit of a body without files

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    for content in (big, chunks()):  # with Content-Length, then chunked
        answer = httpx.post(granian.url + "/api/realtime", content=content,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 413, answer.text[:200]
        assert set(answer.json()) == {"data", "message", "status"}


def test_realtime_subscribe_event_and_disconnect(granian: ServerProcess, posts: str) -> None:
    stream = Stream(granian.url)
    subscribed = httpx.post(granian.url + "/api/realtime",
                            json={"clientId": stream.client_id, "subscriptions": ["posts/*"]})  # fmt: skip
    assert subscribed.status_code == 204, subscribed.text
    created = httpx.post(posts, json={"title": "live"}).json()
    name, data = stream.events.get(timeout=5)
    assert name == "posts/*"
    assert data["action"] == "create" and data["record"]["id"] == created["id"]  # type: ignore[index]

    def clients() -> int:
        return int(httpx.get(granian.url + "/api/scope/x").json()["realtime_clients"])

    before = clients()
    with socket.create_connection(("127.0.0.1", granian.port)) as sock:
        sock.sendall(b"GET /api/realtime HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"PB_CONNECT" not in received:
            received += sock.recv(4096)
        assert clients() == before + 1
    deadline = time.monotonic() + 5  # the peer went: the hub lets its client go
    while clients() != before:
        assert time.monotonic() < deadline, "the hub kept a client whose connection closed"
        time.sleep(0.05)


def test_more_open_streams_than_granian_allows_by_default(granian: ServerProcess) -> None:
    """granian handles 128 requests at once unless told otherwise; streams count."""
    sockets = []
    try:
        for _ in range(160):
            sock = socket.create_connection(("127.0.0.1", granian.port))
            sock.sendall(b"GET /api/realtime HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(sock)
        sockets[-1].settimeout(5)
        assert sockets[-1].recv(4096).startswith(b"HTTP/1.1 200")
        assert httpx.get(granian.url + "/api/health", timeout=5).status_code == 200
    finally:
        for sock in sockets:
            sock.close()


def test_sigterm_with_an_open_stream_stops_at_once_and_cleanly(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "kb_data", *GRANIAN)
    log = ""
    try:
        Stream(server.url)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 3, "an open stream held the shutdown"
    finally:
        log = server.log()
    assert "Server started at" in log
    assert "keelbase stopped cleanly" in log
    assert "Traceback" not in log and "experimental" not in log


def test_requests_in_flight_finish_and_a_second_ctrl_c_cancels_the_rest(tmp_path: Path) -> None:
    """Hooks run in the app's own loop (uvloop); at the stop, a slow route's answer still goes
    out, and a stuck one holds the stop until a second Ctrl-C cancels it."""
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "slow.py").write_text(textwrap.dedent("""
        import asyncio

        from keelbase import RouteEvent

        def setup(app):
            @app.route("/api/slow", methods=["GET"])
            async def slow(e: RouteEvent):
                await asyncio.sleep(1)
                return {"loop": type(asyncio.get_running_loop()).__module__}

            @app.route("/api/stuck", methods=["GET"])
            async def stuck(e: RouteEvent):
                await asyncio.sleep(600)
        """))  # fmt: skip
    server = ServerProcess(tmp_path / "kb_data", *GRANIAN)
    answers: dict[str, httpx.Response | Exception] = {}

    def call(path: str) -> None:
        try:
            answers[path] = httpx.get(server.url + path, timeout=30)
        except httpx.HTTPError as error:
            answers[path] = error

    threads = [threading.Thread(target=call, args=(path,)) for path in ("/api/slow", "/api/stuck")]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGINT)
    threads[0].join(5)
    slow = answers["/api/slow"]
    assert isinstance(slow, httpx.Response) and slow.status_code == 200
    assert slow.json() == {"loop": "uvloop"}
    time.sleep(0.3)
    assert server.proc.poll() is None, "the stuck request gets its grace"
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=5) == 0
    threads[1].join(5)
    stuck = answers["/api/stuck"]
    assert isinstance(stuck, Exception) or stuck.status_code == 500
    server.stop()
    assert "keelbase stopped cleanly" in server.log()


def test_a_busy_port_is_an_error_not_a_shared_port(granian: ServerProcess, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", *GRANIAN, "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{granian.port}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{granian.port}" in done.stderr


def test_workers_serve_and_stop_at_once_with_open_streams(tmp_path: Path) -> None:
    """``--workers 2``: forked workers on one socket; SIGTERM ends their streams and them."""
    server = ServerProcess(tmp_path / "kb_data", *GRANIAN, "--workers", "2")
    try:
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text()
        assert len(children.split()) == 2
        streams = [Stream(server.url) for _ in range(6)]
        assert all(stream.client_id for stream in streams)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 5, "an open stream held the shutdown"
    finally:
        log = server.log()
    assert "├─ workers:   2 (sharing through the local hub)" in log
    assert log.count("keelbase stopped cleanly") == 3  # the supervisor's start, then each worker
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--http-server", "hypercorn"), "unknown HTTP server 'hypercorn'"),
        ((*GRANIAN, "--https", "127.0.0.1:0", "--httpsCert", "c.pem", "--httpsKey", "k.pem"),
         "--https needs --http-server uvicorn"),
        ((*GRANIAN, "example.com"), "domain arguments (automatic HTTPS) need --http-server uvicorn"),
    ],
)  # fmt: skip
def test_what_granian_does_not_serve_is_refused(
    arguments: tuple[str, ...],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    argv = ["serve", "--dir", str(tmp_path / "kb_data"), "--http", f"127.0.0.1:{free_port()}"]
    assert main([*argv, *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "kb_data").exists()  # refused before anything started


def test_the_environment_chooses_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEELBASE_HTTP_SERVER", "nginx")
    assert main(["serve", "--dir", str(tmp_path / "kb_data")]) == 2
    assert "unknown HTTP server 'nginx' (--http-server, KEELBASE_HTTP_SERVER)" in (
        capsys.readouterr().err
    )
