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

log = logging.getLogger("keelbase.payments")
MSG_NOT_CONFIGURED = "Payments are not configured."
MSG_BAD_SIGNATURE = "Invalid Stripe webhook signature."
MSG_APPLY_FAILED = "Failed to apply the Stripe event; send it again."
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
    ) -> None:
        self.records = records
        self.collections = collections
        self.settings = settings
        self.origins = origins
        self.applier = EventApplier(records, hooks)
        self.mirror = Mirror(records)
        self._gateway: StripeGateway | None = None

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
