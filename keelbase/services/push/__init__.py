"""Web Push: VAPID keys, browsers' push subscriptions per user, and background delivery.

``PushService`` is imported on first use (PEP 562): a server imports
``push.subscriptions`` at start for its table, and the service only once
something pushes or a record event comes (``App.push``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keelbase.services.push.service import PushService

__all__ = ["PushService"]


def __getattr__(name: str) -> Any:
    if name == "PushService":
        from keelbase.services.push.service import PushService

        return PushService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
