"""Backup names: PocketBase's rules for names a user gives, its format for the ones it makes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# What ``POST /api/backups`` accepts as a name (PocketBase's ``backupNameRegex``, 1 to 150 chars).
NAME = re.compile(r"^[a-z0-9_-]+\.zip$")
NAME_MAX = 150
# What a backup already in the store may be called: a given name, an automatic one
# (``@auto_pb_backup_...``) or an uploaded file's name. Never a path.
KEY = re.compile(r"^@?[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$")
AUTO_PREFIX = "@auto_pb_backup_"
MANUAL_PREFIX = "pb_backup_"
_SPLIT = re.compile(r"[\W_]+")


def snakecase(text: str) -> str:
    """PocketBase's ``inflector.Snakecase``: ``My App`` → ``my_app``, ``myTestDB`` → ``my_test_db``."""
    words: list[str] = []
    for word in _SPLIT.split(text):
        if not word:
            continue
        out = []
        for i, char in enumerate(word):
            if char.isupper() and i > 0 and not word[i - 1].isupper():
                out.append("_")
            out.append(char)
        words.append("".join(out))
    return "_".join(words).lower()


def generate(app_name: str, prefix: str = MANUAL_PREFIX, moment: datetime | None = None) -> str:
    """``pb_backup_acme_20261203181500.zip``: the app's name, then the UTC time to the second."""
    stamp = (moment or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"{prefix}{snakecase(app_name)[:50]}_{stamp}.zip"


def is_key(key: str) -> bool:
    """Whether ``key`` can name a backup (no folders, no ``..``, nothing odd)."""
    return bool(KEY.match(key)) and ".." not in key and not key.endswith(".partial")
