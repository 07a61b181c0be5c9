"""Bounds on the work one JSON body may cost (issue 17, defect 2), for every endpoint
that reads a body: nesting depth, object keys; large bodies parsed in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from keelbase.api.body_json import INLINE_BYTES, MAX_DEPTH, MAX_KEYS
from tests.api.conftest import serving, superuser_headers

JSON = {"Content-Type": "application/json"}
DEEP = f"The body is nested deeper than {MAX_DEPTH} levels."
KEYS = f"The body has more than {MAX_KEYS} object keys."


def _nested(depth: int) -> str:
    return "[" * (depth - 1) + "1" + "]" * (depth - 1)


def _many_keys(count: int) -> str:
    return "{" + ",".join(f'"k{i}":1' for i in range(count)) + "}"


@pytest.mark.anyio
async def test_bodies_past_a_bound_are_a_400_everywhere(tmp_path: Path, fresh_db_url: str) -> None:
    async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
        su = await superuser_headers(app, client)
        made = await client.post(
            "/api/collections",
            headers=su,
            json={"name": "notes", "type": "base", "createRule": "",
                  "fields": [{"name": "j", "type": "json", "maxSize": 50 << 20},
                             {"name": "t", "type": "text", "max": 1_000_000}]},
        )  # fmt: skip
        assert made.status_code == 200, made.text
        records = "/api/collections/notes/records"
        batch = await client.patch("/api/settings", headers=su, json={"batch": {"enabled": True}})
        assert batch.status_code == 200, batch.text

        # within the bounds: a deep value inline, a large value through the child process
        deep_ok = await client.post(
            records, content=f'{{"j": {_nested(MAX_DEPTH - 1)}}}', headers=JSON
        )
        assert deep_ok.status_code == 200, deep_ok.text
        text = "é" * INLINE_BYTES
        large = await client.post(records, json={"t": text, "j": {"a": [1, 2.5, None, True]}})
        assert large.status_code == 200, large.text
        assert large.json()["t"] == text
        assert large.json()["j"] == {"a": [1, 2.5, None, True]}

        hostile = {
            "deep, inline": (f'{{"j": {_nested(MAX_DEPTH + 5)}}}', DEEP),
            "deep, large": (
                f'{{"t": "{"x" * INLINE_BYTES}", "j": {_nested(MAX_DEPTH + 5)}}}',
                DEEP,
            ),
            "many keys": (f'{{"j": {_many_keys(MAX_KEYS + 1)}}}', KEYS),
            "broken, large": ('{"t": "' + "x" * INLINE_BYTES, None),
        }
        endpoints = [
            ("POST", records, None),
            ("PATCH", "/api/settings", su),
            ("POST", "/api/collections", su),
            ("POST", "/api/batch", su),
            ("POST", "/api/collections/users/auth-with-password", None),
            ("POST", "/api/collections/users/request-password-reset", None),
        ]
        for label, (body, message) in hostile.items():
            for method, url, headers in endpoints:
                answer = await client.request(
                    method, url, content=body, headers={**JSON, **(headers or {})}
                )
                assert answer.status_code == 400, f"{label} {url}: {answer.text}"
                shape = answer.json()
                assert set(shape) == {"status", "message", "data"}, shape
                if message is not None:
                    assert shape["message"] == message, f"{label} {url}: {shape}"

        # multipart: the @jsonPayload part is held to the same bounds
        payload = await client.post(
            records, files={"@jsonPayload": (None, f'{{"j": {_nested(MAX_DEPTH + 5)}}}')}
        )
        assert payload.status_code == 400, payload.text
        assert payload.json()["message"] == DEEP
