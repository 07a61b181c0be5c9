"""Stripe objects into their mirror records, never an older version over a newer one.

Each write happens inside the caller's transaction (the webhook's, with its
event id). The record of a Stripe object is found by ``stripeId`` and locked;
its ``eventAt`` (when the newest event applied to it happened) decides: an
event older than that is skipped, so events that arrive out of order leave
the newest state. Equal times apply (Stripe's times are whole seconds; the
later delivery wins).
"""

from __future__ import annotations

from typing import Any

from keelbase.core.collections import payments as names
from keelbase.core.records.record import Record
from keelbase.core.request_info import SYSTEM
from keelbase.services.payments.objects import owner_in_metadata
from keelbase.services.records.service import RecordsService
from keelbase.store.base import Connection


class Mirror:
    def __init__(self, records: RecordsService) -> None:
        self.records = records

    async def find(self, conn: Connection | None, name: str, stripe_id: str) -> Record | None:
        return await self.records.find_first_by_filter(
            self.records.collection(name), "stripeId = {:id}", {"id": stripe_id}, conn=conn
        )

    async def find_event(self, conn: Connection, event_id: str) -> Record | None:
        return await self.records.find_first_by_filter(
            self.records.collection(names.EVENTS), "eventId = {:id}", {"id": event_id}, conn=conn
        )

    async def upsert(
        self,
        conn: Connection,
        name: str,
        stripe_id: str,
        values: dict[str, Any],
        event_at: float,
        raw: dict[str, Any] | None,
    ) -> Record | None:
        """Create or update the record of ``stripe_id``; ``None`` when it holds newer data."""
        if not stripe_id:
            return None
        collection = self.records.collection(name)
        data = {**values, "eventAt": event_at}
        if raw is not None:
            data["raw"] = raw
        found = await self.find(conn, name, stripe_id)
        if found is None:
            return await self.records.create_record(
                collection, {"stripeId": stripe_id, **data}, SYSTEM
            )
        locked = await self.records.find_locked(conn, collection, found.id)
        if locked is None or float(locked.get("eventAt") or 0) > event_at:
            return None
        return await self.records.update_record(collection, locked.id, data, SYSTEM)

    async def link_customer(
        self, conn: Connection, stripe_id: str, user: str, collection_ref: str
    ) -> None:
        """Link a customer to its auth record unless it is linked already.

        The link does not age: it is set whatever the time of the customer's
        newest event, and never moved to another user.
        """
        owner = {"user": user, "collectionRef": collection_ref}
        if not await self.owner_exists(conn, user, collection_ref):
            return
        found = await self.find(conn, names.CUSTOMERS, stripe_id)
        if found is None:
            await self.upsert(conn, names.CUSTOMERS, stripe_id, owner, 0, None)
            return
        locked = await self.records.find_locked(conn, found.collection, found.id)
        if locked is not None and not locked.get("user"):
            await self.records.update_record(found.collection, locked.id, owner, SYSTEM)

    async def owner_of(
        self, conn: Connection, customer: str, obj: dict[str, Any]
    ) -> dict[str, str] | None:
        """``user`` and ``collectionRef`` of an object: its customer's auth record, else the
        one named in its metadata (set on everything Keelbase's checkout creates).

        ``{}`` for an object of no user; ``None`` when the user it names was
        deleted: such an object is not mirrored (see ``owner_exists``).
        """
        if customer:
            linked = await self.find(conn, names.CUSTOMERS, customer)
            if linked is not None and linked.get("user"):
                user, collection = str(linked.get("user")), str(linked.get("collectionRef") or "")
                if not await self.owner_exists(conn, user, collection):
                    return None  # deleted after the customer was read
                return {"user": user, "collectionRef": collection}
        user, collection = owner_in_metadata(obj)
        if not user:
            return {}
        if not await self.owner_exists(conn, user, collection):
            return None
        return {"user": user, "collectionRef": collection}

    async def owner_exists(self, conn: Connection, user: str, collection_ref: str) -> bool:
        """Whether the auth record an object names is still there, locked until the
        event's transaction ends.

        A deleted user's customer, subscriptions and payments are deleted with
        it (``PaymentsService.owner_deleted``); the events Stripe sends after
        that (the cancellation of its subscription) must not bring them back.
        The lock orders this against a delete under way: whichever commits
        second sees the other's result.
        """
        collection = self.records.schema.get(collection_ref) if collection_ref else None
        if collection is None or not collection.is_auth:
            return False
        return await self.records.find_locked(conn, collection, user) is not None
