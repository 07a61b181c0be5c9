"""Encoding an entry for the store: its ``created`` text and its ``data`` JSON."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import orjson

from keelbase.services.logs.entry import TRUNCATED_KEY, Stamper, encode_data


def test_created_texts_match_a_plain_formatting() -> None:
    stamp = Stamper()
    rng = random.Random(7)
    base = time.time()
    moments = [base + rng.random() * 5 for _ in range(2000)]
    moments += [1_700_000_000.0, 1_700_000_000.9995, 1_700_000_000.999999999, 1_700_000_001.0]
    for moment in sorted(moments):
        second = int(moment)
        millis = min(int((moment - second) * 1000), 999)
        expected = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S.")
        assert stamp(moment) == f"{expected}{millis:03d}Z"


def test_values_json_has_no_word_for_are_kept_as_text() -> None:
    when = datetime(2026, 12, 3, 18, 4, 11, tzinfo=UTC)
    data = {"error": ValueError("nope"), "when": when, "tags": {"a"}, 3: "three", "n": 1.5}
    assert orjson.loads(encode_data(data, 0)) == {
        "error": "nope", "when": "2026-12-03T18:04:11+00:00", "tags": ["a"], "3": "three", "n": 1.5,
    }  # fmt: skip


def test_a_large_data_keeps_its_first_keys_and_says_it_was_cut() -> None:
    data = {"a": "x" * 40, "b": "y" * 40, "c": "z" * 40}
    assert orjson.loads(encode_data(data, 90)) == {"a": "x" * 40, TRUNCATED_KEY: True}
    assert orjson.loads(encode_data(data, 0)) == data
