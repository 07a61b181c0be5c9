"""Start-up configuration: CLI flags, then ``KEELBASE_*`` variables, then defaults.

Runtime settings that users edit while the server runs (batch, mail, ...) live
in the store instead; see ``keelbase.services.settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast

from pydantic import BaseModel, Field

Durability = Literal["full", "normal"]


class Config(BaseModel):
    """Everything one running instance needs to know before it starts."""

    data_dir: Path = Path("kb_data")
    http: str = "127.0.0.1:8090"
    # ``--https``: ``http`` is then served over TLS with this PEM certificate and key.
    https: bool = False
    https_cert: str = ""
    https_key: str = ""
    # ``--http`` beside ``--https``: a plain listener that only redirects to HTTPS.
    redirect_http: str = ""
    # ``serve DOMAIN...``: the names whose certificates are obtained automatically (ACME).
    domains: list[str] = Field(default_factory=list)
    dev: bool = False
    origins: list[str] = Field(default_factory=lambda: ["*"])
    # Bodies above this size are refused before they are read in full.
    max_body_size: int = 32 << 20
    # The largest backup ``POST /api/backups/upload`` takes (PocketBase sets no limit).
    max_backup_upload: int = 8 << 30
    # Seconds a query may run before it is stopped and answered with a 400 (0: no limit).
    query_timeout: float = 30.0
    # "full": every acknowledged write is on disk (SQLite fsyncs each commit, grouping
    # concurrent ones; PostgreSQL's default synchronous_commit). "normal": the last writes
    # before a power loss or an OS crash may be lost (synchronous=NORMAL,
    # synchronous_commit=off); the database is never corrupted either way.
    # (``--durability``, env ``KEELBASE_DURABILITY``).
    durability: Durability = Field(
        default_factory=lambda: cast(Durability, env_default("DURABILITY") or "full"),
        validate_default=True,
    )
    # Seconds sync's change log keeps a change (and a delete's tombstone); an older cursor gets 410.
    sync_window: float = Field(default=7 * 24 * 3600, gt=0)
    # Megabytes the in-memory matrices of vector search may take together (about
    # 1.1 KB a record for 256 dimensions); a field beyond it is searched by streaming
    # its rows; 0 streams always (env KEELBASE_VECTOR_CACHE_MB).
    vector_cache_mb: int = Field(
        default_factory=lambda: env_default("VECTOR_CACHE_MB") or 1024,
        ge=0,
        validate_default=True,
    )
    # Reader connections in the SQLite pool.
    read_pool_size: int = 4
    public_dir: Path | None = None
    # A path of the public folder that names no file answers its index.html (SPA routes).
    index_fallback: bool = True
    # Python hooks folder (default kb_hooks beside the data folder).
    hooks_dir: Path | None = None
    # Redis for realtime events across worker processes and nodes (in-process when empty).
    redis_url: str = ""
    # The pub/sub channel: apps that share one Redis need different channels.
    redis_channel: str = "keelbase:events"
    # The local hub's Unix socket, set by ``keelbase serve --workers N`` without Redis: the
    # workers of one serve share realtime events, counters, presence and figures through it.
    hub_socket: str = ""
    # The pid of the ``keelbase serve --workers N`` supervisor (with the hub or Redis): a
    # worker whose parent it no longer is stops.
    hub_supervisor: int = 0
    # Bytes of event JSON the realtime replay buffer keeps for clients that reconnect with
    # Last-Event-ID (besides its 2,000 events and 5 minutes); env KEELBASE_REALTIME_REPLAY_BYTES.
    realtime_replay_bytes: int = Field(
        default_factory=lambda: env_default("REALTIME_REPLAY_BYTES") or 8 << 20,
        gt=0,
        validate_default=True,
    )
    # A postgresql:// URL puts all data (records, system tables, logs) in PostgreSQL
    # instead of the SQLite files of the data folder; files stay in the data folder or S3.
    db_url: str = ""
    # Print how to create the first superuser when there is none (``keelbase serve``).
    hint_superuser: bool = False
    # The migration files (default ``kb_migrations`` beside the data folder).
    migrations_dir: Path | None = None
    # Apply pending migrations when the app starts (``keelbase serve`` does).
    apply_migrations: bool = False
    # Write a migration file for every collection change; ``None`` follows ``dev``.
    automigrate: bool | None = None
    # Report errors to Sentry at this DSN ("" : off, and sentry-sdk is never imported).
    sentry_dsn: str = ""
    # Send personal data with the reports (user IP and id, headers, local variables).
    sentry_pii: bool = False
    # Sentry's ``environment`` ("" : Sentry's default, "production").
    sentry_environment: str = ""
    # OpenTelemetry traces through OTLP/HTTP, configured by the standard ``OTEL_*``
    # variables (off: OpenTelemetry is never imported).
    tracing: bool = False
    # The name of the environment variable holding the 32-character key that encrypts
    # the stored settings (``--encryptionEnv``); the key itself never enters the config.
    encryption_env: str = Field(default_factory=lambda: env_default("ENCRYPTION_ENV") or "")

    def encryption_key(self) -> str:
        """The key from ``encryption_env``; ``ValueError`` when it is unset or not 32 characters."""
        if not self.encryption_env:
            return ""
        key = os.environ.get(self.encryption_env, "")
        if not key:
            raise ValueError(
                f"--encryptionEnv {self.encryption_env}: that environment variable is not set"
            )
        if len(key.encode()) != 32:
            raise ValueError(
                f"--encryptionEnv {self.encryption_env}: the key must be 32 characters, "
                f"not {len(key.encode())}"
            )
        return key

    @property
    def shares_sqlite(self) -> bool:
        """Whether other processes may write the same SQLite files (workers, or nodes with Redis)."""
        return bool(self.hub_socket or self.redis_url)

    @property
    def host(self) -> str:
        return self.http.rsplit(":", 1)[0] or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.http.rsplit(":", 1)[1])

    @property
    def db_path(self) -> Path:
        return self.data_dir / "data.db"

    @property
    def uses_postgres(self) -> bool:
        return self.db_url.startswith(("postgresql://", "postgres://"))

    @property
    def automigrates(self) -> bool:
        return self.dev if self.automigrate is None else self.automigrate

    @property
    def resolved_migrations_dir(self) -> Path:
        """The folder of migration files, beside the data folder unless set."""
        if self.migrations_dir is not None:
            return self.migrations_dir
        return self.data_dir.resolve().parent / "kb_migrations"

    @property
    def resolved_public_dir(self) -> Path:
        """The folder of static files, beside the data folder unless set."""
        if self.public_dir is not None:
            return self.public_dir
        return self.data_dir.resolve().parent / "kb_public"


def env_default(name: str, default: str | None = None) -> str | None:
    """The value of ``KEELBASE_<NAME>``, or ``default``."""
    return os.environ.get(f"KEELBASE_{name}", default)


# Variables that name where OpenTelemetry's spans go; either one turns tracing on.
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces (and has not switched the SDK off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name, "").strip() for name in OTLP_ENDPOINT_VARIABLES)


def otlp_problem(environ: Mapping[str, str]) -> str:
    """Why traces could not be sent as set ("" when they can): an http(s) URL, over http/protobuf."""
    for name in OTLP_ENDPOINT_VARIABLES:
        value = environ.get(name, "").strip()
        if value and not value.lower().startswith(("http://", "https://")):
            return f"{name} must be an http:// or https:// URL, not {value!r}"
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = environ.get(name, "").strip()
        if value and value != "http/protobuf":
            return f"{name}={value} is not supported: Keelbase sends traces as http/protobuf"
    return ""
