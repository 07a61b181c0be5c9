"""The system collections that mirror Stripe: products, prices, customers, subscriptions, payments.

They are not part of a new data folder (PocketBase has none of them, and a
fresh app lists exactly PocketBase's collections); they are created once
payments are configured (see ``services/payments/setup.py``).

Every mirrored object keeps its Stripe id (``stripeId``, unique), the raw
Stripe object (``raw``) and the time of the newest event applied to it
(``eventAt``, Unix seconds), which is what keeps an older event from
overwriting a newer one. Records that belong to a user name the auth record by
``user`` (its id) and ``collectionRef`` (its collection's id), like ``_mfas``,
so one table serves every auth collection and rules can say
``@collection._subscriptions.user ?= @request.auth.id``.
"""

from __future__ import annotations

import zlib

from keelbase.core.collections.collection import Collection, id_field, timestamp_fields
from keelbase.core.fields import (
    BoolField,
    DateField,
    Field,
    JsonField,
    NumberField,
    TextField,
)

PRODUCTS = "_products"
PRICES = "_prices"
CUSTOMERS = "_customers"
SUBSCRIPTIONS = "_subscriptions"
PAYMENTS = "_payments"
EVENTS = "_paymentEvents"

# Everyone may read the catalogue; a user sees their own customer, subscriptions and payments.
PUBLIC_RULE = ""
OWNER_RULE = "@request.auth.id != '' && user = @request.auth.id && collectionRef = @request.auth.collectionId"


def _id(kind: str, collection: str, name: str) -> str:
    """A stable field id: the same in every app, as PocketBase's system fields have."""
    return f"{kind}{zlib.crc32(f'{collection}.{name}'.encode())}"


def _text(collection: str, name: str, required: bool = False) -> TextField:
    return TextField(id=_id("text", collection, name), name=name, system=True, required=required)


def _number(collection: str, name: str) -> NumberField:
    return NumberField(id=_id("number", collection, name), name=name, system=True)


def _bool(collection: str, name: str) -> BoolField:
    return BoolField(id=_id("bool", collection, name), name=name, system=True)


def _date(collection: str, name: str) -> DateField:
    return DateField(id=_id("date", collection, name), name=name, system=True)


def _json(collection: str, name: str) -> JsonField:
    return JsonField(id=_id("json", collection, name), name=name, system=True, maxSize=2_000_000)


def _mirrored(name: str, collection_id: str, fields: list[Field], rule: str) -> Collection:
    """A collection of Stripe objects: its own fields between the Stripe id and the raw object."""
    return Collection(
        id=collection_id,
        name=name,
        system=True,
        fields=[
            id_field(),
            _text(name, "stripeId", required=True),
            *fields,
            _json(name, "raw"),
            _number(name, "eventAt"),
            *timestamp_fields(system=True),
        ],
        indexes=[f"CREATE UNIQUE INDEX `idx_{name[1:]}_stripeId` ON `{name}` (`stripeId`)"],
        listRule=rule,
        viewRule=rule,
    )


def _owned(name: str) -> list[Field]:
    return [_text(name, "customer"), _text(name, "user"), _text(name, "collectionRef")]


def products() -> Collection:
    n = PRODUCTS
    return _mirrored(
        n,
        "pbc_kb_products",
        [
            _text(n, "name"),
            _text(n, "description"),
            _bool(n, "active"),
            _json(n, "metadata"),
        ],
        PUBLIC_RULE,
    )


def prices() -> Collection:
    n = PRICES
    return _mirrored(
        n,
        "pbc_kb_prices",
        [
            _text(n, "product"),
            _bool(n, "active"),
            _text(n, "currency"),
            _number(n, "unitAmount"),
            _text(n, "type"),
            _text(n, "interval"),
            _number(n, "intervalCount"),
            _json(n, "metadata"),
        ],
        PUBLIC_RULE,
    )


def customers() -> Collection:
    n = CUSTOMERS
    collection = _mirrored(
        n,
        "pbc_kb_customers",
        [_text(n, "user"), _text(n, "collectionRef"), _text(n, "email")],
        OWNER_RULE,
    )
    # One Stripe customer per auth record: two first checkouts at once cannot make two.
    collection.indexes.append(
        f"CREATE UNIQUE INDEX `idx_customers_user` ON `{n}` (`collectionRef`, `user`) WHERE `user` != ''"
    )
    return collection


def subscriptions() -> Collection:
    n = SUBSCRIPTIONS
    collection = _mirrored(
        n,
        "pbc_kb_subscriptions",
        [
            *_owned(n),
            _text(n, "status"),
            _text(n, "price"),
            _text(n, "product"),
            _number(n, "quantity"),
            _date(n, "currentPeriodStart"),
            _date(n, "currentPeriodEnd"),
            _bool(n, "cancelAtPeriodEnd"),
            _date(n, "canceledAt"),
            _date(n, "endedAt"),
            _json(n, "metadata"),
        ],
        OWNER_RULE,
    )
    collection.indexes.append(f"CREATE INDEX `idx_subscriptions_user` ON `{n}` (`user`)")
    return collection


def payments() -> Collection:
    n = PAYMENTS
    collection = _mirrored(
        n,
        "pbc_kb_payments",
        [
            *_owned(n),
            _text(n, "status"),
            _number(n, "amount"),
            _number(n, "amountRefunded"),
            _text(n, "currency"),
            _text(n, "invoice"),
            _text(n, "subscription"),
            _text(n, "checkoutSession"),
            _json(n, "metadata"),
        ],
        OWNER_RULE,
    )
    collection.indexes.append(f"CREATE INDEX `idx_payments_user` ON `{n}` (`user`)")
    return collection


def events() -> Collection:
    """The Stripe events applied, by id: written in the transaction that applies each one."""
    n = EVENTS
    return Collection(
        id="pbc_kb_paymentevents",
        name=n,
        system=True,
        fields=[
            id_field(),
            _text(n, "eventId", required=True),
            _text(n, "type"),
            _number(n, "eventAt"),
            *timestamp_fields(system=True),
        ],
        indexes=[f"CREATE UNIQUE INDEX `idx_paymentEvents_eventId` ON `{n}` (`eventId`)"],
    )


def payment_collections() -> list[Collection]:
    return [products(), prices(), customers(), subscriptions(), payments(), events()]
