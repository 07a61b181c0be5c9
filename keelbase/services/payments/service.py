"""Payments with Stripe: checkout, the billing portal, webhooks and the catalogue backfill.

Turned on by ``payments.stripe.secretKey``. Its collections are created then
(at start, or when the settings are saved), not in every new app: an app
without payments lists PocketBase's collections only. Stripe is reached
through ``adapters/stripe.py``; this service decides, the adapter talks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from keelbase.adapters.stripe import (
    SignatureRejected,
    StripeFailure,
    StripeGateway,
    verify_event,
)
from keelbase.core.collections import payments as names
from keelbase.core.collections.payments import payment_collections
from keelbase.core.records.record import Record
from keelbase.core.request_info import SYSTEM
from keelbase.errors import ApiError, BadRequestError, UnauthorizedError, field_error
from keelbase.hooks import Hooks
from keelbase.services.collections.service import CollectionsService
from keelbase.services.payments import objects
from keelbase.services.payments.checkout import (
    MSG_CHECKOUT,
    MSG_PORTAL,
    CheckoutRequest,
    allowed_origins,
    parse_checkout,
    parse_portal,
)
from keelbase.services.payments.mirror import Mirror
from keelbase.services.payments.webhooks import EventApplier
from keelbase.services.records.service import RecordsService
from keelbase.services.settings import SettingsService, Stripe
from keelbase.store.base import Connection

log = logging.getLogger("keelbase.payments")
MSG_NOT_CONFIGURED = "Payments are not configured."
MSG_BAD_SIGNATURE = "Invalid Stripe webhook signature."
MSG_APPLY_FAILED = "Failed to apply the Stripe event; send it again."
MSG_CANCEL_FAILED = (
    "Failed to cancel the user's Stripe subscriptions; the user was not deleted. Try again later."
)
# Subscriptions that bill no more: nothing to cancel when their user is deleted.
ENDED = ("canceled", "incomplete_expired")
# What an auth record owns here, deleted with it (payments first, the customer last).
OWNED = (names.PAYMENTS, names.SUBSCRIPTIONS, names.CUSTOMERS)
# Stripe's events are a few KB; their documented maximum is far below this.
WEBHOOK_BODY_LIMIT = 512 * 1024


class PaymentsUnavailable(ApiError):
    """Stripe could not be reached or failed: 502, so a client may try again later."""

    status = 502


class PaymentsService:
    def __init__(
        self,
        records: RecordsService,
        collections: CollectionsService,
        settings: SettingsService,
        hooks: Hooks,
        origins: Callable[[], list[str]],
        *,
        listen: bool = True,
    ) -> None:
        """With ``listen`` it hears deletes itself; without, the owner calls
        ``owner_deleted`` (``App`` builds the service on first use)."""
        self.records = records
        self.collections = collections
        self.settings = settings
        self.origins = origins
        self.applier = EventApplier(records, hooks)
        self.mirror = Mirror(records)
        self._gateway: StripeGateway | None = None
        if listen:
            records.on_delete(self.owner_deleted)

    # Configuration ------------------------------------------------------------

    @property
    def config(self) -> Stripe:
        return self.settings.current.payments.stripe

    @property
    def configured(self) -> bool:
        return bool(self.config.secretKey)

    def gateway(self) -> StripeGateway:
        """The Stripe client of the current settings (a new one once they change)."""
        config = self.config
        if not config.secretKey:
            raise BadRequestError(MSG_NOT_CONFIGURED)
        current = self._gateway
        if current is None or (current.secret_key, current.api_base) != (
            config.secretKey,
            config.apiBase,
        ):
            current = self._gateway = StripeGateway(config.secretKey, config.apiBase)
        return current

    async def ensure_collections(self) -> list[str]:
        """Create the payments collections once payments are configured; their names."""
        if not self.configured:
            return []
        created = await self.collections.ensure(payment_collections())
        if created:
            log.info("payments: created the collections %s", ", ".join(created))
        return created

    def public_config(self) -> dict[str, Any]:
        """What a browser needs (Stripe.js): the publishable key, never a secret."""
        return {"enabled": self.configured, "publishableKey": self.config.publishableKey}

    def _allowed(self) -> set[str]:
        return allowed_origins(self.settings.current.meta.appURL, self.origins())

    # Checkout and portal --------------------------------------------------------

    async def checkout(
        self,
        auth: Record | None,
        body: dict[str, Any] | None = None,
        *,
        price: str | None = None,
        prices: list[str] | None = None,
        mode: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A Checkout Session for ``auth``: ``{"url", "id"}``; the customer is made on first use.

        The API passes the client's body; server code (a custom route) may pass
        keywords instead: ``await app.payments.checkout(e.auth, price="price_1",
        mode="payment", success_url=..., cancel_url=...)``. Both are checked alike.
        """
        auth = _signed_in(auth)
        body = dict(body or {})
        for key, value in (
            ("price", price),
            ("prices", prices),
            ("mode", mode),
            ("successUrl", success_url),
            ("cancelUrl", cancel_url),
            ("metadata", metadata),
        ):
            if value is not None:
                body[key] = value
        gateway = self.gateway()
        request = parse_checkout(body, self._allowed())
        await self.ensure_collections()
        customer = await self.customer_for(auth, gateway, MSG_CHECKOUT)
        params = self._session_params(auth, customer, request)
        try:
            session = await gateway.create_checkout_session(params)
        except StripeFailure as error:
            raise _failure(MSG_CHECKOUT, error) from error
        return {"url": session.get("url"), "id": session.get("id")}

    def _session_params(
        self, auth: Record, customer: str, request: CheckoutRequest
    ) -> dict[str, Any]:
        owner = _owner_metadata(auth)
        metadata = {**request.metadata, **owner}
        params: dict[str, Any] = {
            "mode": request.mode,
            "customer": customer,
            "client_reference_id": auth.id,
            "line_items": [{"price": i.price, "quantity": i.quantity} for i in request.items],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": metadata,
        }
        if request.mode == "subscription":
            params["subscription_data"] = {"metadata": metadata}
        else:
            params["payment_intent_data"] = {"metadata": metadata}
        return params

    async def portal(
        self,
        auth: Record | None,
        body: dict[str, Any] | None = None,
        *,
        return_url: str | None = None,
    ) -> dict[str, Any]:
        """A Billing Portal session for ``auth``'s customer: ``{"url"}``."""
        auth = _signed_in(auth)
        body = dict(body or {})
        if return_url is not None:
            body["returnUrl"] = return_url
        gateway = self.gateway()
        return_url = parse_portal(body, self._allowed())
        await self.ensure_collections()
        customer = await self._linked_customer(auth)
        if customer is None:
            raise BadRequestError(MSG_PORTAL, {"customer": _no_customer()})
        try:
            session = await gateway.create_portal_session(str(customer.get("stripeId")), return_url)
        except StripeFailure as error:
            raise _failure(MSG_PORTAL, error) from error
        return {"url": session.get("url")}

    async def _linked_customer(self, auth: Record) -> Record | None:
        return await self.records.find_first_by_filter(
            self.records.collection(names.CUSTOMERS),
            "user = {:user} && collectionRef = {:collection}",
            {"user": auth.id, "collection": auth.collection.id},
        )

    async def customer_for(self, auth: Record, gateway: StripeGateway, message: str) -> str:
        """``auth``'s Stripe customer id, made and linked on first use.

        Two first checkouts at once may both create a Stripe customer; the
        unique index on the link keeps one, and the other request uses it.
        """
        linked = await self._linked_customer(auth)
        if linked is not None:
            return str(linked.get("stripeId"))
        email = str(auth.get("email") or "") if auth.collection.is_auth else ""
        try:
            created = await gateway.create_customer(email, _owner_metadata(auth))
        except StripeFailure as error:
            raise _failure(message, error) from error
        values = {
            "stripeId": str(created.get("id")),
            "user": auth.id,
            "collectionRef": auth.collection.id,
            "email": str(created.get("email") or ""),
            "raw": created,
            "eventAt": 0,
        }
        try:
            await self.records.create_record(
                self.records.collection(names.CUSTOMERS), values, SYSTEM
            )
        except ApiError:
            linked = await self._linked_customer(auth)
            if linked is None:
                raise
            return str(linked.get("stripeId"))
        return str(created.get("id"))

    # An auth record deleted --------------------------------------------------

    async def owner_deleted(self, conn: Connection, owner: Record, depth: int) -> None:
        """A delete listener: a deleted auth record's Stripe subscriptions are cancelled,
        and its customer, subscriptions and payments records go in the same transaction.

        Cancelled at once (``DELETE /v1/subscriptions/{id}``), as a deleted
        account must not go on being billed; the Stripe customer and its
        invoices and charges stay in Stripe, the books. Stripe is asked before
        the delete commits: if it cannot be reached the delete fails (a 502)
        and nothing is deleted, so no user is ever gone with a live
        subscription. Each record is deleted as a record (its delete hooks run;
        realtime subscribers hear it). The events Stripe sends afterwards
        (``customer.subscription.deleted``) name a user who is gone and are
        not mirrored (``Mirror.owner_exists``).
        """
        if not owner.collection.is_auth or self.records.schema.get(names.CUSTOMERS) is None:
            return
        owned: list[Record] = []
        for name in OWNED:
            owned += await self.records.find_by_filter(
                self.records.collection(name),
                "user = {:user} && collectionRef = {:collection}",
                {"user": owner.id, "collection": owner.collection.id},
                conn=conn,
            )
        live = [
            str(r.get("stripeId"))
            for r in owned
            if r.collection.name == names.SUBSCRIPTIONS and r.get("status") not in ENDED
        ]
        if live:
            await self._cancel_all(owner, live)
        for record in owned:
            await self.records.delete_record(conn, record, depth + 1)

    async def _cancel_all(self, owner: Record, subscriptions: list[str]) -> None:
        if not self.configured:
            log.warning(
                "payments: user %s was deleted with live subscriptions %s, and payments are "
                "not configured to cancel them",
                owner.id,
                ", ".join(subscriptions),
            )
            return
        gateway = self.gateway()
        for subscription in subscriptions:
            try:
                await gateway.cancel_subscription(subscription)
            except StripeFailure as error:
                if error.status is None or error.status >= 500 or error.status in (401, 403, 429):
                    log.warning(
                        "payments: cancelling %s of deleted user %s failed: %s %s",
                        subscription, owner.id, error.status, error.message,
                    )  # fmt: skip
                    raise PaymentsUnavailable(502, MSG_CANCEL_FAILED) from error
                # Stripe's 4xx: no such subscription or already cancelled; nothing bills.
                log.info("payments: %s was not cancelled: %s", subscription, error.message)
            else:
                log.info("payments: cancelled %s of deleted user %s", subscription, owner.id)

    # Webhooks -------------------------------------------------------------------

    async def receive_webhook(self, payload: bytes, signature: str) -> dict[str, Any]:
        """Verify and apply one webhook; what was done, for the answer to Stripe.

        A bad signature or an old timestamp is a 400 (Stripe does not retry
        what it did not sign); a failure while applying raises, for a 5xx that
        Stripe retries.
        """
        config = self.config
        if not config.secretKey or not config.webhookSecret:
            raise BadRequestError(MSG_NOT_CONFIGURED)
        try:
            event = verify_event(payload, signature, config.webhookSecret)
        except SignatureRejected as error:
            log.warning("payments: a webhook was refused: %s", error)
            raise BadRequestError(MSG_BAD_SIGNATURE) from error
        if not isinstance(event.get("id"), str) or not event["id"]:
            raise BadRequestError(MSG_BAD_SIGNATURE)
        try:
            await self.ensure_collections()
            result = await self.applier.apply(event)
        except Exception:
            # Nothing of it was kept; Stripe sends it again on any answer but a 2xx.
            log.exception(
                "payments: applying the Stripe event %s (%s) failed", event["id"], event.get("type")
            )
            raise ApiError(500, MSG_APPLY_FAILED) from None
        return {
            "received": True,
            "duplicate": result == "duplicate",
            "handled": self.applier.handles(str(event.get("type"))),
        }

    # Backfill ---------------------------------------------------------------

    async def sync(self) -> dict[str, int]:
        """Mirror every product and price Stripe has (``keelbase payments sync``).

        Written with the time of the sync as their event time, so a webhook
        sent before it cannot roll them back and any later one applies.
        """
        gateway = self.gateway()
        await self.ensure_collections()
        try:
            products = await gateway.list_products()
            prices = await gateway.list_prices()
        except StripeFailure as error:
            raise _failure("Failed to read the catalogue from Stripe.", error) from error
        now = float(int(time.time()))
        async with self.records.transaction() as conn:
            for product in products:
                values = objects.product_values(product, False)
                await self.mirror.upsert(
                    conn, names.PRODUCTS, str(product.get("id")), values, now, product
                )
            for price in prices:
                values = objects.price_values(price, False)
                await self.mirror.upsert(
                    conn, names.PRICES, str(price.get("id")), values, now, price
                )
        return {"products": len(products), "prices": len(prices)}


def _signed_in(auth: Record | None) -> Record:
    """Payments belong to an auth record: a guest has none to pay with."""
    if auth is None:
        raise UnauthorizedError()
    return auth


def _owner_metadata(auth: Record) -> dict[str, str]:
    return {objects.USER_KEY: auth.id, objects.COLLECTION_KEY: auth.collection.id}


def _no_customer() -> dict[str, Any]:
    return field_error("validation_no_customer", "There is no Stripe customer for this user yet.")


def _failure(message: str, error: StripeFailure) -> ApiError:
    """Stripe's own 4xx (a price that does not exist) is the caller's 400; anything else a 502."""
    log.warning("payments: Stripe answered %s: %s", error.status, error.message)
    if error.status is not None and 400 <= error.status < 500 and error.status not in (401, 403):
        return BadRequestError(
            message, {"stripe": {"code": "stripe_error", "message": error.message}}
        )
    return PaymentsUnavailable(502, message)
