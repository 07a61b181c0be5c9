"""Runtime settings, kept in ``_params`` and edited through ``/api/settings``.

The shape is PocketBase's so its SDKs and dashboards read it; sections that
no feature uses yet are stored and returned unchanged. Secrets (the SMTP and
S3 passwords, the metrics token) are stored but never returned; with an encryption
key the whole stored value is encrypted, as PocketBase's ``--encryptionEnv`` does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keelbase.core import rate_limits, settings_cipher
from keelbase.core.dates import now_string
from keelbase.core.fields.email import is_email
from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.store import system
from keelbase.store.base import Connection, Store

SETTINGS_KEY = "settings"
MSG_SAVE_FAILED = "An error occurred while saving the new settings."


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Meta(_Section):
    appName: str = "Acme"
    appURL: str = "http://localhost:8090"
    senderName: str = "Support"
    senderAddress: str = "support@example.com"
    hideControls: bool = False
    accentColor: str = "#1055c9"


class Smtp(_Section):
    enabled: bool = False
    port: int = 587
    host: str = "smtp.example.com"
    username: str = ""
    password: str = ""
    authMethod: str = ""
    tls: bool = False
    localName: str = ""


class S3(_Section):
    enabled: bool = False
    bucket: str = ""
    region: str = ""
    endpoint: str = ""
    accessKey: str = ""
    secret: str = ""
    forcePathStyle: bool = False


class Backups(_Section):
    cron: str = ""
    cronMaxKeep: int = 3
    s3: S3 = Field(default_factory=S3)


class RateLimitRule(_Section):
    label: str = ""
    audience: str = ""
    duration: int = 0
    maxRequests: int = 0


def _default_rate_rules() -> list[RateLimitRule]:
    return [
        RateLimitRule(label="*:auth", duration=3, maxRequests=2),
        RateLimitRule(label="*:create", duration=5, maxRequests=20),
        RateLimitRule(label="/api/batch", duration=1, maxRequests=3),
        RateLimitRule(label="/api/", duration=10, maxRequests=300),
    ]


class RateLimits(_Section):
    rules: list[RateLimitRule] = Field(default_factory=_default_rate_rules)
    excludedIPs: list[str] = []
    enabled: bool = False


class TrustedProxy(_Section):
    headers: list[str] = []
    useLeftmostIP: bool = False


class Batch(_Section):
    enabled: bool = False
    maxRequests: int = 50
    timeout: int = 3
    maxBodySize: int = 0


class Logs(_Section):
    maxDataSize: int = 0
    maxDays: int = 5
    minLevel: int = 0
    logIP: bool = True
    logAuthId: bool = False


class Metrics(_Section):
    """Keelbase's own section: ``GET /api/metrics`` for Prometheus (see docs/observability.md)."""

    enabled: bool = False
    # Prometheus's bearer token (write-only); superusers' tokens are accepted too.
    token: str = ""


class Stripe(_Section):
    """Keelbase's own: Stripe's keys (see docs/payments.md); the two secrets are write-only."""

    secretKey: str = ""
    publishableKey: str = ""
    webhookSecret: str = ""
    # "" is Stripe's own API; tests point it at a Stripe-compatible server on loopback.
    apiBase: str = ""


class Payments(_Section):
    stripe: Stripe = Field(default_factory=Stripe)


