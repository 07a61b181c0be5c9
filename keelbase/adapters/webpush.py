"""Sending one Web Push message: encrypted by pywebpush (``aes128gcm``), signed with VAPID.

pywebpush encrypts for the subscriber's keys and py_vapid signs the JWT whose
``aud`` is the push service's origin; the POST itself goes out through httpx,
so that delivery is asynchronous and bounded by a timeout. Nothing here decides
about retries or removals: the caller reads the status.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pywebpush import WebPusher

JWT_LIFETIME = 12 * 3600  # push services refuse tokens valid for more than 24 hours


class WebPushGateway:
    def __init__(self, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._signers: dict[str, Vapid02] = {}

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
        encrypted = WebPusher(subscription).encode(body, content_encoding="aes128gcm")
        endpoint = str(subscription["endpoint"])
        parts = urlsplit(endpoint)
        claims = {
            "sub": subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + JWT_LIFETIME,
        }
        headers = {str(k): str(v) for k, v in self._signer(private_key).sign(claims).items()}
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

    async def close(self) -> None:
        await self._client.aclose()
