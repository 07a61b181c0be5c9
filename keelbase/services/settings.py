"""Runtime settings, kept in ``_params`` and edited through ``/api/settings``.

The shape is PocketBase's so its SDKs and dashboards read it; sections that
no feature uses yet are stored and returned unchanged. Secrets (the SMTP and
S3 passwords) are stored but never returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keelbase.core import rate_limits
from keelbase.core.dates import now_string
from keelbase.errors import BadRequestError
from keelbase.store import system
from keelbase.store.base import Store

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

    def public(self) -> dict[str, Any]:
        data = self.model_dump()
        data["smtp"].pop("password", None)
        data["s3"].pop("secret", None)
        data["backups"]["s3"].pop("secret", None)
        return data


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _err(code: str, message: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message}
    if params is not None:
        out["params"] = params
    return out


def _validate(settings: Settings) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    batch: dict[str, Any] = {}
    if settings.batch.maxRequests <= 0:
        batch["maxRequests"] = _err("validation_required", "Cannot be blank.")
    if settings.batch.timeout < 0:
        batch["timeout"] = _err(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
    if settings.batch.maxBodySize < 0:
        batch["maxBodySize"] = _err(
            "validation_min_greater_equal_than_required",
            "Must be no less than 0.",
            {"threshold": 0},
        )
    if batch:
        errors["batch"] = batch
    meta: dict[str, Any] = {}
    if not settings.meta.appName.strip():
        meta["appName"] = _err("validation_required", "Cannot be blank.")
    if not settings.meta.appURL.startswith(("http://", "https://")) or " " in settings.meta.appURL:
        meta["appURL"] = _err("validation_is_url", "Must be a valid URL.")
    if meta:
        errors["meta"] = meta
    limits = settings.rateLimits
    limit_errors = rate_limits.settings_errors(limits.enabled, limits.rules, limits.excludedIPs)
    if limit_errors:
        errors["rateLimits"] = limit_errors
    return errors


class SettingsService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.current = Settings()
        self._listeners: list[Callable[[Settings], None]] = []
        self._write_listeners: list[Callable[[], Awaitable[None]]] = []

    def on_change(self, listener: Callable[[Settings], None]) -> None:
        """Call ``listener`` with the new settings after each successful update."""
        self._listeners.append(listener)

    async def load(self) -> None:
        async with self.store.read() as conn:
            raw = await system.get_param(conn, SETTINGS_KEY)
        self._apply(Settings.model_validate(raw) if isinstance(raw, dict) else Settings())

    async def update(self, patch: Any) -> Settings:
        if not isinstance(patch, dict):
            raise BadRequestError("An error occurred while loading the submitted data.")
        merged = _merge(self.current.model_dump(), patch)
        try:
            settings = Settings.model_validate(merged)
        except ValidationError as error:
            data: dict[str, Any] = {}
            for item in error.errors():
                node = data
                location = [str(part) for part in item["loc"]]
                for part in location[:-1]:
                    node = node.setdefault(part, {})
                node[location[-1]] = _err("validation_invalid_value", "Invalid value.")
            raise BadRequestError(MSG_SAVE_FAILED, data) from error
        errors = _validate(settings)
        if errors:
            raise BadRequestError(MSG_SAVE_FAILED, errors)
        async with self.store.transaction() as conn:
            await system.set_param(conn, SETTINGS_KEY, settings.model_dump(), now_string())
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
