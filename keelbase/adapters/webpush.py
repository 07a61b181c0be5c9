"""Sending one Web Push message: encrypted by pywebpush (``aes128gcm``), signed with VAPID.

pywebpush encrypts for the subscriber's keys and py_vapid signs the JWT whose
``aud`` is the push service's origin; the POST itself goes out through httpx,
so that delivery is asynchronous and bounded by a timeout. Nothing here decides
about retries or removals: the caller reads the status.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pywebpush import WebPusher

JWT_LIFETIME = 12 * 3600  # push services refuse tokens valid for more than 24 hours
JWT_REUSE = 6 * 3600  # a token is signed once per push service and reused this long


class WebPushGateway:
    def __init__(self, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._signers: dict[str, Vapid02] = {}
        # (private key, subject, audience) → (headers, when to sign anew)
        self._tokens: dict[tuple[str, str, str], tuple[dict[str, str], float]] = {}

    def _signer(self, private_key: str) -> Vapid02:
        signer = self._signers.get(private_key)
        if signer is None:
            signer = self._signers[private_key] = Vapid02.from_raw(private_key.encode())
        return signer

    async def send(
        self,
        subscription: dict[str, Any],
        body: bytes,
        *,
        private_key: str,
        subject: str,
        ttl: int,
        urgency: str,
        topic: str = "",
    ) -> int:
        """POST one message; the push service's status (raises ``httpx.HTTPError`` when unreachable)."""
        # ECDH and AES per message: off the event loop, so other requests go on meanwhile
        encrypted = await asyncio.to_thread(
            WebPusher(subscription).encode, body, content_encoding="aes128gcm"
        )
        endpoint = str(subscription["endpoint"])
        parts = urlsplit(endpoint)
        headers = self._authorization(private_key, subject, f"{parts.scheme}://{parts.netloc}")
        headers |= {
            "TTL": str(ttl),
            "Urgency": urgency,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
        }
        if topic:
            headers["Topic"] = topic
        response = await self._client.post(endpoint, content=encrypted["body"], headers=headers)
        return response.status_code

    def _authorization(self, private_key: str, subject: str, audience: str) -> dict[str, str]:
        key = (private_key, subject, audience)
        cached = self._tokens.get(key)
        now = time.time()
        if cached is not None and cached[1] > now:
            return dict(cached[0])
        claims = {"sub": subject, "aud": audience, "exp": int(now) + JWT_LIFETIME}
        headers = {str(k): str(v) for k, v in self._signer(private_key).sign(claims).items()}
        if len(self._tokens) > 1000:  # one per push service in practice; bounded anyway
            self._tokens.clear()
        self._tokens[key] = (headers, now + JWT_REUSE)
        return dict(headers)

    async def close(self) -> None:
        await self._client.aclose()
