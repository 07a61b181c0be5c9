"""A fake Web Push service on loopback that checks what a real one checks.

Each subscriber is a key pair made here (as a browser makes one) and an
endpoint ``/push/<name>``. A message must carry a VAPID ``Authorization:
vapid t=<JWT>, k=<key>`` whose ES256 signature verifies with ``k``, whose
``aud`` is this service's origin and whose ``exp`` lies in the next 24 hours,
a ``TTL`` header, and an ``aes128gcm`` body that ``http_ece`` decrypts with the
subscriber's private key and auth secret. Accepted messages are kept in
``service.received`` (201); ``service.status[name]`` makes an endpoint answer
otherwise (410 for a dropped subscription, 500 for a failing service).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """A browser's side of a push subscription."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}  # fmt: skip


@dataclass
class Received:
    name: str
    payload: bytes
    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str


class FakePushService:
    def __init__(self) -> None:
        self.url = ""
        self.subscribers: dict[str, Subscriber] = {}
        self.status: dict[str, int] = {}
        self.received: list[Received] = []
        self.refused: list[str] = []  # why messages were refused
        self.expected_key = ""  # when set: the VAPID public key every message must carry

    def subscriber(self, name: str) -> Subscriber:
        made = self.subscribers[name] = Subscriber(f"{self.url}/push/{name}")
        return made

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    async def push(self, request: Request) -> Response:
        name = request.path_params["name"]
        subscriber = self.subscribers.get(name)
        if subscriber is None:
            return PlainTextResponse("no such subscription", 404)
        try:
            claims, key = self._check_vapid(request.headers.get("authorization", ""))
            if "ttl" not in request.headers:
                raise ValueError("no TTL header")
            if request.headers.get("content-encoding") != "aes128gcm":
                raise ValueError("not aes128gcm")
            payload = http_ece.decrypt(
                await request.body(), private_key=subscriber.key,
                auth_secret=subscriber.auth, version="aes128gcm",
            )  # fmt: skip
        except Exception as error:  # a refused message answers 400 with the reason
            self.refused.append(f"{type(error).__name__}: {error}")
            return PlainTextResponse(str(error), 400)
        status = self.status.get(name, 201)
        if status == 201:
            self.received.append(Received(name, payload, dict(request.headers), claims, key))
        return Response(status_code=status)

    def _check_vapid(self, header: str) -> tuple[dict[str, Any], str]:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"not a VAPID authorization: {header!r}")
        params = dict(part.strip().split("=", 1) for part in rest.split(","))
        key = params["k"]
        if self.expected_key and key != self.expected_key:
            raise ValueError("signed with another key than the app's")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        claims = jwt.decode(params["t"], public, algorithms=["ES256"], audience=self.url)
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            raise ValueError("exp out of range")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("no sub")
        return claims, key


@contextmanager
def running_push_service() -> Iterator[FakePushService]:
    """Serve a fake push service on a free loopback port in a thread, for the block's duration."""
    service = FakePushService()
    port = free_port()
    service.url = f"http://127.0.0.1:{port}"
    app = Starlette(routes=[Route("/push/{name}", service.push, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield service
    finally:
        server.should_exit = True
        thread.join(10)
