"""Keelbase: an app backend in one Python process that speaks PocketBase's Web API.

Everything a user's code needs is importable from here; other modules may change.
Each name is imported on first use (PEP 562): ``python -m keelbase`` reaches its
command without importing the whole server first, so the command decides how
the start-up is run (see ``__main__.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

# Where each public name lives, imported when it is first asked for.
_HOMES = {
    "RouteEvent": "keelbase.api.user_routes",
    "App": "keelbase.app",
    "Config": "keelbase.config",
    "Record": "keelbase.core.records.record",
    "RequestInfo": "keelbase.core.request_info",
    **dict.fromkeys(
        ("ApiError", "BadRequestError", "ForbiddenError", "NotFoundError", "UnauthorizedError"),
        "keelbase.errors",
    ),
}


def __getattr__(name: str) -> object:
    import importlib

    home = _HOMES.get(name, "keelbase.events" if name in __all__ else "")
    if not home:
        raise AttributeError(f"module 'keelbase' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
