"""Stripe's API and webhook signatures, through the ``stripe`` SDK.

Everything that speaks to Stripe is here; the payments service sees plain
dicts. The API base comes from the settings (``payments.stripe.apiBase``), so
tests point it at a Stripe-compatible server on loopback and real apps leave
it empty for Stripe's own. Webhooks are checked by the SDK's own
``Webhook.construct_event`` on the raw body: the signature and its timestamp's
tolerance are Stripe's, not ours.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import orjson

STRIPE_API = "https://api.stripe.com"
# Stripe's own default: an event signed more than five minutes ago is a replay.
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 20
# The SDK logs every request at INFO; Keelbase logs what matters itself.
logging.getLogger("stripe").setLevel(logging.WARNING)
# The SDK is imported on first use: apps without payments never load it.


class StripeFailure(Exception):
    """Stripe refused a request or could not be reached. ``message`` is safe to show
    (Stripe's user-facing message, never a key), ``status`` its HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class SignatureRejected(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


def verify_event(payload: bytes, header: str, secret: str) -> dict[str, Any]:
    """The event of a webhook whose ``Stripe-Signature`` header checks out, as plain JSON.

    ``construct_event`` verifies the HMAC over the exact bytes received and the
    timestamp against ``TOLERANCE_SECONDS``; the event is then read from those
    same bytes.
    """
    import stripe

    try:
        stripe.Webhook.construct_event(
            payload.decode("utf-8"), header, secret, tolerance=TOLERANCE_SECONDS
        )
        event = orjson.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        raise SignatureRejected(str(error)) from error
    if not isinstance(event, dict):
        raise SignatureRejected("the event is not a JSON object")
    return event


def _plain(value: Any) -> dict[str, Any]:
    """A ``StripeObject`` as plain JSON values."""
    data = value.to_dict() if hasattr(value, "to_dict") else value
    plain: dict[str, Any] = orjson.loads(orjson.dumps(data, default=str))
    return plain


@dataclass
class StripeGateway:
    """One configuration's client: made again whenever the settings change."""

    secret_key: str
    api_base: str = ""

    def __post_init__(self) -> None:
        import stripe

        self._client = stripe.StripeClient(
            self.secret_key,
            base_addresses={"api": (self.api_base or STRIPE_API).rstrip("/")},
            http_client=stripe.HTTPXClient(timeout=TIMEOUT_SECONDS),
            max_network_retries=1,
        )

    async def _call(self, method: Any, params: dict[str, Any]) -> dict[str, Any]:
        import stripe

        try:
            return _plain(await method(params=params))
        except stripe.StripeError as error:
            message = error.user_message or "Stripe refused the request."
            raise StripeFailure(str(message), error.http_status) from error

    async def create_customer(self, email: str, metadata: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {"metadata": metadata}
        if email:
            params["email"] = email
        return await self._call(self._client.v1.customers.create_async, params)

    async def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._client.v1.checkout.sessions.create_async, params)

    async def create_portal_session(self, customer: str, return_url: str) -> dict[str, Any]:
        return await self._call(
            self._client.v1.billing_portal.sessions.create_async,
            {"customer": customer, "return_url": return_url},
        )

    async def _list_all(self, method: Any) -> list[dict[str, Any]]:
        """Every object of a list endpoint, page after page (``starting_after``)."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = await self._call(method, params)
            items = page.get("data") or []
            out.extend(items)
            if not page.get("has_more") or not items:
                return out
            params = {"limit": 100, "starting_after": items[-1]["id"]}

    async def cancel_subscription(self, subscription: str) -> dict[str, Any]:
        """Cancel a subscription now (``DELETE /v1/subscriptions/{id}``): no further invoice."""
        method = functools.partial(self._client.v1.subscriptions.cancel_async, subscription)
        return await self._call(method, {})

    async def list_products(self) -> list[dict[str, Any]]:
        return await self._list_all(self._client.v1.products.list_async)

    async def list_prices(self) -> list[dict[str, Any]]:
        return await self._list_all(self._client.v1.prices.list_async)
