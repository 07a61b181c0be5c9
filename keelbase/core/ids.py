"""Random identifiers in PocketBase's formats."""

from __future__ import annotations

import os
import re
import secrets
import string

ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 15
ID_PATTERN = re.compile(r"^[a-z0-9]+$")


def random_string(length: int, alphabet: str = ID_ALPHABET) -> str:
    """Uniform over ``alphabet``, from one urandom call (a choice per character costs more
    than the rest of a record create)."""
    size = len(alphabet)
    if size > 256 or size == 0:
        return "".join(secrets.choice(alphabet) for _ in range(length)) if size else ""
    limit = 256 - 256 % size  # bytes at or above it would favour the first characters
    out: list[str] = []
    while len(out) < length:
        for byte in os.urandom(2 * (length - len(out)) + 8):
            if byte < limit:
                out.append(alphabet[byte % size])
                if len(out) == length:
                    break
    return "".join(out)


def new_record_id() -> str:
    return random_string(ID_LENGTH)


def new_token_key() -> str:
    return random_string(50, string.ascii_letters + string.digits)
