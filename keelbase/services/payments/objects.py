"""Stripe objects as the values of their mirror records: pure functions, no I/O.

Stripe moved some fields between API versions (a subscription's current
period went onto its items in 2025; an invoice's subscription and payment
intent moved under ``parent`` and ``payments``): both places are read, so an
account pinned to either version mirrors the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from keelbase.core.dates import format_datetime

# Metadata keys Keelbase puts on the customers, sessions, subscriptions and
# payment intents it creates: which auth record they belong to.
USER_KEY = "keelbase_user"
COLLECTION_KEY = "keelbase_collection"


def stripe_time(value: Any) -> str:
    """A Stripe Unix timestamp as a record date ("" when missing)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return ""
    return format_datetime(datetime.fromtimestamp(value, UTC))


def ref_id(value: Any) -> str:
    """The id of a reference that Stripe sends as an id or as an expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def owner_in_metadata(obj: dict[str, Any]) -> tuple[str, str]:
    """The auth record (id, collection id) named in an object's metadata, or ("", "")."""
    metadata = _metadata(obj)
    return str(metadata.get(USER_KEY) or ""), str(metadata.get(COLLECTION_KEY) or "")


def product_values(obj: dict[str, Any], deleted: bool) -> dict[str, Any]:
    return {
        "name": str(obj.get("name") or ""),
        "description": str(obj.get("description") or ""),
        "active": bool(obj.get("active")) and not deleted,
        "metadata": _metadata(obj),
    }


def price_values(obj: dict[str, Any], deleted: bool) -> dict[str, Any]:
    recurring = obj.get("recurring") if isinstance(obj.get("recurring"), dict) else {}
    assert isinstance(recurring, dict)
    return {
        "product": ref_id(obj.get("product")),
        "active": bool(obj.get("active")) and not deleted,
        "currency": str(obj.get("currency") or ""),
        "unitAmount": obj.get("unit_amount") or 0,
        "type": str(obj.get("type") or ""),
        "interval": str(recurring.get("interval") or ""),
        "intervalCount": recurring.get("interval_count") or 0,
        "metadata": _metadata(obj),
    }


def customer_values(obj: dict[str, Any]) -> dict[str, Any]:
    return {"email": str(obj.get("email") or "")}


def _first_item(obj: dict[str, Any]) -> dict[str, Any]:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return {}


def subscription_values(obj: dict[str, Any]) -> dict[str, Any]:
    item = _first_item(obj)
    price = item.get("price") if isinstance(item.get("price"), dict) else {}
    assert isinstance(price, dict)
    start = obj.get("current_period_start") or item.get("current_period_start")
    end = obj.get("current_period_end") or item.get("current_period_end")
    return {
        "customer": ref_id(obj.get("customer")),
        "status": str(obj.get("status") or ""),
        "price": ref_id(item.get("price")),
        "product": ref_id(price.get("product")),
        "quantity": item.get("quantity") or obj.get("quantity") or 0,
        "currentPeriodStart": stripe_time(start),
        "currentPeriodEnd": stripe_time(end),
        "cancelAtPeriodEnd": bool(obj.get("cancel_at_period_end")),
        "canceledAt": stripe_time(obj.get("canceled_at")),
        "endedAt": stripe_time(obj.get("ended_at")),
        "metadata": _metadata(obj),
    }


def invoice_subscription(invoice: dict[str, Any]) -> str:
    direct = ref_id(invoice.get("subscription"))
    if direct:
        return direct
    parent = invoice.get("parent") if isinstance(invoice.get("parent"), dict) else {}
    assert isinstance(parent, dict)
    details = parent.get("subscription_details")
    return ref_id(details.get("subscription")) if isinstance(details, dict) else ""


def invoice_payment_key(invoice: dict[str, Any]) -> str:
    """The payment an invoice is about: its payment intent, else the invoice itself."""
    return ref_id(invoice.get("payment_intent")) or str(invoice.get("id") or "")


def payment_intent_values(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": ref_id(obj.get("customer")),
        "status": str(obj.get("status") or ""),
        "amount": obj.get("amount_received") or obj.get("amount") or 0,
        "currency": str(obj.get("currency") or ""),
        "invoice": ref_id(obj.get("invoice")),
        "metadata": _metadata(obj),
    }


def failed_invoice_values(invoice: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": ref_id(invoice.get("customer")),
        "status": "failed",
        "amount": invoice.get("amount_due") or 0,
        "currency": str(invoice.get("currency") or ""),
        "invoice": str(invoice.get("id") or ""),
        "subscription": invoice_subscription(invoice),
    }


def refund_values(charge: dict[str, Any]) -> dict[str, Any]:
    refunded = charge.get("amount_refunded") or 0
    full = bool(charge.get("refunded")) or refunded >= (charge.get("amount") or 0)
    return {
        "customer": ref_id(charge.get("customer")),
        "status": "refunded" if full else "partially_refunded",
        "amount": charge.get("amount") or 0,
        "amountRefunded": refunded,
        "currency": str(charge.get("currency") or ""),
    }


def checkout_payment_values(session: dict[str, Any]) -> dict[str, Any]:
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    return {
        "customer": ref_id(session.get("customer")),
        "status": "succeeded" if paid else "pending",
        "amount": session.get("amount_total") or 0,
        "currency": str(session.get("currency") or ""),
        "checkoutSession": str(session.get("id") or ""),
    }
