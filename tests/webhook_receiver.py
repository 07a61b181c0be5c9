"""A real HTTP webhook receiver on loopback that verifies Standard Webhooks signatures.

It runs in its own thread. ``fail_first`` makes it answer 500 to that many
requests before it answers 200; every request is kept with whether its
signature verified (with the ``standardwebhooks`` library, not Keelbase's code).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.secret = ""
        self.fail_first = 0
        self.always_fail = False
        self.slow_first = 0  # that many requests are answered only after ``slowness`` seconds
        self.slowness = 0.0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except (WebhookVerificationError, ValueError):
                    verified = False
                with receiver._lock:
                    slow = receiver.slow_first > 0
                    receiver.slow_first -= 1 if slow else 0
                if slow:
                    time.sleep(receiver.slowness)
                with receiver._lock:
                    failing = receiver.always_fail or receiver.fail_first > 0
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                    status = 500 if failing else 200
                    receiver.received.append(Received(headers, body, verified, status))
                answer = b"nope " * 400 if failing else b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ok(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status == 200]

    def wait_ok(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.ok()) < count:
            assert time.monotonic() < deadline, f"expected {count} deliveries, got {self.received}"
            time.sleep(0.02)
        return self.ok()


@contextmanager
def running_receiver(port: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(port).start()
    try:
        yield receiver
    finally:
        receiver.stop()
