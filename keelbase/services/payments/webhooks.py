"""Verified Stripe events applied to the mirror records, each exactly once.

The event's id is inserted into ``_paymentEvents`` first, in the same
transaction as everything the event changes (and everything the
``payment_event`` hooks write). A unique index on the id makes a second
delivery, on this node or another one on the same PostgreSQL, fail that
insert: it changes nothing and is answered as a duplicate. On PostgreSQL the
second insert waits for the first transaction, so the answer is only given
once the first has committed or rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from keelbase.core.collections import payments as names
from keelbase.core.request_info import SYSTEM
from keelbase.errors import ApiError
from keelbase.events import PaymentEvent
from keelbase.hooks import Hooks
from keelbase.services.payments import objects
from keelbase.services.payments.mirror import Mirror
from keelbase.services.records.service import RecordsService
from keelbase.store.base import Connection

log = logging.getLogger("keelbase.payments")

# A conflict with a concurrent transaction (two events creating one subscription
# at once) is retried: the second attempt finds the other's record.
ATTEMPTS = 3

Apply = Callable[[Connection, dict[str, Any], float], Awaitable[None]]


class EventApplier:
    def __init__(self, records: RecordsService, hooks: Hooks) -> None:
        self.records = records
        self.hooks = hooks
        self.mirror = Mirror(records)
        self._handlers: dict[str, Apply] = {}
        for kind in ("created", "updated", "deleted"):
            self._handlers[f"product.{kind}"] = self._product
            self._handlers[f"price.{kind}"] = self._price
            self._handlers[f"customer.{kind}"] = self._customer
            self._handlers[f"customer.subscription.{kind}"] = self._subscription
        for kind in ("paused", "resumed", "pending_update_applied", "pending_update_expired"):
            self._handlers[f"customer.subscription.{kind}"] = self._subscription
        self._handlers["checkout.session.completed"] = self._checkout_completed
        self._handlers["checkout.session.async_payment_succeeded"] = self._checkout_completed
        self._handlers["invoice.payment_failed"] = self._invoice_failed
        self._handlers["payment_intent.succeeded"] = self._payment_intent
        self._handlers["payment_intent.payment_failed"] = self._payment_intent
        self._handlers["charge.refunded"] = self._refund

    def handles(self, event_type: str) -> bool:
        return event_type in self._handlers

    async def apply(self, event: dict[str, Any]) -> str:
        """``"applied"``, or ``"duplicate"`` for an event applied before."""
        error: ApiError | None = None
        for _ in range(ATTEMPTS):
            try:
                return await self._apply_once(event)
            except ApiError as conflict:  # a unique clash with a concurrent writer
                error = conflict
                log.info("retrying Stripe event %s after %s", event.get("id"), conflict.message)
        assert error is not None
        raise error

    async def _apply_once(self, event: dict[str, Any]) -> str:
        event_type = str(event.get("type") or "")
        event_at = float(event.get("created") or 0)
        async with self.records.transaction() as conn:
            try:
                await self.records.create_record(
                    self.records.collection(names.EVENTS),
                    {"eventId": str(event["id"]), "type": event_type, "eventAt": event_at},
                    SYSTEM,
                )
            except ApiError:
                if await self.mirror.find_event(conn, str(event["id"])) is not None:
                    return "duplicate"
                raise
            handler = self._handlers.get(event_type)
            hook_event = PaymentEvent(event, handled=handler is not None)

            async def act(e: PaymentEvent) -> None:
                if handler is not None:
                    await handler(conn, e.object, event_at)

            await self.hooks.payment_event.trigger(hook_event, act, (event_type,))
        return "applied"

    # One handler per kind of event --------------------------------------------

    async def _product(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        deleted = bool(obj.get("deleted"))
        values = objects.product_values(obj, deleted)
        await self.mirror.upsert(conn, names.PRODUCTS, str(obj.get("id")), values, at, obj)

    async def _price(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        deleted = bool(obj.get("deleted"))
        values = objects.price_values(obj, deleted)
        await self.mirror.upsert(conn, names.PRICES, str(obj.get("id")), values, at, obj)

    async def _customer(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        values = objects.customer_values(obj)
        user, collection = objects.owner_in_metadata(obj)
        if user:
            if not await self.mirror.owner_exists(conn, user, collection):
                return  # its user was deleted, and its records with it
            values.update(user=user, collectionRef=collection)
        await self.mirror.upsert(conn, names.CUSTOMERS, str(obj.get("id")), values, at, obj)

    async def _subscription(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        values = objects.subscription_values(obj)
        owner = await self.mirror.owner_of(conn, values["customer"], obj)
        if owner is None:  # its user was deleted, and its records with it
            if values["status"] not in ("canceled", "incomplete_expired"):
                log.warning(
                    "payments: subscription %s (%s) belongs to a deleted user; cancel it in Stripe",
                    obj.get("id"),
                    values["status"],
                )
            return
        values.update(owner)
        await self.mirror.upsert(conn, names.SUBSCRIPTIONS, str(obj.get("id")), values, at, obj)

    async def _checkout_completed(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        """A paid one-off checkout is a payment; a subscription's arrives with its own events.

        The session's customer is linked to the user who started it, in case
        the customer was created by Stripe (``customer_creation``) rather than by us.
        """
        customer = objects.ref_id(obj.get("customer"))
        user, collection = objects.owner_in_metadata(obj)
        if customer and user:
            await self.mirror.link_customer(conn, customer, user, collection)
        if obj.get("mode") != "payment":
            return
        values = objects.checkout_payment_values(obj)
        owner = await self.mirror.owner_of(conn, customer, obj)
        if owner is None:
            return  # its user was deleted, and its records with it
        values.update(owner)
        key = objects.ref_id(obj.get("payment_intent")) or str(obj.get("id"))
        await self.mirror.upsert(conn, names.PAYMENTS, key, values, at, obj)

    async def _payment_intent(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        values = objects.payment_intent_values(obj)
        owner = await self.mirror.owner_of(conn, values["customer"], obj)
        if owner is None:
            return  # its user was deleted, and its records with it
        values.update(owner)
        await self.mirror.upsert(conn, names.PAYMENTS, str(obj.get("id")), values, at, obj)

    async def _invoice_failed(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        values = objects.failed_invoice_values(obj)
        owner = await self.mirror.owner_of(conn, values["customer"], obj)
        if owner is None:
            return  # its user was deleted, and its records with it
        values.update(owner)
        key = objects.invoice_payment_key(obj)
        await self.mirror.upsert(conn, names.PAYMENTS, key, values, at, obj)

    async def _refund(self, conn: Connection, obj: dict[str, Any], at: float) -> None:
        values = objects.refund_values(obj)
        owner = await self.mirror.owner_of(conn, values["customer"], obj)
        if owner is None:
            return  # its user was deleted, and its records with it
        values.update(owner)
        key = objects.ref_id(obj.get("payment_intent")) or str(obj.get("id"))
        await self.mirror.upsert(conn, names.PAYMENTS, key, values, at, obj)
