"""What a checkout or billing portal request asks for, checked before Stripe is called.

A redirect URL must lead back to the app: its origin is the app URL's
(``meta.appURL``) or one of the origins the server allows (``--origins``; the
wildcard allows none). Anything else would turn the endpoint into an open
redirect through Stripe's pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keelbase.errors import BadRequestError, field_error, required_error

MODES = ("payment", "subscription")
MAX_PRICES = 20
MAX_QUANTITY = 10_000
MSG_CHECKOUT = "Failed to start the checkout."
MSG_PORTAL = "Failed to open the billing portal."


@dataclass
class LineItem:
    price: str
    quantity: int = 1


@dataclass
class CheckoutRequest:
    items: list[LineItem]
    mode: str
    success_url: str
    cancel_url: str
    metadata: dict[str, str]


def _origin(url: str) -> str:
    # Browsers end a host at a backslash and drop tabs and newlines where Python reads
    # them as part of the user info: such URLs, and any user info, lead elsewhere.
    if not url.isascii() or not url.isprintable() or "\\" in url or " " in url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()


def allowed_origins(app_url: str, origins: list[str]) -> set[str]:
    allowed = {_origin(o) for o in origins if o != "*"}
    allowed.add(_origin(app_url))
    allowed.discard("")
    return allowed


def url_error(value: Any, allowed: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value:
        return required_error()
    try:
        origin = _origin(value)
    except ValueError:
        origin = ""
    if len(value) > 2048 or origin not in allowed:
        return field_error(
            "validation_url_not_allowed",
            "Must be a URL of the app (its appURL or an allowed origin).",
        )
    return None


def _items(body: dict[str, Any]) -> tuple[list[LineItem], dict[str, Any] | None]:
    raw: Any = body.get("prices")
    if raw is None and body.get("price") is not None:
        raw = [body.get("price")]
    invalid = field_error("validation_invalid_prices", "Must be one or more Stripe price ids.")
    if not isinstance(raw, list) or not raw:
        return [], required_error() if raw in (None, []) else invalid
    if len(raw) > MAX_PRICES:
        return [], invalid
    items: list[LineItem] = []
    for entry in raw:
        if isinstance(entry, str):
            entry = {"price": entry}
        if not isinstance(entry, dict):
            return [], invalid
        price, quantity = entry.get("price"), entry.get("quantity", 1)
        if not isinstance(price, str) or not price or len(price) > 255:
            return [], invalid
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return [], invalid
        if not 1 <= quantity <= MAX_QUANTITY:
            return [], invalid
        items.append(LineItem(price, quantity))
    return items, None


def _metadata(value: Any) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The caller's own metadata: up to 20 short string pairs, never Keelbase's keys."""
    if value is None:
        return {}, None
    invalid = field_error(
        "validation_invalid_metadata", "Must be up to 20 string values with short keys."
    )
    if not isinstance(value, dict) or len(value) > 20:
        return {}, invalid
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 40 or len(item) > 500:
            return {}, invalid
        if key.startswith("keelbase_"):
            return {}, invalid
        out[key] = item
    return out, None


def parse_checkout(body: dict[str, Any], allowed: set[str]) -> CheckoutRequest:
    errors: dict[str, Any] = {}
    items, problem = _items(body)
    if problem:
        errors["prices"] = problem
    mode = body.get("mode")
    if mode not in MODES:
        errors["mode"] = (
            required_error()
            if not mode
            else field_error("validation_in_invalid", "Must be payment or subscription.")
        )
    for name in ("successUrl", "cancelUrl"):
        problem = url_error(body.get(name), allowed)
        if problem:
            errors[name] = problem
    metadata, problem = _metadata(body.get("metadata"))
    if problem:
        errors["metadata"] = problem
    if errors:
        raise BadRequestError(MSG_CHECKOUT, errors)
    return CheckoutRequest(
        items, str(mode), str(body["successUrl"]), str(body["cancelUrl"]), metadata
    )


def parse_portal(body: dict[str, Any], allowed: set[str]) -> str:
    problem = url_error(body.get("returnUrl"), allowed)
    if problem:
        raise BadRequestError(MSG_PORTAL, {"returnUrl": problem})
    return str(body["returnUrl"])
