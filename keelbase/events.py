"""The events hooks receive. Each carries what its action works on; handlers may change it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keelbase.hooks import Event

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from keelbase.core.collections.collection import Collection
    from keelbase.core.records.record import Record
    from keelbase.core.request_info import RequestInfo
    from keelbase.services.records.listing import ListParams


@dataclass
class RecordEvent(Event):
    """A record being created, updated or deleted, inside its transaction.

    Before ``await e.next()`` the record holds the new data, not yet validated
    or stored; after it, the stored result. Raise ``ApiError`` to refuse.
    """

    record: Record
    info: RequestInfo
    action: str  # "create" | "update" | "delete"
    original: Record | None = None  # the stored record before an update or delete

    @property
    def collection(self) -> Collection:
        return self.record.collection


@dataclass
class RecordCommitEvent(Event):
    """A create, update or delete has been committed: send mail, call webhooks, etc."""

    record: Record
    action: str


@dataclass
class ListEvent(Event):
    """A records list request; ``result`` is the answer after ``await e.next()``."""

    collection: Collection
    params: ListParams
    info: RequestInfo
    expand: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class ViewEvent(Event):
    """A single record request; ``result`` is the answer after ``await e.next()``."""

    collection: Collection
    record_id: str
    info: RequestInfo
    expand: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuthEvent(Event):
    """A sign-in that has proven the identity; ``result`` is ``{token, record}`` after next."""

    record: Record
    info: RequestInfo
    method: str  # "password", "refresh", ...
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class RequestEvent(Event):
    """Any HTTP request; ``response`` is set after ``await e.next()`` (and may be replaced)."""

    request: Request
    response: Response | None = None


@dataclass
class MailEvent(Event):
    """A mail about to be sent; change it, or return without ``next()`` to cancel it."""

    to: list[str]
    subject: str
    html: str
    text: str = ""
    sender: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RealtimeMessageEvent(Event):
    """A realtime message about to be sent to one client; change it or drop it."""

    client_id: str
    auth: Record | None
    name: str
    data: str


@dataclass
class RealtimeSubscribeEvent(Event):
    """A client setting its subscriptions; change ``topics`` or raise ``ApiError`` to refuse."""

    client_id: str
    auth: Record | None
    topics: list[str]


@dataclass
class PaymentEvent(Event):
    """A verified Stripe webhook event, applied once, inside the transaction that applies it.

    ``event`` is Stripe's event as JSON (``type``, ``id``, ``created``,
    ``data.object``). After ``await e.next()`` the mirror records are written
    (``handled`` says whether Keelbase knows this type); records written by the
    handler through ``app.create_record`` and the like commit with them. Raise
    to make the webhook fail: nothing is kept and Stripe sends the event again.
    """

    event: dict[str, Any]
    handled: bool = False

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def object(self) -> dict[str, Any]:
        data = self.event.get("data")
        found = data.get("object") if isinstance(data, dict) else None
        return found if isinstance(found, dict) else {}