class Settings(_Section):
    superuserIPs: list[str] = []
    smtp: Smtp = Field(default_factory=Smtp)
    backups: Backups = Field(default_factory=Backups)
    s3: S3 = Field(default_factory=S3)
    meta: Meta = Field(default_factory=Meta)
    rateLimits: RateLimits = Field(default_factory=RateLimits)
    trustedProxy: TrustedProxy = Field(default_factory=TrustedProxy)
    batch: Batch = Field(default_factory=Batch)
    logs: Logs = Field(default_factory=Logs)
    metrics: Metrics = Field(default_factory=Metrics)
    payments: Payments = Field(default_factory=Payments)

    def public(self) -> dict[str, Any]:
        data = self.model_dump()
        data["smtp"].pop("password", None)
        data["s3"].pop("secret", None)
        data["backups"]["s3"].pop("secret", None)
        data["metrics"].pop("token", None)
        data["payments"]["stripe"].pop("secretKey", None)
        data["payments"]["stripe"].pop("webhookSecret", None)
        return data


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _validate(settings: Settings) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    batch: dict[str, Any] = {}
    if settings.batch.maxRequests <= 0:
        batch["maxRequests"] = required_error()
    if settings.batch.timeout < 0:
        batch["timeout"] = field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
    if settings.batch.maxBodySize < 0:
        batch["maxBodySize"] = field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
    if batch:
        errors["batch"] = batch
    meta = _meta_errors(settings.meta)
    if meta:
        errors["meta"] = meta
    limits = settings.rateLimits
    limit_errors = rate_limits.settings_errors(limits.enabled, limits.rules, limits.excludedIPs)
    if limit_errors:
        errors["rateLimits"] = limit_errors
    smtp = _smtp_errors(settings.smtp)
    if smtp:
        errors["smtp"] = smtp
    metrics = _metrics_errors(settings.metrics)
    if metrics:
        errors["metrics"] = metrics
    logs = _logs_errors(settings.logs)
    if logs:
        errors["logs"] = logs
    backups = _backups_errors(settings.backups)
    if backups:
        errors["backups"] = backups
    stripe = _stripe_errors(settings.payments.stripe)
    if stripe:
        errors["payments"] = {"stripe": stripe}
    ips = _superuser_ip_errors(settings.superuserIPs)
    if ips:
        errors["superuserIPs"] = ips
    return errors


def _superuser_ip_errors(entries: list[str]) -> dict[str, Any]:
    """Each entry is required and an IP address or a CIDR subnet, as PocketBase checks."""
    errors: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        if not entry:
            errors[str(index)] = required_error()
        elif not rate_limits.is_ip_or_subnet(entry):
            errors[str(index)] = field_error(
                "validation_invlaid_ip_or_subnet", "Invalid IP or CIDR subnet."
            )
    return errors


def _s3_errors(s3: S3) -> dict[str, Any]:
    """PocketBase's rules: once enabled, every connection value is required."""
    errors: dict[str, Any] = {}
    if s3.enabled:
        for name in ("endpoint", "bucket", "region", "accessKey", "secret"):
            if not getattr(s3, name):
                errors[name] = required_error()
    if s3.endpoint and not s3.endpoint.startswith(("http://", "https://")):
        errors["endpoint"] = field_error("validation_is_url", "Must be a valid URL.")
    return errors


def _backups_errors(backups: Backups) -> dict[str, Any]:
    """A cron expression the scheduler takes, and at least one automatic backup kept."""
    from keelbase.services.cron import check_expression

    errors: dict[str, Any] = {}
    s3 = _s3_errors(backups.s3)
    if s3:
        errors["s3"] = s3
    if backups.cron:
        problem = check_expression(backups.cron)
        if problem:
            errors["cron"] = field_error("validation_invalid_cron", problem)
        if backups.cronMaxKeep == 0:
            errors["cronMaxKeep"] = required_error()
    if backups.cronMaxKeep < 0 and "cronMaxKeep" not in errors:
        errors["cronMaxKeep"] = field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 1.",
            {"threshold": 1},
        )
    return errors


# Sent as ``Authorization: Bearer <token>``: printable ASCII without spaces, long enough to guess hard.
_METRICS_TOKEN = re.compile(r"[\x21-\x7e]{16,255}")


def _metrics_errors(metrics: Metrics) -> dict[str, Any]:
    if metrics.token and not _METRICS_TOKEN.fullmatch(metrics.token):
        return {
            "token": field_error(
                "validation_invalid_metrics_token",
                "Must be 16 to 255 printable ASCII characters without spaces.",
            )
        }
    return {}


# Stripe's key prefixes: secret (or restricted) keys, publishable keys, webhook signing secrets.
_STRIPE_KEYS = {
    "secretKey": re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]{8,250}"),
    "publishableKey": re.compile(r"pk_(test|live)_[A-Za-z0-9]{8,250}"),
    "webhookSecret": re.compile(r"whsec_[A-Za-z0-9+/=]{8,250}"),
}


