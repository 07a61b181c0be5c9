"""Vector fields that embed their records' texts locally (embedFrom), and text queries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from tests.api.conftest import serving, superuser_headers

NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "editor"},
        {"name": "embedding", "type": "vector", "dimensions": 64, "embedFrom": ["title", "body"]},
    ],
}
TEXTS = [
    "My kitten chases the cat next door",
    "Stock markets fell sharply after the interest rate report",
    "A recipe for tomato soup with fresh basil",
]


def test_texts_are_embedded_on_write_and_found_by_meaning(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)
            made = await client.post("/api/collections", json=NOTES, headers=su)
            assert made.status_code == 200, made.text
            assert made.json()["fields"][-1]["embedFrom"] == ["title", "body"]
            ids = []
            for text in TEXTS:
                answer = await client.post("/api/collections/notes/records", json={"title": text})
                assert answer.status_code == 200, answer.text
                vector = answer.json()["embedding"]
                assert len(vector) == 64
                assert abs(float(np.linalg.norm(vector)) - 1) < 1e-3
                ids.append(answer.json()["id"])

            async def nearest(text: str) -> list[str]:
                answer = await client.post(
                    "/api/collections/notes/nearest",
                    json={"field": "embedding", "text": text, "k": 3},
                )
                assert answer.status_code == 200, answer.text
                return [item["record"]["id"] for item in answer.json()["items"]]

            assert (await nearest("pets and animals"))[0] == ids[0]
            assert (await nearest("finance and the economy"))[0] == ids[1]
            assert (await nearest("cooking dinner"))[0] == ids[2]

            # a change of a source text embeds again; a change elsewhere does not
            before = (await client.get(f"/api/collections/notes/records/{ids[2]}")).json()
            changed = await client.patch(
                f"/api/collections/notes/records/{ids[2]}",
                json={"body": "<p>Now about football and the league table</p>"},
            )
            assert changed.json()["embedding"] != before["embedding"]
            # a vector the client sends is kept as sent
            own = [1.0] + [0.0] * 63
            kept = await client.patch(
                f"/api/collections/notes/records/{ids[1]}", json={"title": "x", "embedding": own}
            )
            assert kept.json()["embedding"] == own
            # an empty text leaves no vector
            blank = await client.post("/api/collections/notes/records", json={"title": ""})
            assert blank.json()["embedding"] == []

    asyncio.run(main())


def test_bad_definitions_and_text_queries_are_refused(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            su = await superuser_headers(app, client)

            def with_vector(**options: Any) -> dict[str, Any]:
                fields = [*NOTES["fields"][:2], {"name": "embedding", "type": "vector", **options}]
                return {**NOTES, "name": "bad", "fields": fields}

            for options, key in [
                ({"dimensions": 64, "embedFrom": ["missing"]}, "embedFrom"),
                ({"dimensions": 64, "embedFrom": ["embedding"]}, "embedFrom"),
                ({"dimensions": 512, "embedFrom": ["title"]}, "dimensions"),
                ({"dimensions": 64, "embedFrom": ["title"] * 11}, "embedFrom"),
                ({"dimensions": 64, "embedFrom": "title"}, ""),  # not a list: refused as it loads
            ]:
                answer = await client.post(
                    "/api/collections", json=with_vector(**options), headers=su
                )
                assert answer.status_code == 400, (options, answer.text)
                if key:
                    problems = answer.json()["data"]["fields"]
                    assert any(key in p for p in problems.values()), (options, answer.text)

            plain = {**NOTES, "fields": [*NOTES["fields"][:2],
                     {"name": "embedding", "type": "vector", "dimensions": 4}]}  # fmt: skip
            assert (
                await client.post("/api/collections", json=plain, headers=su)
            ).status_code == 200
            url = "/api/collections/notes/nearest"
            for body in (
                {"field": "embedding", "text": "no model behind this field"},
                {"field": "embedding", "text": "x", "vector": [1, 0, 0, 0]},
            ):
                answer = await client.post(url, json=body)
                assert answer.status_code == 400, answer.text
            answer = await client.patch(
                "/api/collections/notes",
                json={"fields": NOTES["fields"]},
                headers=su,
            )
            assert answer.status_code == 200, answer.text
            for text in ("", "   ", 5, ["a"], "x" * 10_001):
                answer = await client.post(url, json={"field": "embedding", "text": text})
                assert answer.status_code == 400, (text, answer.text)
                assert "text" in answer.json()["data"]

    asyncio.run(main())
