"""Outbound webhooks: record and custom events, signed, from a durable outbox."""

from keelbase.services.webhooks.service import WebhooksService

__all__ = ["WebhooksService"]
