"""Numbers past every range (1e308, 2**63, -1e308) in bodies, forms, filters and query
parameters: a 2xx or a 4xx in PocketBase's shape, never a 500 (issue 17, defect 3)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.api.conftest import serving, superuser_headers

JSON = {"Content-Type": "application/json"}
HUGE = ["1e308", "-1e308", "9223372036854775808", "-9223372036854775809", "1e400"]
FIELDS = [
    {"name": "n", "type": "number"},
    {"name": "ni", "type": "number", "onlyInt": True, "min": 0, "max": 10},
    {"name": "d", "type": "date"},
    {"name": "dr", "type": "date", "min": "2000-01-01 00:00:00.000Z"},
    {"name": "t", "type": "text", "max": 5},
    {"name": "b", "type": "bool"},
    {"name": "j", "type": "json"},
    {"name": "g", "type": "geoPoint"},
    {"name": "s", "type": "select", "values": ["a"]},
    {"name": "created", "type": "autodate", "onCreate": True},
]


def _bad(status: int, body: dict[str, object]) -> str | None:
    if status >= 500:
        return f"{status} {body}"
    if status >= 400 and set(body) != {"status", "message", "data"}:
        return f"not PocketBase's error shape: {body}"
    return None


@pytest.mark.anyio
async def test_huge_numbers_never_give_a_500(tmp_path: Path, fresh_db_url: str) -> None:
    async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
        su = await superuser_headers(app, client)
        made = await client.post(
            "/api/collections",
            headers=su,
            json={"name": "nums", "type": "base", "listRule": "", "createRule": "",
                  "updateRule": "", "fields": FIELDS},
        )  # fmt: skip
        assert made.status_code == 200, made.text
        records = "/api/collections/nums/records"
        problems: list[str] = []
        first = await client.post(records, json={"n": 1})
        assert first.status_code == 200, first.text
        rid = first.json()["id"]
        for text in HUGE:
            for field in [f["name"] for f in FIELDS]:
                # raw JSON text: 1e400 has no Python float to send it as
                value = f'{{"lon": {text}, "lat": {text}}}' if field == "g" else text
                body = f'{{"{field}": {value}}}'
                for method, url in (("POST", records), ("PATCH", f"{records}/{rid}")):
                    answer = await client.request(method, url, content=body, headers=JSON)
                    if (bad := _bad(answer.status_code, answer.json())) is not None:
                        problems.append(f"{method} json {field}={text}: {bad}")
                    form = await client.request(method, url, files={field: (None, text)})
                    if (bad := _bad(form.status_code, form.json())) is not None:
                        problems.append(f"{method} form {field}={text}: {bad}")
            for expression in (f"n > {text}", f"d = {text}", f"created < {text}",
                               f"n = {text} && ni != {text}", f"j.x = {text}",
                               f"g = {text}", f"n > -{text}"):  # fmt: skip
                answer = await client.get(f"{records}?filter={quote(expression)}")
                if (bad := _bad(answer.status_code, answer.json())) is not None:
                    problems.append(f"filter {expression}: {bad}")
            for query in (f"page={text}", f"perPage={text}", f"skipTotal={text}"):
                answer = await client.get(f"{records}?{query}")
                if (bad := _bad(answer.status_code, answer.json())) is not None:
                    problems.append(f"list {query}: {bad}")
        assert not problems, "\n".join(problems)


@pytest.mark.anyio
async def test_a_date_given_a_huge_number_is_stored_empty(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """What PocketBase does (issue 17, defect 3): the date is empty, JSON and multipart alike."""
    async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
        su = await superuser_headers(app, client)
        made = await client.post(
            "/api/collections",
            headers=su,
            json={"name": "when", "type": "base", "listRule": "", "viewRule": "",
                  "createRule": "", "fields": [{"name": "d", "type": "date"}]},
        )  # fmt: skip
        assert made.status_code == 200, made.text
        records = "/api/collections/when/records"
        for text in ("1e308", "-1e308", "9223372036854775808"):
            sent = await client.post(records, content=f'{{"d": {text}}}', headers=JSON)
            assert sent.status_code == 200, f"json {text}: {sent.text}"
            assert sent.json()["d"] == "", f"json {text}: {sent.json()}"
            form = await client.post(records, files={"d": (None, text)})
            assert form.status_code == 200, f"form {text}: {form.text}"
            assert form.json()["d"] == "", f"form {text}: {form.json()}"
            stored = await client.get(f"{records}/{sent.json()['id']}")
            assert stored.json()["d"] == ""
