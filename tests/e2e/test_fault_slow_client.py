"""A realtime client that never reads its stream (issue 17): it subscribes over a
raw socket with a tiny receive buffer and then stops reading, while large events
are published. The server drops it once its queue passes the byte bound, its memory
stays bounded, and a subscriber that reads gets every event in order.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import ADMIN, Stream, superuser_token

pytestmark = pytest.mark.e2e

EVENTS = 250
TEXT = 100_000  # characters per record: 25 MB of events in all
# RSS the server may gain meanwhile: the stalled client's queue is bounded at 8 MB, and the
# reconnect replay buffer keeps the last 2,000 events (all 25 MB of them here) by design.
GROWTH_LIMIT = 64 << 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    data_dir = tmp_path / "kb_data"
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
                   check=True, capture_output=True)  # fmt: skip
    proc = ServerProcess(data_dir)
    yield proc
    proc.stop()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _stalled_stream(port: int) -> tuple[socket.socket, str]:
    """An SSE connection whose client reads the connect event and then nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    received = b""
    sock.settimeout(10)
    while b"}\n\n" not in received.partition(b"PB_CONNECT")[2]:
        received += sock.recv(4096)
    data = received.split(b"data:", 1)[1].split(b"\n", 1)[0]
    return sock, str(json.loads(data)["clientId"])


def test_a_client_that_never_reads_is_dropped_and_others_get_everything(
    server: ServerProcess,
) -> None:
    token = superuser_token(server.url)
    made = httpx.post(server.url + "/api/collections", headers={"Authorization": token}, json={
        "name": "feed", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "n", "type": "number"}, {"name": "text", "type": "text", "max": TEXT}]})  # fmt: skip
    assert made.status_code == 200, made.text
    stalled, stalled_id = _stalled_stream(server.port)
    reader = Stream(server.url)
    try:
        for client_id in (stalled_id, reader.client_id):
            subscribed = httpx.post(server.url + "/api/realtime",
                                    json={"clientId": client_id, "subscriptions": ["feed/*"]})  # fmt: skip
            assert subscribed.status_code == 204, subscribed.text
        before = _rss(server.proc.pid)
        peak = before
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for n in range(EVENTS):
                created = client.post(
                    "/api/collections/feed/records", json={"n": n, "text": "x" * TEXT}
                )
                assert created.status_code == 200, created.text
                if n % 25 == 0:
                    peak = max(peak, _rss(server.proc.pid))
        got = [int(reader.next(timeout=10)[1]["record"]["n"]) for _ in range(EVENTS)]  # type: ignore[index]
        assert got == list(range(EVENTS))
        peak = max(peak, _rss(server.proc.pid))
        assert "stopped reading; dropping it" in server.log(), server.log()[-3000:]
        assert peak - before < GROWTH_LIMIT, f"RSS grew {(peak - before) >> 20} MB"
        # the server keeps serving after dropping it
        assert httpx.get(server.url + "/api/health").status_code == 200
        print(f"\nRSS {before >> 20} MB before, {peak >> 20} MB at most while {EVENTS} events of "
              f"{TEXT // 1000} kB were published")  # fmt: skip
    finally:
        stalled.close()
        reader.close()
