"""The batched HTTP protocol: a turn's writes leave together, in order, bounded, never lost.

The first tests drive ``BatchedTransport`` on a real event loop over a transport
that records what reaches it; the rest talk to a real ``keelbase serve`` over
raw sockets: pipelined requests, answers larger than what a connection may
hold, many clients at once.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from keelbase.batched_transport import HOLD_LIMIT, BatchedTransport, turn_of, unbatched
from tests.conftest import ServerProcess


class Recording(asyncio.Transport):
    """Where bytes would go to the network: kept, with the moment each write came."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 7

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")


class Broken(Recording):
    def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("the connection broke")


def batched() -> tuple[BatchedTransport, Recording]:
    real = Recording()
    return BatchedTransport(real, turn_of(asyncio.get_running_loop())), real


@pytest.mark.anyio
async def test_writes_wait_for_the_end_of_the_turn_and_keep_their_order() -> None:
    first, first_real = batched()
    second, second_real = batched()
    first.write(b"HTTP/1.1 200 OK\r\n\r\n")
    second.write(b"a")
    first.write(b"body")
    second.write(b"b")
    assert first_real.writes == [] and second_real.writes == []
    assert first.get_write_buffer_size() == 7 + len(b"HTTP/1.1 200 OK\r\n\r\nbody")
    await asyncio.sleep(0)
    # one write per connection: the head and the body in one piece
    assert first_real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert second_real.writes == [b"ab"]
    first.write(b"next")
    await asyncio.sleep(0)
    assert first_real.writes[-1] == b"next"


@pytest.mark.anyio
async def test_a_long_write_goes_at_once_after_what_is_held() -> None:
    transport, real = batched()
    transport.write(b"head")
    long = b"x" * (HOLD_LIMIT + 1)
    transport.write(long)
    assert real.writes == [b"head", long]  # nothing waited for the turn, nothing reordered
    await asyncio.sleep(0)
    assert real.writes == [b"head", long]


@pytest.mark.anyio
async def test_closing_writes_what_is_held_first_and_abort_drops_it() -> None:
    transport, real = batched()
    transport.write(b"last answer")
    transport.close()
    assert real.writes == [b"last answer"] and real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"last answer"]  # not twice

    transport, real = batched()
    transport.write(b"never sent")
    transport.abort()
    await asyncio.sleep(0)
    assert real.writes == [] and real.aborted


@pytest.mark.anyio
async def test_writelines_and_write_eof_keep_the_order() -> None:
    transport, real = batched()
    transport.writelines([b"a", b"b"])
    transport.write_eof()
    assert real.writes == [b"ab", b"<eof>"]


@pytest.mark.anyio
async def test_a_broken_connection_does_not_keep_the_others_answers() -> None:
    broken_real = Broken()
    broken = BatchedTransport(broken_real, turn_of(asyncio.get_running_loop()))
    healthy, healthy_real = batched()
    broken.write(b"lost")
    healthy.write(b"answer")
    await asyncio.sleep(0)
    assert healthy_real.writes == [b"answer"]
    assert broken_real.aborted


@pytest.mark.anyio
async def test_nothing_is_written_to_a_connection_already_closing() -> None:
    transport, real = batched()
    transport.write(b"too late")
    real.closed = True  # the peer went away
    await asyncio.sleep(0)
    assert real.writes == []


@pytest.mark.anyio
async def test_a_stream_taking_the_connection_gets_what_was_held_first() -> None:
    transport, real = batched()
    transport.write(b"head")
    direct = unbatched(transport)
    assert direct is real and real.writes == [b"head"]
    direct.write(b"event")
    await asyncio.sleep(0)
    assert real.writes == [b"head", b"event"]
    assert unbatched(real) is real  # a transport of another server passes through


# A real server ---------------------------------------------------------------

BLOB = bytes(range(256)) * 1000  # 256,000 bytes: several times what a connection holds


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("batched")
    public = root / "public"
    public.mkdir()
    (public / "blob.bin").write_bytes(BLOB)
    server = ServerProcess(root / "kb_data", "--publicDir", str(public))
    try:
        yield server
    finally:
        server.stop()


def exchange(port: int, payload: bytes, timeout: float = 10.0) -> bytes:
    """Send ``payload`` at once, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(payload)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_answers(raw: bytes) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
    """Split pipelined HTTP/1.1 answers (all with Content-Length) into head line, headers, body."""
    answers = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers[b"content-length"])
        answers.append((lines[0], headers, rest[:length]))
        raw = rest[length:]
    return answers


def get(path: str, request_id: str, close: bool = False) -> bytes:
    last = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {request_id}\r\n{last}\r\n".encode()


def test_pipelined_requests_are_answered_whole_and_in_order(served: ServerProcess) -> None:
    paths = ["/api/health", "/blob.bin", "/api/health", "/api/nothing", "/blob.bin"] * 4
    payload = b"".join(get(path, f"req-{n}", n == len(paths) - 1) for n, path in enumerate(paths))
    answers = split_answers(exchange(served.port, payload))
    assert [headers[b"x-request-id"] for _, headers, _ in answers] == [
        f"req-{n}".encode() for n in range(len(paths))
    ]
    for path, (status, _, body) in zip(paths, answers, strict=True):
        if path == "/blob.bin":
            assert status == b"HTTP/1.1 200 OK" and body == BLOB
        elif path == "/api/health":
            assert status == b"HTTP/1.1 200 OK" and b"API is healthy" in body
        else:
            assert status == b"HTTP/1.1 404 Not Found"


def test_a_head_request_and_a_no_content_answer_complete(served: ServerProcess) -> None:
    payload = (
        b"HEAD /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"OPTIONS /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        + get("/api/health", "after", close=True)
    )
    raw = exchange(served.port, payload)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert raw.count(b"HTTP/1.1 204 No Content") == 1
    assert raw.count(b"HTTP/1.1 200 OK") == 2 and raw.endswith(b"}")
    assert re.search(rb"x-request-id: after", raw)


def test_many_clients_at_once_each_get_their_own_answers(served: ServerProcess) -> None:
    failures: list[str] = []

    def client(number: int) -> None:
        try:
            with httpx.Client(base_url=served.url, timeout=20) as http:
                for attempt in range(15):
                    rid = f"c{number}-{attempt}"
                    path = "/blob.bin" if attempt % 5 == 0 else "/api/health"
                    answer = http.get(path, headers={"X-Request-Id": rid})
                    if answer.headers["x-request-id"] != rid:
                        failures.append(f"{rid}: got {answer.headers['x-request-id']}")
                    if path == "/blob.bin" and answer.content != BLOB:
                        failures.append(f"{rid}: the file came back changed")
                    if path == "/api/health" and answer.json()["code"] != 200:
                        failures.append(f"{rid}: {answer.text[:100]}")
        except Exception as error:
            failures.append(f"client {number}: {error!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
