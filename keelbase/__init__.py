"""Keelbase: an app backend in one Python process that speaks PocketBase's Web API.

Everything a user's code needs is importable from here; other modules may change.
"""

from keelbase.api.user_routes import RouteEvent
from keelbase.app import App
from keelbase.config import Config
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    ApiError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from keelbase.events import (
    AuthEvent,
    ListEvent,
    MailEvent,
    PaymentEvent,
    RealtimeMessageEvent,
    RealtimeSubscribeEvent,
    RecordCommitEvent,
    RecordEvent,
    RequestEvent,
    ViewEvent,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "App",
    "AuthEvent",
    "BadRequestError",
    "Config",
    "ForbiddenError",
    "ListEvent",
    "MailEvent",
    "NotFoundError",
    "PaymentEvent",
    "RealtimeMessageEvent",
    "RealtimeSubscribeEvent",
    "Record",
    "RecordCommitEvent",
    "RecordEvent",
    "RequestEvent",
    "RequestInfo",
    "RouteEvent",
    "UnauthorizedError",
    "ViewEvent",
    "__version__",
]
