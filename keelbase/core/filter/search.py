"""The words of a ``search('...')`` call, safe for any full-text engine.

A client's text is never handed to FTS5 or ``to_tsquery`` as query syntax:
only its words (runs of letters and digits) are kept, so quotes, ``*``,
``NEAR``, ``OR``, ``:`` or ``&`` are separators, never operators. A record
matches when it holds every word (in any order, any case).
"""

from __future__ import annotations

import re

from keelbase.core.filter.errors import FilterError

MAX_WORDS = 32
MAX_WORD_LENGTH = 100
_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> tuple[str, ...]:
    """The words to look for, lower-cased; ``FilterError`` when there are none or too many."""
    words = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    if not words:
        raise FilterError("[search] needs at least one word of letters or digits")
    if len(words) > MAX_WORDS:
        raise FilterError(f"[search] accepts at most {MAX_WORDS} words")
    if any(len(w) > MAX_WORD_LENGTH for w in words):
        raise FilterError(f"[search] words are at most {MAX_WORD_LENGTH} characters long")
    return words
