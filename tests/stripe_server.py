"""A Stripe-compatible API on loopback, and webhooks signed exactly as Stripe signs them.

It speaks what Keelbase calls, the way the ``stripe`` SDK calls it: form-encoded
``POST``s with nested keys (``line_items[0][price]``), a secret key as Bearer
token (refused otherwise, as Stripe does), Stripe's JSON objects and list
pages (``limit``, ``starting_after``, ``has_more``), and Stripe's error shape.
Endpoints: customers, checkout sessions, billing portal sessions, products and
prices (list), and cancelling a subscription (``DELETE /v1/subscriptions/{id}``,
which sends ``customer.subscription.deleted`` to ``forward_to`` when set). ``GET /pay/{session}`` plays the hosted checkout page: it
completes the session and redirects to the session's ``success_url``; with
``forward_to`` set it first sends the session's events there, as Stripe (or
``stripe listen --forward-to``) does, else the test delivers them.

``signed(event, secret)`` signs a webhook body as Stripe does:
``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

SECRET_KEY = "sk_test_keelbase0123456789"
PUBLISHABLE_KEY = "pk_test_keelbase0123456789"
WEBHOOK_SECRET = "whsec_keelbaseTestSecret0123456789"
_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_counter):06d}{int(time.time() * 1000) % 100000:05d}"


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's nested form keys (``a[b][0][c]=v``) as dicts and lists, as its API reads them."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = out
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            child: Any = value if last else ([] if following.isdigit() else {})  # type: ignore[union-attr]
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if node[position] is None or last:
                    node[position] = child
                node = node[position]
            else:
                if part not in node or last:
                    node[part] = child
                node = node[part]
    return out


def signed(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and the headers Stripe sends with it."""
    body = orjson.dumps(event)
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {
        "Stripe-Signature": f"t={timestamp},v1={digest}",
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


def event_of(event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An event as Stripe sends it (``data.object`` holds the object as it is after the change)."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


@dataclass
class StripeServer:
    url: str
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_sessions: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Where webhooks go, as ``stripe listen --forward-to`` sets it ("" = the test delivers them).
    forward_to: str = ""
    delivered: list[int] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Answer every cancellation with this status (0: cancel it), to play Stripe being down.
    cancel_fails_with: int = 0
    # The events of cancellations (a test without ``forward_to`` delivers them itself).
    sent: list[dict[str, Any]] = field(default_factory=list)

    def add_product(
        self, name: str, unit_amount: int = 900, interval: str = "month"
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        now = int(time.time())
        product = {"id": new_id("prod"), "object": "product", "active": True, "name": name,
                   "description": f"{name} plan", "metadata": {}, "created": now}  # fmt: skip
        price = {"id": new_id("price"), "object": "price", "active": True, "currency": "eur",
                 "product": product["id"], "unit_amount": unit_amount, "created": now,
                 "type": "recurring" if interval else "one_time", "metadata": {},
                 "recurring": {"interval": interval, "interval_count": 1} if interval else None}  # fmt: skip
        self.products.append(product)
        self.prices.append(price)
        return product, price

    def complete(self, session_id: str) -> list[dict[str, Any]]:
        """The customer paid on the hosted page: the events Stripe sends, in its order."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid")
        now = int(time.time())
        price = next(p for p in self.prices if p["id"] == session["line_items"][0]["price"])
        quantity = int(session["line_items"][0].get("quantity", 1))
        metadata = session.get("metadata", {})
        events = []
        if session["mode"] == "subscription":
            subscription = {
                "id": new_id("sub"), "object": "subscription", "customer": session["customer"],
                "status": "active", "cancel_at_period_end": False, "canceled_at": None,
                "ended_at": None, "created": now, "current_period_start": now,
                "current_period_end": now + 30 * 86400,
                "metadata": session.get("subscription_data", {}).get("metadata", {}),
                "items": {"object": "list", "data": [
                    {"id": new_id("si"), "object": "subscription_item", "price": price,
                     "quantity": quantity}]},
            }  # fmt: skip
            session["subscription"] = subscription["id"]
            self.subscriptions[subscription["id"]] = subscription
            events.append(event_of("checkout.session.completed", dict(session), now))
            events.append(event_of("customer.subscription.created", subscription, now))
        else:
            amount = int(price["unit_amount"]) * quantity
            intent = {
                "id": new_id("pi"), "object": "payment_intent", "amount": amount,
                "amount_received": amount, "currency": price["currency"],
                "customer": session["customer"], "status": "succeeded", "invoice": None,
                "metadata": session.get("payment_intent_data", {}).get("metadata", {}),
                "created": now,
            }  # fmt: skip
            session.update(
                payment_intent=intent["id"], amount_total=amount, currency=price["currency"]
            )
            events.append(event_of("checkout.session.completed", dict(session), now))
            events.append(event_of("payment_intent.succeeded", intent, now))
        del metadata
        return events


def _error(message: str, status: int = 400, kind: str = "invalid_request_error") -> Response:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def build_app(server: StripeServer) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {SECRET_KEY}"

    async def customers(request: Request) -> Response:
        if not authorized(request):
            return _error("Invalid API Key provided.", 401)
        params = decode_form(await request.body())
        server.requests.append(("customers", request.headers.get("idempotency-key", "")))
        customer = {"id": new_id("cus"), "object": "customer", "email": params.get("email"),
                    "metadata": params.get("metadata", {}), "created": int(time.time())}  # fmt: skip
        server.customers[customer["id"]] = customer
        return JSONResponse(customer)

    async def checkout_sessions(request: Request) -> Response:
        if not authorized(request):
            return _error("Invalid API Key provided.", 401)
        params = decode_form(await request.body())
        for item in params.get("line_items", []):
            if not any(p["id"] == item.get("price") for p in server.prices):
                return _error(f"No such price: '{item.get('price')}'")
        if params.get("customer") not in server.customers:
            return _error(f"No such customer: '{params.get('customer')}'")
        session_id = new_id("cs")
        session = {**params, "id": session_id, "object": "checkout.session",
                   "url": f"{server.url}/pay/{session_id}", "status": "open",
                   "payment_status": "unpaid", "created": int(time.time())}  # fmt: skip
        server.sessions[session_id] = session
        return JSONResponse({k: v for k, v in session.items() if k != "line_items"})

    async def portal_sessions(request: Request) -> Response:
        if not authorized(request):
            return _error("Invalid API Key provided.", 401)
        params = decode_form(await request.body())
        if params.get("customer") not in server.customers:
            return _error(f"No such customer: '{params.get('customer')}'")
        session = {"id": new_id("bps"), "object": "billing_portal.session",
                   "customer": params["customer"], "return_url": params.get("return_url"),
                   "url": f"{server.url}/portal/{params['customer']}"}  # fmt: skip
        server.portal_sessions.append(session)
        return JSONResponse(session)

    def listing(items: list[dict[str, Any]], path: str) -> Any:
        async def endpoint(request: Request) -> Response:
            if not authorized(request):
                return _error("Invalid API Key provided.", 401)
            limit = int(request.query_params.get("limit", "10"))
            after = request.query_params.get("starting_after")
            start = next((i + 1 for i, o in enumerate(items) if o["id"] == after), 0)
            page = items[start : start + limit]
            return JSONResponse({"object": "list", "url": path, "data": page,
                                 "has_more": start + limit < len(items)})  # fmt: skip

        return endpoint

    async def cancel_subscription(request: Request) -> Response:
        if not authorized(request):
            return _error("Invalid API Key provided.", 401)
        if server.cancel_fails_with:
            return _error("Stripe is having trouble.", server.cancel_fails_with, "api_error")
        subscription = server.subscriptions.get(request.path_params["id"])
        if subscription is None:
            return _error(f"No such subscription: '{request.path_params['id']}'", 404)
        if subscription["status"] == "canceled":
            return _error("This subscription has already been canceled.")
        now = int(time.time())
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        event = event_of("customer.subscription.deleted", dict(subscription))
        server.sent.append(event)

        async def forward() -> None:  # after the answer, as Stripe sends its events
            body, headers = signed(event)
            async with httpx.AsyncClient(timeout=30) as http:
                sent = await http.post(server.forward_to, content=body, headers=headers)
                server.delivered.append(sent.status_code)

        background = BackgroundTask(forward) if server.forward_to else None
        return JSONResponse(subscription, background=background)

    async def pay(request: Request) -> Response:
        session = server.sessions.get(request.path_params["session"])
        if session is None:
            return Response("no such session", 404)
        if server.forward_to:
            async with httpx.AsyncClient(timeout=30) as http:
                for event in server.complete(session["id"]):
                    body, headers = signed(event)
                    sent = await http.post(server.forward_to, content=body, headers=headers)
                    server.delivered.append(sent.status_code)
        return RedirectResponse(session["success_url"], status_code=303)

    return Starlette(
        routes=[
            Route("/v1/customers", customers, methods=["POST"]),
            Route("/v1/checkout/sessions", checkout_sessions, methods=["POST"]),
            Route("/v1/billing_portal/sessions", portal_sessions, methods=["POST"]),
            Route("/v1/products", listing(server.products, "/v1/products"), methods=["GET"]),
            Route("/v1/prices", listing(server.prices, "/v1/prices"), methods=["GET"]),
            Route("/v1/subscriptions/{id}", cancel_subscription, methods=["DELETE"]),
            Route("/pay/{session}", pay, methods=["GET"]),
        ]
    )


@contextmanager
def running_stripe() -> Iterator[StripeServer]:
    """Serve a Stripe-compatible API on a free loopback port in a thread, for the block."""
    port = free_port()
    server = StripeServer(url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(build_app(server), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test Stripe server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        uv.should_exit = True
        thread.join(10)
