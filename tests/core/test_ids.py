"""Random strings: right length, only the alphabet, every character reachable."""

from __future__ import annotations

import re
from collections import Counter

from keelbase.core.ids import ID_ALPHABET, random_string
from keelbase.core.patterns import generate_from_pattern


def test_random_strings_use_the_whole_alphabet_evenly() -> None:
    counts = Counter("".join(random_string(100) for _ in range(720)))
    assert set(counts) == set(ID_ALPHABET)
    expected = 72_000 / len(ID_ALPHABET)
    assert all(abs(n - expected) < expected * 0.2 for n in counts.values())


def test_odd_alphabets_and_lengths() -> None:
    assert random_string(0) == ""
    assert set(random_string(500, "ab")) == {"a", "b"}
    wide = "".join(chr(c) for c in range(0x400, 0x600))  # more than 256 characters
    assert len(random_string(40, wide)) == 40


def test_generated_values_match_their_pattern() -> None:
    for pattern in ("[a-z0-9]{15}", "^ab[0-9]{2,4}x$", r"[A-F\-]{3}_[xyz]"):
        for _ in range(50):
            assert re.fullmatch(pattern.strip("^$"), generate_from_pattern(pattern))
