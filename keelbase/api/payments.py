"""``/api/payments/...``: Stripe checkout, billing portal and webhooks (``services/payments``).

The webhook reads the raw bytes itself, under its own size limit: Stripe signs
the exact body, so it is never parsed before the signature is checked.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, read_body, read_raw, request_info
from keelbase.api.responses import json_response


async def checkout(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request)
    return json_response(await app_of(request).payments.checkout(info.auth, body))


async def portal(request: Request) -> Response:
    info = await request_info(request)
    body = await read_body(request)
    return json_response(await app_of(request).payments.portal(info.auth, body))


async def config(request: Request) -> Response:
    return json_response(app_of(request).payments.public_config())


async def webhook(request: Request) -> Response:
    # Imported here: the payments service is built on first use, not at start (``App.payments``).
    from keelbase.services.payments.service import WEBHOOK_BODY_LIMIT

    payload = await read_raw(request, WEBHOOK_BODY_LIMIT)
    signature = request.headers.get("stripe-signature", "")
    return json_response(await app_of(request).payments.receive_webhook(payload, signature))


routes = [
    Route("/api/payments/checkout", checkout, methods=["POST"]),
    Route("/api/payments/portal", portal, methods=["POST"]),
    Route("/api/payments/config", config, methods=["GET"]),
    Route("/api/payments/webhook", webhook, methods=["POST"]),
]