def _stripe_errors(stripe: Stripe) -> dict[str, Any]:
    """Keys of Stripe's shapes (a key pasted into the wrong box is refused), an http(s) API base."""
    errors: dict[str, Any] = {}
    for name, shape in _STRIPE_KEYS.items():
        value = getattr(stripe, name)
        if value and not shape.fullmatch(value):
            errors[name] = field_error(
                "validation_invalid_stripe_key", f"Must be a Stripe {name} of the right shape."
            )
    base = stripe.apiBase
    if base and (not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base) or len(base) > 255):
        errors["apiBase"] = field_error("validation_is_url", "Must be a valid URL.")
    if stripe.webhookSecret and not stripe.secretKey:
        errors["secretKey"] = required_error()
    return errors


def _logs_errors(logs: Logs) -> dict[str, Any]:
    """PocketBase's rules: neither the retention nor the data size limit is negative."""
    return {
        name: field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
        for name in ("maxDays", "maxDataSize")
        if getattr(logs, name) < 0
    }


# govalidator's DNS name (ozzo-validation's is.Host accepts that or an IP address).
_DNS_NAME = re.compile(
    r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$"
)


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return len(value) <= 255 and bool(_DNS_NAME.match(value))


def _length(value: str) -> dict[str, Any] | None:
    if not value:
        return required_error()
    if len(value) > 255:
        return field_error(
            "validation_length_out_of_range",
            "The length must be between 1 and 255.",
            {"max": 255, "min": 1},
        )
    return None


def _meta_errors(meta: Meta) -> dict[str, Any]:
    """PocketBase's rules: name, URL and sender are required; the sender is an address."""
    errors: dict[str, Any] = {}
    for name in ("appName", "senderName"):
        problem = _length(getattr(meta, name))
        if problem:
            errors[name] = problem
    if not meta.appURL:
        errors["appURL"] = required_error()
    elif not meta.appURL.startswith(("http://", "https://")) or " " in meta.appURL:
        errors["appURL"] = field_error("validation_is_url", "Must be a valid URL.")
    if not meta.senderAddress:
        errors["senderAddress"] = required_error()
    elif not is_email(meta.senderAddress):
        errors["senderAddress"] = field_error(
            "validation_is_email", "Must be a valid email address."
        )
    return errors


