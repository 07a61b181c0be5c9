"""Start-up configuration: CLI flags, then ``KEELBASE_*`` variables, then defaults.

Runtime settings that users edit while the server runs (batch, mail, ...) live
in the store instead; see ``keelbase.services.settings``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field


class Config(BaseModel):
    """Everything one running instance needs to know before it starts."""

    data_dir: Path = Path("kb_data")
    http: str = "127.0.0.1:8090"
    dev: bool = False
    origins: list[str] = Field(default_factory=lambda: ["*"])
    # Bodies above this size are refused before they are read in full.
    max_body_size: int = 32 << 20
    # Seconds a query may run before it is stopped and answered with a 400 (0: no limit).
    query_timeout: float = 30.0
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
    # A postgresql:// URL puts all data (records, system tables, logs) in PostgreSQL
    # instead of the SQLite files of the data folder; files stay in the data folder or S3.
    db_url: str = ""
    # Print how to create the first superuser when there is none (``keelbase serve``).
    hint_superuser: bool = False
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
    def resolved_public_dir(self) -> Path:
        """The folder of static files, beside the data folder unless set."""
        if self.public_dir is not None:
            return self.public_dir
        return self.data_dir.resolve().parent / "kb_public"


def env_default(name: str, default: str | None = None) -> str | None:
    """The value of ``KEELBASE_<NAME>``, or ``default``."""
    return os.environ.get(f"KEELBASE_{name}", default)
