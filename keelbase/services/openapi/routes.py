"""What the generator knows about Keelbase's own routes, by path template.

The route list itself comes from the running router (so a route added there
is described, at least generically); this table adds summaries, tags and who
may call each one. Record and auth routes are not listed here: they are
written out per collection, with that collection's schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUPERUSER = "superuser"
ANYONE = "anyone"
SIGNED_IN = "signed in"  # any auth record


@dataclass(frozen=True)
class RouteInfo:
    tag: str
    summary: str
    access: str = SUPERUSER
    body: dict[str, Any] | None = None


_TEXT = {"type": "string"}
BATCH_BODY = {
    "type": "object",
    "required": ["requests"],
    "properties": {
        "requests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"type": "string", "enum": ["POST", "PUT", "PATCH", "DELETE"]},
                    "url": _TEXT,
                    "headers": {"type": "object"},
                    "body": {"type": "object"},
                },
            },
        }
    },
}
SQL_BODY = {"type": "object", "required": ["query"], "properties": {"query": _TEXT}}
ADVISOR_BODY = {
    "type": "object",
    "required": ["collection", "index"],
    "properties": {"collection": _TEXT, "index": _TEXT},
}
NEAREST_BODY = {
    "type": "object",
    "required": ["field"],
    "properties": {
        "field": _TEXT,
        "vector": {"type": "array", "items": {"type": "number"}},
        "record": _TEXT,
        "records": {"type": "array", "items": _TEXT, "minItems": 1, "maxItems": 50},
        "text": _TEXT,
        "k": {"type": "integer", "minimum": 1, "maximum": 100},
        "metric": {"type": "string", "enum": ["cosine", "l2"]},
        "filter": _TEXT,
    },
}
SUBSCRIPTIONS_BODY = {
    "type": "object",
    "required": ["clientId"],
    "properties": {"clientId": _TEXT, "subscriptions": {"type": "array", "items": _TEXT}},
}

CHECKOUT_BODY = {
    "type": "object",
    "required": ["mode", "successUrl", "cancelUrl"],
    "properties": {
        "price": _TEXT,
        "prices": {"type": "array", "items": _TEXT},
        "mode": {"type": "string", "enum": ["payment", "subscription"]},
        "successUrl": _TEXT,
        "cancelUrl": _TEXT,
        "metadata": {"type": "object"},
    },
}
PORTAL_BODY = {"type": "object", "required": ["returnUrl"], "properties": {"returnUrl": _TEXT}}


BROADCAST_BODY = {
    "type": "object",
    "required": ["topic"],
    "properties": {"topic": _TEXT, "data": {}},
}
PRESENCE_BODY = {
    "type": "object",
    "required": ["clientId", "topic"],
    "properties": {"clientId": _TEXT, "topic": _TEXT, "state": {"type": "object"}},
}
INSTALLER_BODY = {
    "type": "object",
    "required": ["token", "email", "password", "passwordConfirm"],
    "properties": {"token": _TEXT, "email": _TEXT, "password": _TEXT, "passwordConfirm": _TEXT},
}
WEBHOOK_BODY = {
    "type": "object",
    "properties": {
        "url": _TEXT,
        "events": {"type": "array", "items": _TEXT},
        "filter": _TEXT,
        "active": {"type": "boolean"},
        "secret": _TEXT,
    },
}
PUSH_BODY = {
    "type": "object",
    "required": ["endpoint"],
    "properties": {
        "endpoint": _TEXT,
        "keys": {"type": "object", "properties": {"p256dh": _TEXT, "auth": _TEXT}},
    },
}
PUSH_RULE_BODY = {
    "type": "object",
    "properties": {
        "collection": _TEXT,
        "events": {"type": "array", "items": {"enum": ["create", "update", "delete"]}},
        "relations": {"type": "array", "items": _TEXT},
        "recipientsCollection": _TEXT,
        "recipients": _TEXT,
        "title": _TEXT,
        "body": _TEXT,
        "url": _TEXT,
        "ttl": {"type": "integer"},
        "urgency": {"enum": ["very-low", "low", "normal", "high"]},
        "active": {"type": "boolean"},
    },
}

SYSTEM_ROUTES: dict[tuple[str, str], RouteInfo] = {
    ("GET", "/api/health"): RouteInfo("health", "Whether the server is up", ANYONE),
    ("GET", "/api/openapi.json"): RouteInfo("meta", "This description", ANYONE),
    ("GET", "/api/collections"): RouteInfo("collections", "List collections"),
    ("POST", "/api/collections"): RouteInfo("collections", "Create a collection"),
    ("PUT", "/api/collections/import"): RouteInfo("collections", "Import collections"),
    ("GET", "/api/collections/meta/scaffolds"): RouteInfo(
        "collections", "New collections' defaults"
    ),
    ("POST", "/api/collections/meta/dry-run-view"): RouteInfo("collections", "Try a view query"),
    ("GET", "/api/collections/{collection}"): RouteInfo("collections", "View a collection"),
    ("PATCH", "/api/collections/{collection}"): RouteInfo("collections", "Update a collection"),
    ("DELETE", "/api/collections/{collection}"): RouteInfo("collections", "Delete a collection"),
    ("GET", "/api/collections/{collection}/aggregate"): RouteInfo(
        "records", "Counts and sums of records under the list rule (docs/aggregates.md)", ANYONE
    ),
    ("DELETE", "/api/collections/{collection}/truncate"): RouteInfo(
        "collections", "Delete every record of a collection"
    ),
    ("GET", "/api/collections/meta/oauth2-providers"): RouteInfo(
        "collections", "The OAuth2 providers Keelbase knows"
    ),
    ("GET", "/api/settings"): RouteInfo("settings", "Read the settings"),
    ("PATCH", "/api/settings"): RouteInfo("settings", "Change the settings"),
    ("POST", "/api/settings/test/s3"): RouteInfo("settings", "Try the S3 settings"),
    ("POST", "/api/settings/test/email"): RouteInfo("settings", "Send a test email"),
    ("POST", "/api/settings/apple/generate-client-secret"): RouteInfo(
        "settings", "Make an Apple client secret"
    ),
    ("GET", "/api/logs"): RouteInfo("logs", "List request logs"),
    ("DELETE", "/api/logs"): RouteInfo("logs", "Delete logs"),
    ("GET", "/api/logs/stats"): RouteInfo("logs", "Requests per hour"),
    ("GET", "/api/logs/{id}"): RouteInfo("logs", "View a log"),
    ("GET", "/api/backups"): RouteInfo("backups", "List backups"),
    ("POST", "/api/backups"): RouteInfo("backups", "Make a backup"),
    ("POST", "/api/backups/upload"): RouteInfo("backups", "Upload a backup"),
    ("GET", "/api/backups/{key}"): RouteInfo("backups", "Download a backup (file token)", ANYONE),
    ("DELETE", "/api/backups/{key}"): RouteInfo("backups", "Delete a backup"),
    ("POST", "/api/backups/{key}/restore"): RouteInfo("backups", "Restore a backup"),
    ("GET", "/api/crons"): RouteInfo("crons", "List cron jobs"),
    ("POST", "/api/crons/{id}"): RouteInfo("crons", "Run a cron job now"),
    ("POST", "/api/sql"): RouteInfo("sql", "Read-only SQL", body=SQL_BODY),
    ("GET", "/api/advisor/indexes"): RouteInfo("advisor", "Index suggestions from slow lists"),
    ("POST", "/api/advisor/indexes/apply"): RouteInfo(
        "advisor", "Add a suggested index to its collection", body=ADVISOR_BODY
    ),
    ("GET", "/api/collections/{collection}/nearest"): RouteInfo(
        "vectors", "Nearest records by a vector field (list rule)", ANYONE
    ),
    ("POST", "/api/collections/{collection}/nearest"): RouteInfo(
        "vectors", "Nearest records by a vector field (list rule)", ANYONE, NEAREST_BODY
    ),
    ("POST", "/api/batch"): RouteInfo(
        "batch", "Several record writes in one transaction", ANYONE, BATCH_BODY
    ),
    ("GET", "/api/sync/{collection}/changes"): RouteInfo(
        "sync", "Records changed since a cursor, under the list rule", ANYONE
    ),
    ("GET", "/api/sync/{collection}/checkpoint"): RouteInfo(
        "sync", "Count and checksum of the records the caller may list", ANYONE
    ),
    ("POST", "/api/files/token"): RouteInfo("files", "A token for protected files", ANYONE),
    ("GET", "/api/files/{collection}/{record}/{filename}"): RouteInfo(
        "files", "Download a file", ANYONE
    ),
    ("GET", "/api/realtime"): RouteInfo("realtime", "Open the event stream (SSE)", ANYONE),
    ("POST", "/api/realtime"): RouteInfo(
        "realtime", "Set a client's subscriptions", ANYONE, SUBSCRIPTIONS_BODY
    ),
    ("GET", "/api/oauth2-redirect"): RouteInfo("auth", "OAuth2 providers' redirect", ANYONE),
    ("POST", "/api/oauth2-redirect"): RouteInfo("auth", "OAuth2 providers' redirect", ANYONE),
    ("GET", "/api/metrics"): RouteInfo("metrics", "Prometheus metrics (when on)", ANYONE),
    ("POST", "/api/payments/checkout"): RouteInfo(
        "payments", "A Stripe Checkout Session for the signed-in user", ANYONE, CHECKOUT_BODY
    ),
    ("POST", "/api/payments/portal"): RouteInfo(
        "payments", "A Stripe Billing Portal session for the signed-in user", ANYONE, PORTAL_BODY
    ),
    ("GET", "/api/payments/config"): RouteInfo("payments", "Stripe's publishable key", ANYONE),
    ("POST", "/api/payments/webhook"): RouteInfo(
        "payments", "Stripe's webhook (signed by Stripe)", ANYONE
    ),
    ("POST", "/api/realtime/broadcast"): RouteInfo(
        "realtime", "Send a message to a custom topic's subscribers", ANYONE, BROADCAST_BODY
    ),
    ("GET", "/api/realtime/presence"): RouteInfo("realtime", "Who is on a topic", ANYONE),
    ("POST", "/api/realtime/presence"): RouteInfo(
        "realtime", "Join a topic's presence or set its state", ANYONE, PRESENCE_BODY
    ),
    ("DELETE", "/api/realtime/presence"): RouteInfo(
        "realtime", "Leave a topic's presence", ANYONE, PRESENCE_BODY
    ),
    ("POST", "/api/installer/check"): RouteInfo(
        "installer",
        "Whether a first-superuser link still works",
        ANYONE,
        {"type": "object", "required": ["token"], "properties": {"token": _TEXT}},
    ),
    ("POST", "/api/installer"): RouteInfo(
        "installer",
        "Create the first superuser from the link serve printed",
        ANYONE,
        INSTALLER_BODY,
    ),
    ("GET", "/api/dashboard/collections"): RouteInfo(
        "dashboard", "The collections an editor's dashboard shows", SIGNED_IN
    ),
    ("GET", "/api/dashboard/auth-collections"): RouteInfo(
        "dashboard", "The auth collections an editor may sign in to (names only)", ANYONE
    ),
    ("GET", "/api/webhooks"): RouteInfo("webhooks", "List webhooks"),
    ("POST", "/api/webhooks"): RouteInfo("webhooks", "Create a webhook", body=WEBHOOK_BODY),
    ("GET", "/api/webhooks/{id}"): RouteInfo("webhooks", "View a webhook"),
    ("PATCH", "/api/webhooks/{id}"): RouteInfo("webhooks", "Update a webhook", body=WEBHOOK_BODY),
    ("DELETE", "/api/webhooks/{id}"): RouteInfo("webhooks", "Delete a webhook"),
    ("GET", "/api/webhooks/{id}/deliveries"): RouteInfo("webhooks", "A webhook's delivery log"),
    ("POST", "/api/webhooks/{id}/deliveries/{deliveryId}/replay"): RouteInfo(
        "webhooks", "Send a past delivery again"
    ),
    ("GET", "/api/push/vapid"): RouteInfo("push", "The VAPID public key", ANYONE),
    ("POST", "/api/push/subscriptions"): RouteInfo(
        "push", "Store a browser's push subscription (signed in)", ANYONE, PUSH_BODY
    ),
    ("DELETE", "/api/push/subscriptions"): RouteInfo(
        "push", "Remove one of your push subscriptions", ANYONE, PUSH_BODY
    ),
    ("GET", "/api/push/rules"): RouteInfo("push", "List the push rules"),
    ("POST", "/api/push/rules"): RouteInfo(
        "push", "Create a push rule (push on record events)", body=PUSH_RULE_BODY
    ),
    ("GET", "/api/push/rules/{id}"): RouteInfo("push", "View a push rule"),
    ("PATCH", "/api/push/rules/{id}"): RouteInfo("push", "Update a push rule", body=PUSH_RULE_BODY),
    ("DELETE", "/api/push/rules/{id}"): RouteInfo("push", "Delete a push rule"),
}

# Routes written out once per collection (records) or per auth collection (auth).
RECORD_TEMPLATES = frozenset(
    {"/api/collections/{collection}/records", "/api/collections/{collection}/records/{id}"}
)
AUTH_TEMPLATE_PREFIX = "/api/collections/{collection}/"
AUTH_ACTIONS = (
    "auth-with-password",
    "auth-refresh",
    "auth-methods",
    "request-otp",
    "auth-with-otp",
    "auth-with-oauth2",
    "request-verification",
    "confirm-verification",
    "request-password-reset",
    "confirm-password-reset",
    "request-email-change",
    "confirm-email-change",
)


def is_per_collection(path: str) -> bool:
    if path in RECORD_TEMPLATES or path.startswith("/api/collections/{collection}/impersonate/"):
        return True
    return path.removeprefix(AUTH_TEMPLATE_PREFIX) in AUTH_ACTIONS
