"""Payments with Stripe against a Stripe-compatible server on loopback, on both stores.

Checkout, the billing portal and the catalogue backfill call the real SDK over
HTTP; webhooks are signed as Stripe signs them and sent to the real endpoint.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App, PaymentEvent, RecordEvent, RouteEvent
from tests.api.conftest import PASSWORD, serving, superuser_headers
from tests.api.sse import SseStream
from tests.conftest import free_port
from tests.stripe_server import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    StripeServer,
    event_of,
    running_stripe,
    signed,
)

APP_URL = "http://localhost:8090"
RULE = '@collection._subscriptions.user ?= @request.auth.id && @collection._subscriptions.status ?= "active"'


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on its own event loop (the app is started inside it)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture(scope="module")
def stripe_api() -> Iterator[StripeServer]:
    with running_stripe() as server:
        yield server


def stripe_settings(server: StripeServer) -> dict[str, Any]:
    return {
        "payments": {
            "stripe": {
                "secretKey": SECRET_KEY,
                "publishableKey": PUBLISHABLE_KEY,
                "webhookSecret": WEBHOOK_SECRET,
                "apiBase": server.url,
            }
        }
    }


class Shop:
    """A started app with payments on, a superuser, two users and a rule-guarded ``posts``."""

    def __init__(self, app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        self.app, self.client, self.admin = app, client, admin
        self.users: dict[str, tuple[str, dict[str, str]]] = {}

    async def user(self, name: str) -> tuple[str, dict[str, str]]:
        email = f"{name}@example.com"
        created = await self.client.post(
            "/api/collections/users/records",
            json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
        )
        assert created.status_code == 200, created.text
        signed_in = await self.client.post(
            "/api/collections/users/auth-with-password",
            json={"identity": email, "password": PASSWORD},
        )
        assert signed_in.status_code == 200, signed_in.text
        self.users[name] = (created.json()["id"], {"Authorization": signed_in.json()["token"]})
        return self.users[name]

    async def webhook(self, event: dict[str, Any], **sign: Any) -> httpx.Response:
        body, headers = signed(event, **sign)
        return await self.client.post("/api/payments/webhook", content=body, headers=headers)

    async def deliver(self, *events: dict[str, Any]) -> None:
        for event in events:
            answer = await self.webhook(event)
            assert answer.status_code == 200, answer.text

    async def records(self, collection: str, who: dict[str, str] | None = None) -> list[Any]:
        listed = await self.client.get(
            f"/api/collections/{collection}/records?perPage=200",
            headers=self.admin if who is None else who,
        )
        assert listed.status_code == 200, listed.text
        return list(listed.json()["items"])

    async def checkout(self, who: dict[str, str], price: str, mode: str = "subscription") -> Any:
        answer = await self.client.post(
            "/api/payments/checkout",
            headers=who,
            json={"price": price, "mode": mode, "successUrl": f"{APP_URL}/thanks",
                  "cancelUrl": f"{APP_URL}/pricing"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        return answer.json()


@asynccontextmanager
async def shop(data_dir: Path, db_url: str, stripe_api: StripeServer) -> AsyncIterator[Shop]:
    async with serving(data_dir, db_url) as (app, client):
        admin = await superuser_headers(app, client)
        saved = await client.patch("/api/settings", headers=admin, json=stripe_settings(stripe_api))
        assert saved.status_code == 200, saved.text
        created = await client.post(
            "/api/collections",
            headers=admin,
            json={"name": "posts", "listRule": RULE, "fields": [{"name": "title", "type": "text"}]},
        )
        assert created.status_code == 200, created.text
        post = await client.post(
            "/api/collections/posts/records", headers=admin, json={"title": "members only"}
        )
        assert post.status_code == 200, post.text
        yield Shop(app, client, admin)


def subscription_event(
    event_type: str, sub: dict[str, Any], created: int, **changes: Any
) -> dict[str, Any]:
    sub.update(changes)
    return event_of(event_type, dict(sub), created)


@sync
async def test_settings_secrets_are_write_only_and_shapes_checked(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        shown = (await s.client.get("/api/settings", headers=s.admin)).json()["payments"]["stripe"]
        assert shown == {"publishableKey": PUBLISHABLE_KEY, "apiBase": stripe_api.url}
        for bad in (
            {"secretKey": PUBLISHABLE_KEY},
            {"publishableKey": SECRET_KEY},
            {"webhookSecret": "nope"},
            {"apiBase": "ftp://x"},
            {"secretKey": 5},
        ):
            answer = await s.client.patch(
                "/api/settings", headers=s.admin, json={"payments": {"stripe": bad}}
            )
            assert answer.status_code == 400, (bad, answer.text)
        names = {
            c["name"]
            for c in (await s.client.get("/api/collections?perPage=100", headers=s.admin)).json()[
                "items"
            ]
        }
        assert {"_products", "_prices", "_customers", "_subscriptions", "_payments"} <= names
        config = (await s.client.get("/api/payments/config")).json()
        assert config == {"enabled": True, "publishableKey": PUBLISHABLE_KEY}


@sync
async def test_no_payment_collections_until_configured(tmp_path: Path, db_url: str) -> None:
    async with serving(tmp_path / "kb_data", db_url) as (app, client):
        assert app.collections.schema.get("_subscriptions") is None
        _, headers = await Shop(app, client, {}).user("early")
        answer = await client.post("/api/payments/checkout", headers=headers, json={})
        assert answer.status_code == 400
        assert answer.json()["message"] == "Payments are not configured."


@sync
async def test_subscription_opens_a_rule_guarded_collection_for_its_owner_only(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, price = stripe_api.add_product("Pro")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        alice_id, alice = await s.user("alice")
        _, bob = await s.user("bob")
        fired: list[str] = []

        @s.app.on_payment_event()
        async def count(e: PaymentEvent) -> None:
            await e.next()
            fired.append(e.type)

        session = await s.checkout(alice, price["id"])
        assert session["url"].startswith(stripe_api.url + "/pay/")
        sent = stripe_api.sessions[session["id"]]
        assert sent["client_reference_id"] == alice_id
        assert sent["subscription_data"]["metadata"]["keelbase_user"] == alice_id
        assert sent["line_items"] == [{"price": price["id"], "quantity": "1"}]
        customer = stripe_api.customers[sent["customer"]]
        assert customer["email"] == "alice@example.com"
        # the second checkout reuses the customer
        again = await s.checkout(alice, price["id"])
        assert stripe_api.sessions[again["id"]]["customer"] == sent["customer"]

        assert await s.records("posts", alice) == []
        completed, created = stripe_api.complete(session["id"])
        await s.deliver(completed, created)
        assert fired == ["checkout.session.completed", "customer.subscription.created"]
        assert [p["title"] for p in await s.records("posts", alice)] == ["members only"]
        assert await s.records("posts", bob) == []
        assert await s.records("posts", {}) == []
        # bob's own subscription is not active: alice's active one does not open it for him
        bob_sub = {**created["data"]["object"], "id": "sub_bob", "customer": "cus_bob",
                   "status": "incomplete_expired",
                   "metadata": {"keelbase_user": s.users["bob"][0], "keelbase_collection": "_pb_users_auth_"}}  # fmt: skip
        await s.deliver(event_of("customer.subscription.created", bob_sub))
        assert len(await s.records("_subscriptions", bob)) == 1
        assert await s.records("posts", bob) == []

        mine = await s.records("_subscriptions", alice)
        assert len(mine) == 1 and mine[0]["status"] == "active"
        assert mine[0]["price"] == price["id"] and mine[0]["user"] == alice_id
        assert mine[0]["currentPeriodEnd"]
        assert len(await s.records("_customers", alice)) == 1
        assert await s.records("_customers", bob) == []
        for collection in ("_subscriptions", "_customers", "_payments", "_prices"):
            write = await s.client.post(
                f"/api/collections/{collection}/records", headers=alice, json={"status": "active"}
            )
            assert write.status_code in (400, 403), write.text

        sub = dict(created["data"]["object"])
        t = int(time.time())
        # renewal: a new period
        await s.deliver(subscription_event("customer.subscription.updated", sub, t + 1,
                                           current_period_start=t + 100, current_period_end=t + 200))  # fmt: skip
        renewed = (await s.records("_subscriptions", alice))[0]
        assert renewed["currentPeriodEnd"] != mine[0]["currentPeriodEnd"]

        # payment failure: the invoice fails, the subscription goes past due, the posts close
        invoice = {"id": "in_fail1", "object": "invoice", "customer": sub["customer"],
                   "subscription": sub["id"], "amount_due": 900, "currency": "eur",
                   "payment_intent": "pi_fail1", "status": "open"}  # fmt: skip
        await s.deliver(event_of("invoice.payment_failed", invoice, t + 2),
                        subscription_event("customer.subscription.updated", sub, t + 2, status="past_due"))  # fmt: skip
        failed = [p for p in await s.records("_payments", alice) if p["stripeId"] == "pi_fail1"]
        assert failed and failed[0]["status"] == "failed" and failed[0]["subscription"] == sub["id"]
        assert await s.records("posts", alice) == []

        # paid again, then cancelled at the period's end, then ended
        await s.deliver(
            subscription_event("customer.subscription.updated", sub, t + 3, status="active")
        )
        assert len(await s.records("posts", alice)) == 1
        await s.deliver(
            subscription_event(
                "customer.subscription.updated", sub, t + 4, cancel_at_period_end=True
            )
        )
        assert (await s.records("_subscriptions", alice))[0]["cancelAtPeriodEnd"] is True
        assert len(await s.records("posts", alice)) == 1
        await s.deliver(subscription_event("customer.subscription.deleted", sub, t + 5,
                                           status="canceled", ended_at=t + 5))  # fmt: skip
        assert (await s.records("_subscriptions", alice))[0]["status"] == "canceled"
        assert await s.records("posts", alice) == []

        # out of order: an older "active" arriving now changes nothing
        stale = subscription_event(
            "customer.subscription.updated", dict(sub), t + 3, status="active"
        )
        answer = await s.webhook(stale)
        assert answer.status_code == 200
        assert (await s.records("_subscriptions", alice))[0]["status"] == "canceled"
        assert await s.records("posts", alice) == []

        # the billing portal for a customer, refused for a user without one
        portal = await s.client.post("/api/payments/portal", headers=alice,
                                     json={"returnUrl": f"{APP_URL}/account"})  # fmt: skip
        assert portal.status_code == 200, portal.text
        assert portal.json()["url"] == f"{stripe_api.url}/portal/{sub['customer']}"
        none = await s.client.post("/api/payments/portal", headers=bob,
                                   json={"returnUrl": f"{APP_URL}/account"})  # fmt: skip
        assert none.status_code == 400


@sync
async def test_one_off_payment_and_refund(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, price = stripe_api.add_product("Ebook", unit_amount=1500, interval="")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        carol_id, carol = await s.user("carol")

        @s.app.route("/api/buy-ebook", methods=["POST"])
        async def buy(e: RouteEvent) -> Any:
            # the typed helper from a custom route: the same checks as the endpoint
            return await e.app.payments.checkout(
                e.auth, price=price["id"], mode="payment",
                success_url=f"{APP_URL}/thanks", cancel_url=f"{APP_URL}/shop",
                metadata={"edition": "first"},
            )  # fmt: skip

        answer = await s.client.post("/api/buy-ebook", headers=carol)
        assert answer.status_code == 200, answer.text
        session = answer.json()
        assert stripe_api.sessions[session["id"]]["metadata"]["edition"] == "first"
        sent = stripe_api.sessions[session["id"]]
        assert sent["payment_intent_data"]["metadata"]["keelbase_user"] == carol_id
        completed, succeeded = stripe_api.complete(session["id"])
        await s.deliver(completed, succeeded)
        payments = await s.records("_payments", carol)
        assert len(payments) == 1
        assert (payments[0]["status"], payments[0]["amount"], payments[0]["user"]) == (
            "succeeded",
            1500,
            carol_id,
        )
        intent = succeeded["data"]["object"]
        charge = {"id": "ch_1", "object": "charge", "payment_intent": intent["id"],
                  "customer": intent["customer"], "amount": 1500, "amount_refunded": 500,
                  "refunded": False, "currency": "eur"}  # fmt: skip
        await s.deliver(event_of("charge.refunded", dict(charge), int(time.time()) + 1))
        assert (await s.records("_payments", carol))[0]["status"] == "partially_refunded"
        charge.update(amount_refunded=1500, refunded=True)
        await s.deliver(event_of("charge.refunded", charge, int(time.time()) + 2))
        refunded = (await s.records("_payments", carol))[0]
        assert (refunded["status"], refunded["amountRefunded"]) == ("refunded", 1500)


@sync
async def test_checkout_input_is_checked(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, price = stripe_api.add_product("Basic")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        _, dave = await s.user("dave")
        good = {"price": price["id"], "mode": "subscription",
                "successUrl": f"{APP_URL}/ok", "cancelUrl": f"{APP_URL}/no"}  # fmt: skip
        guest = await s.client.post("/api/payments/checkout", json=good)
        assert guest.status_code == 401
        for change, field in (
            ({"successUrl": "https://evil.example/ok"}, "successUrl"),
            ({"cancelUrl": "javascript:alert(1)"}, "cancelUrl"),
            ({"mode": "gift"}, "mode"),
            ({"price": None}, "prices"),
            ({"price": ["x"] * 21}, "prices"),
            ({"prices": [{"price": price["id"], "quantity": 0}]}, "prices"),
            ({"metadata": {"keelbase_user": "someone"}}, "metadata"),
        ):
            answer = await s.client.post(
                "/api/payments/checkout", headers=dave, json={**good, **change}
            )
            assert answer.status_code == 400, (change, answer.text)
            assert field in answer.json()["data"], (change, answer.text)
        # the app URL's origin and the server's --origins, never "*", never a look-alike
        s.app.config.origins = ["https://shop.example", "*"]
        for url, status in (
            ("https://shop.example/done?x=1", 200),
            (f"{APP_URL}/done", 200),
            ("https://shop.example.evil.example/ok", 400),
            ("http://shop.example/ok", 400),
            (f"{APP_URL}@evil.example/ok", 400),
            # a browser goes to evil.example (a backslash ends its host), Python reads
            # the rest as user info; and a user name has no place in a redirect
            ("https://evil.example\\@shop.example/ok", 400),
            ("https://someone@shop.example/ok", 400),
            ("https://other.example/ok", 400),
            ("//evil.example/ok", 400),
        ):
            answer = await s.client.post(
                "/api/payments/checkout", headers=dave, json={**good, "successUrl": url}
            )
            assert answer.status_code == status, (url, answer.text)
        moved_app = await s.client.patch("/api/settings", headers=s.admin,
                                         json={"meta": {"appURL": "https://app.example"}})  # fmt: skip
        assert moved_app.status_code == 200, moved_app.text
        for url, status in (("https://app.example/ok", 200), (f"{APP_URL}/ok", 400)):
            answer = await s.client.post("/api/payments/portal", headers=dave,
                                         json={"returnUrl": url})  # fmt: skip
            assert answer.status_code == status, (url, answer.text)
        s.app.config.origins = []
        back = await s.client.patch("/api/settings", headers=s.admin,
                                    json={"meta": {"appURL": APP_URL}})  # fmt: skip
        assert back.status_code == 200, back.text
        unknown = await s.client.post(
            "/api/payments/checkout", headers=dave, json={**good, "price": "price_missing"}
        )
        assert unknown.status_code == 400
        assert "No such price" in unknown.text

        # Stripe unreachable: a 502 in PocketBase's shape, nothing about the key
        closed = f"http://127.0.0.1:{free_port()}"
        moved = await s.client.patch(
            "/api/settings", headers=s.admin, json={"payments": {"stripe": {"apiBase": closed}}}
        )
        assert moved.status_code == 200, moved.text
        _, erin = await s.user("unreachable")
        down = await s.client.post("/api/payments/checkout", headers=erin, json=good)
        assert down.status_code == 502, down.text
        assert set(down.json()) == {"status", "message", "data"}
        assert SECRET_KEY not in down.text


@sync
async def test_webhook_verification_duplicates_and_limits(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        applied: list[str] = []

        @s.app.on_payment_event("product.created")
        async def seen(e: PaymentEvent) -> None:
            await e.next()
            applied.append(e.event["id"])

        product = {"id": "prod_dup", "object": "product", "name": "Dup", "active": True}
        event = event_of("product.created", product)
        first, second = await s.webhook(event), await s.webhook(event)
        assert (first.status_code, first.json()["duplicate"]) == (200, False)
        assert (second.status_code, second.json()["duplicate"]) == (200, True)
        assert applied == [event["id"]]

        replayed = event_of("product.updated", {**product, "name": "Replayed"})
        old = await s.webhook(replayed, at=int(time.time()) - 600)
        assert old.status_code == 400
        forged = await s.webhook(replayed, secret="whsec_someoneElse0123456789")
        assert forged.status_code == 400
        body, headers = signed(replayed)
        tampered = await s.client.post(
            "/api/payments/webhook", content=body.replace(b"Replayed", b"Tampered"), headers=headers
        )
        assert tampered.status_code == 400
        unsigned = await s.client.post("/api/payments/webhook", content=body)
        assert unsigned.status_code == 400
        assert "Traceback" not in unsigned.text
        huge = event_of("product.updated", {**product, "description": "x" * 600_000})
        too_big = await s.webhook(huge)
        assert too_big.status_code == 413
        names = [p["name"] for p in await s.records("_products")]
        assert names == ["Dup"]

        unknown = await s.webhook(event_of("radar.early_fraud_warning.created", {"id": "issfr_1"}))
        assert unknown.status_code == 200 and unknown.json()["handled"] is False

        # a handler that fails: nothing is kept, Stripe is told to retry, no traceback shown
        # what a hook writes commits with the event, or not at all
        fail = [True]

        @s.app.on_payment_event("product.updated")
        async def broken(e: PaymentEvent) -> None:
            await e.next()
            await s.app.create_record("posts", {"title": f"about {e.object['name']}"})
            if fail[0]:
                raise RuntimeError("downstream is down")

        retry = event_of("product.updated", {**product, "name": "Later"})
        failed = await s.webhook(retry)
        assert failed.status_code == 500
        assert "Traceback" not in failed.text and "downstream" not in failed.text
        assert [p["name"] for p in await s.records("_products")] == ["Dup"]
        assert [p["title"] for p in await s.records("posts")] == ["members only"]
        fail[0] = False
        assert (await s.webhook(retry)).status_code == 200
        assert [p["name"] for p in await s.records("_products")] == ["Later"]
        assert sorted(p["title"] for p in await s.records("posts")) == [
            "about Later",
            "members only",
        ]
        again = await s.webhook(retry)
        assert (again.status_code, again.json()["duplicate"]) == (200, True)
        assert len(await s.records("posts")) == 2


@sync
async def test_one_event_delivered_many_times_at_once_has_one_effect(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:

        @s.app.on_payment_event("product.created")
        async def note(e: PaymentEvent) -> None:
            await e.next()
            await s.app.create_record("posts", {"title": f"about {e.object['name']}"})

        event = event_of("product.created", {"id": "prod_once", "object": "product",
                                             "name": "Once", "active": True})  # fmt: skip
        answers = await asyncio.gather(*(s.webhook(event) for _ in range(6)))
        assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
        assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 5
        titles = [p["title"] for p in await s.records("posts")]
        assert titles.count("about Once") == 1, titles


@sync
async def test_two_nodes_apply_one_event_once(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    """Two apps on one database get the same events at once: each applies exactly once."""
    async with shop(tmp_path / "a", db_url, stripe_api) as s:
        # on SQLite, a second app on the same data file (as a second process would be)
        other = serving(tmp_path / ("b" if db_url else "a"), db_url)
        async with other as (second, client_b):
            await second.settings.load()
            await second.collections.reload()
            counts = {"a": 0, "b": 0}

            def counter(node: str) -> Any:
                async def count(e: PaymentEvent) -> None:
                    await e.next()
                    counts[node] += 1

                return count

            s.app.hooks.payment_event.bind(counter("a"))
            second.hooks.payment_event.bind(counter("b"))
            events = [event_of("price.created", {"id": f"price_n{i}", "object": "price",
                                                 "active": True, "currency": "eur",
                                                 "unit_amount": i, "product": "prod_x",
                                                 "type": "one_time"}) for i in range(8)]  # fmt: skip

            async def send(client: httpx.AsyncClient, event: dict[str, Any]) -> int:
                body, headers = signed(event)
                answer = await client.post("/api/payments/webhook", content=body, headers=headers)
                return answer.status_code

            results = await asyncio.gather(
                *(send(c, e) for e in events for c in (s.client, client_b))
            )
            assert set(results) == {200}
            assert counts["a"] + counts["b"] == len(events)
            prices = await s.records("_prices")
            assert sorted(p["stripeId"] for p in prices) == sorted(f"price_n{i}" for i in range(8))


@sync
async def test_sync_backfills_products_and_prices(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        for n in range(3):
            stripe_api.add_product(f"Sync {n}")
        counts = await s.app.payments.sync()
        assert counts == {"products": len(stripe_api.products), "prices": len(stripe_api.prices)}
        guest_view = await s.records("_prices", {})
        assert len(guest_view) == len(stripe_api.prices)
        names = {p["name"] for p in await s.records("_products", {})}
        assert {"Sync 0", "Sync 1", "Sync 2"} <= names
        # the list and view rules are the app's to edit; the records stay Keelbase's
        members = "@request.auth.id != ''"
        edited = await s.client.patch("/api/collections/_prices", headers=s.admin,
                                      json={"listRule": members, "viewRule": members})  # fmt: skip
        assert edited.status_code == 200, edited.text
        assert await s.records("_prices", {}) == []
        _, ola = await s.user("ola")
        assert len(await s.records("_prices", ola)) == len(stripe_api.prices)
        write = await s.client.post("/api/collections/_prices/records", headers=ola,
                                    json={"stripeId": "price_mine"})  # fmt: skip
        assert write.status_code in (400, 403), write.text
        changed = await s.client.patch("/api/collections/_prices", headers=s.admin,
                                       json={"fields": []})  # fmt: skip
        assert changed.status_code == 400, changed.text
        await s.app.payments.ensure_collections()  # as at every start: the rule stays
        assert s.app.collections.schema.get("_prices").listRule == members  # type: ignore[union-attr]
        # a webhook older than the sync leaves the synced state
        first = stripe_api.products[0]
        stale = event_of("product.updated", {**first, "name": "Old"}, int(time.time()) - 60)
        assert (await s.webhook(stale)).status_code == 200
        assert "Old" not in {p["name"] for p in await s.records("_products")}


@sync
async def test_subscription_changes_reach_their_owner_live(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, price = stripe_api.add_product("Live")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        _, erin = await s.user("erin")
        _, frank = await s.user("frank")
        streams = [await SseStream(s.app).open(), await SseStream(s.app).open()]
        try:
            for stream, who in zip(streams, (erin, frank), strict=True):
                subscribed = await s.client.post(
                    "/api/realtime",
                    json={"clientId": stream.client_id, "subscriptions": ["_subscriptions/*"]},
                    headers=who,
                )
                assert subscribed.status_code == 204, subscribed.text
            session = await s.checkout(erin, price["id"])
            await s.deliver(*stripe_api.complete(session["id"]))
            seen = [await stream.received() for stream in streams]
        finally:
            for stream in streams:
                await stream.close()
        assert [(data["action"], data["record"]["status"]) for _, data in seen[0]] == [
            ("create", "active")
        ]
        assert seen[1] == []


@sync
async def test_first_checkouts_at_once_make_one_customer(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, price = stripe_api.add_product("Race")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        grace_id, grace = await s.user("grace")
        sessions = await asyncio.gather(*(s.checkout(grace, price["id"]) for _ in range(4)))
        customers = await s.records("_customers")
        linked = [c for c in customers if c["user"] == grace_id]
        assert len(linked) == 1
        used = {stripe_api.sessions[session["id"]]["customer"] for session in sessions}
        assert used == {linked[0]["stripeId"]}


@sync
async def test_a_customer_made_by_stripe_is_linked_by_its_checkout(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    """A customer Stripe created (no Keelbase metadata) that a checkout of the user completes."""
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        henry_id, henry = await s.user("henry")
        t = int(time.time())
        customer = {"id": "cus_byStripe", "object": "customer", "email": "h@example.com"}
        session = {"id": "cs_byStripe", "object": "checkout.session", "mode": "subscription",
                   "customer": "cus_byStripe", "subscription": "sub_byStripe",
                   "metadata": {"keelbase_user": henry_id, "keelbase_collection": "_pb_users_auth_"}}  # fmt: skip
        subscription = {"id": "sub_byStripe", "object": "subscription", "status": "active",
                        "customer": "cus_byStripe", "metadata": {},
                        "items": {"data": [{"price": {"id": "price_x", "product": "prod_x"},
                                            "quantity": 1, "current_period_start": t,
                                            "current_period_end": t + 3600}]}}  # fmt: skip
        await s.deliver(
            event_of("customer.created", customer, t + 5),
            event_of("checkout.session.completed", session, t + 1),
            event_of("customer.subscription.created", subscription, t + 1),
        )
        mine = await s.records("_subscriptions", henry)
        assert [(x["stripeId"], x["user"], x["product"]) for x in mine] == [
            ("sub_byStripe", henry_id, "prod_x")
        ]
        assert mine[0]["currentPeriodEnd"]  # the 2025 API's period on the item
        assert [c["stripeId"] for c in await s.records("_customers", henry)] == ["cus_byStripe"]
        assert len(await s.records("posts", henry)) == 1


@sync
async def test_deleting_a_user_cancels_its_subscriptions_and_drops_its_records(
    tmp_path: Path, db_url: str, stripe_api: StripeServer
) -> None:
    _, plan = stripe_api.add_product("Plan to leave")
    _, book = stripe_api.add_product("Book to leave", unit_amount=700, interval="")
    async with shop(tmp_path / "kb_data", db_url, stripe_api) as s:
        ivy_id, ivy = await s.user("ivy")
        jack_id, jack = await s.user("jack")
        deleted: list[str] = []

        @s.app.on_record_delete("_subscriptions", "_payments", "_customers")
        async def seen(e: RecordEvent) -> None:
            await e.next()
            deleted.append(e.record.collection.name)

        subscribed = {}
        for who in (ivy, jack):
            session = await s.checkout(who, plan["id"])
            completed, created = stripe_api.complete(session["id"])
            await s.deliver(completed, created)
            subscribed[who["Authorization"]] = created["data"]["object"]["id"]
        bought = await s.checkout(ivy, book["id"], mode="payment")
        await s.deliver(*stripe_api.complete(bought["id"]))
        ivy_sub = subscribed[ivy["Authorization"]]

        async def owned(user: str) -> dict[str, int]:
            return {name: sum(r["user"] == user for r in await s.records(name))
                    for name in ("_customers", "_subscriptions", "_payments")}  # fmt: skip

        assert await owned(ivy_id) == {"_customers": 1, "_subscriptions": 1, "_payments": 1}

        # Stripe down: the delete fails whole, nothing is gone, the subscription still bills
        stripe_api.cancel_fails_with = 503
        try:
            refused = await s.client.delete(f"/api/collections/users/records/{ivy_id}", headers=ivy)
        finally:
            stripe_api.cancel_fails_with = 0
        assert refused.status_code == 502, refused.text
        assert set(refused.json()) == {"status", "message", "data"}
        assert "not deleted" in refused.json()["message"]
        assert await owned(ivy_id) == {"_customers": 1, "_subscriptions": 1, "_payments": 1}
        assert stripe_api.subscriptions[ivy_sub]["status"] == "active"
        assert deleted == []

        # the user deletes their account: the subscription is cancelled, the records go
        gone = await s.client.delete(f"/api/collections/users/records/{ivy_id}", headers=ivy)
        assert gone.status_code == 204, gone.text
        assert stripe_api.subscriptions[ivy_sub]["status"] == "canceled"
        assert stripe_api.subscriptions[subscribed[jack["Authorization"]]]["status"] == "active"
        assert await owned(ivy_id) == {"_customers": 0, "_subscriptions": 0, "_payments": 0}
        assert sorted(deleted) == ["_customers", "_payments", "_subscriptions"]
        assert await owned(jack_id) == {"_customers": 1, "_subscriptions": 1, "_payments": 0}

        # Stripe's events about the deleted user bring nothing back
        cancelled = stripe_api.sent[-1]
        assert cancelled["data"]["object"]["id"] == ivy_sub
        customer = stripe_api.customers[stripe_api.sessions[bought["id"]]["customer"]]
        intent = {"id": "pi_afterDelete", "object": "payment_intent", "amount": 700,
                  "currency": "eur", "customer": customer["id"], "status": "succeeded",
                  "metadata": {"keelbase_user": ivy_id, "keelbase_collection": "_pb_users_auth_"}}  # fmt: skip
        await s.deliver(
            cancelled,
            event_of("customer.updated", {**customer, "email": "new@example.com"}),
            event_of("payment_intent.succeeded", intent),
            event_of("checkout.session.completed", {**stripe_api.sessions[bought["id"]]}),
        )
        assert await owned(ivy_id) == {"_customers": 0, "_subscriptions": 0, "_payments": 0}
        assert customer["id"] not in {c["stripeId"] for c in await s.records("_customers")}

        # a user whose subscription already ended is deleted without asking Stripe
        _, kim = await s.user("kim")
        session = await s.checkout(kim, plan["id"])
        completed, created = stripe_api.complete(session["id"])
        sub = dict(created["data"]["object"])
        ended = subscription_event("customer.subscription.deleted", sub, int(time.time()) + 1,
                                   status="canceled")  # fmt: skip
        await s.deliver(completed, created, ended)
        stripe_api.cancel_fails_with = 503  # would refuse if it were asked
        try:
            kim_id = s.users["kim"][0]
            done = await s.client.delete(f"/api/collections/users/records/{kim_id}", headers=kim)
        finally:
            stripe_api.cancel_fails_with = 0
        assert done.status_code == 204, done.text
        assert await owned(kim_id) == {"_customers": 0, "_subscriptions": 0, "_payments": 0}