def _smtp_errors(smtp: Smtp) -> dict[str, Any]:
    """Host and port are required once SMTP is on; the auth method is PLAIN or LOGIN."""
    errors: dict[str, Any] = {}
    host_error = field_error("validation_is_host", "Must be a valid IP address or DNS name.")
    if not smtp.host:
        if smtp.enabled:
            errors["host"] = required_error()
    elif not _is_host(smtp.host):
        errors["host"] = host_error
    if smtp.port == 0 and smtp.enabled:
        errors["port"] = required_error()
    elif smtp.port < 0:
        errors["port"] = field_error(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
    if smtp.authMethod not in ("", "PLAIN", "LOGIN"):
        errors["authMethod"] = field_error("validation_in_invalid", "Must be a valid value.")
    if smtp.localName and not _is_host(smtp.localName):
        errors["localName"] = host_error
    return errors


def _patched(current: Settings, patch: dict[str, Any]) -> Settings:
    """``current`` with ``patch`` merged in, or the 400 PocketBase answers for it."""
    merged = _merge(current.model_dump(), patch)
    try:
        settings = Settings.model_validate(merged, strict=True)
    except ValidationError as error:
        # A value of the wrong JSON type: PocketBase cannot even load the body.
        raise BadRequestError("An error occurred while loading the submitted data.") from error
    errors = _validate(settings)
    if errors:
        raise BadRequestError(MSG_SAVE_FAILED, errors)
    return settings


class SettingsKeyError(RuntimeError):
    """The stored settings cannot be read with the encryption key given (or without one)."""


class SettingsService:
    def __init__(self, store: Store, encryption_key: str = "") -> None:
        """``encryption_key`` (32 characters, from ``--encryptionEnv``) encrypts the stored
        settings as PocketBase does; settings stored in plain text still load, and are
        encrypted at the next save."""
        self.store = store
        self.encryption_key = encryption_key
        self.current = Settings()
        self._seen_updated: Any = None
        self._listeners: list[Callable[[Settings], None]] = []
        self._write_listeners: list[Callable[[], Awaitable[None]]] = []
        # Commits are ordered by the row lock, but the copies applied after them
        # are not: without this, an earlier patch applied after a later one would
        # leave this node serving settings without the later change.
        self._apply_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    @property
    def _apply_order(self) -> asyncio.Lock:
        """This event loop's lock (an app may be started again on another loop)."""
        loop = asyncio.get_running_loop()
        lock = self._apply_locks.get(loop)
        if lock is None:
            lock = asyncio.Lock()
            self._apply_locks = {loop: lock}  # older loops' locks are done with
        return lock

    def on_change(self, listener: Callable[[Settings], None]) -> None:
        """Call ``listener`` with the new settings after each successful update."""
        self._listeners.append(listener)

    async def load(self) -> None:
        async with self._apply_order:
            async with self.store.read() as conn:
                raw = await system.get_param(conn, SETTINGS_KEY)
                updated = await self._updated(conn)
            seen = self._seen_updated
            if isinstance(updated, str) and isinstance(seen, str) and updated < seen:
                return  # an update on this node committed meanwhile: what was read is older
            self._seen_updated = updated
            self._apply(self._decoded(raw))
        if self.encryption_key and isinstance(raw, dict):
            await self._encrypt_stored()

    async def _encrypt_stored(self) -> None:
        """Settings stored in plain text before the key was given: encrypt them now."""
        async with self.store.transaction() as conn:
            now = now_string()
            stored = await system.lock_param(conn, self.store.dialect, SETTINGS_KEY, now)
            if isinstance(stored, dict):
                await self._store(conn, self._decoded(stored), now)
            self._seen_updated = await self._updated(conn)

    def _decoded(self, stored: Any) -> Settings:
        """The settings as stored: a JSON object, or PocketBase's encrypted text of one."""
        if isinstance(stored, str):
            if not self.encryption_key:
                raise SettingsKeyError(
                    "the stored settings are encrypted: start with --encryptionEnv naming "
                    "the environment variable that holds their key"
                )
            try:
                stored = orjson.loads(settings_cipher.decrypt(stored, self.encryption_key))
            except settings_cipher.CipherError as error:
                raise SettingsKeyError(
                    "the stored settings cannot be decrypted with this key (a wrong key?)"
                ) from error
        return Settings.model_validate(stored) if isinstance(stored, dict) else Settings()

    async def _store(self, conn: Connection, settings: Settings, now: str) -> None:
        data = settings.model_dump()
        if not self.encryption_key:
            await system.set_param(conn, SETTINGS_KEY, data, now)
            return
        sealed = settings_cipher.encrypt(orjson.dumps(data), self.encryption_key)
        await system.set_param_text(conn, SETTINGS_KEY, sealed, now)

    async def _updated(self, conn: Connection) -> Any:
        return await conn.fetch_value(
            'SELECT "updated" FROM "_params" WHERE "id" = :id', {"id": SETTINGS_KEY}
        )

    async def reload_if_changed(self) -> bool:
        """Load the settings again when another node saved them (nodes without Redis)."""
        async with self.store.read() as conn:
            updated = await self._updated(conn)
        if updated == self._seen_updated:
            return False
        await self.load()
        return True

    async def update(self, patch: Any) -> Settings:
        """Merge ``patch`` into the stored settings and save them.

        The patch is merged into the settings as stored, read with a lock inside
        the transaction, not into this node's copy: two patches of different
        sections, on one node or two, both stay.
        """
        if not isinstance(patch, dict):
            raise BadRequestError("An error occurred while loading the submitted data.")
        async with self._apply_order:
            async with self.store.transaction() as conn:
                now = now_string()
                stored = await system.lock_param(conn, self.store.dialect, SETTINGS_KEY, now)
                settings = _patched(self._decoded(stored), patch)
                await self._store(conn, settings, now)
                updated = await self._updated(conn)
            self._seen_updated = updated  # this node's own write needs no reload
            self._apply(settings)
        for write_listener in self._write_listeners:
            await write_listener()
        return settings

    def _apply(self, settings: Settings) -> None:
        self.current = settings
        for listener in self._listeners:
            listener(settings)

    def on_write(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after this node saved new settings (to tell the other nodes)."""
        self._write_listeners.append(listener)
