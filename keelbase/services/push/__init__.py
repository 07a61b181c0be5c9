"""Web Push: VAPID keys, browsers' push subscriptions per user, and background delivery."""

from keelbase.services.push.service import PushService

__all__ = ["PushService"]
