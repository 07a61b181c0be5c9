"""Differential steps for issue 17's input defects: huge numbers in dates, non-ASCII names.

A date given a number too large for a time stores an empty date in
PocketBase (no error); collection and field names are ASCII ``\\w`` only.
The steps use a collection of their own and delete it at the end.
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"
COLLECTIONS = "/api/collections"
RECORDS = "/api/collections/edge_inputs/records"
HUGE = {"1e308": 1e308, "-1e308": -1e308, "2^63": 9223372036854775808, "1e12": 1e12}


def step(name: str, method: str, url: str, **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": SU, **extra}


def _huge_dates() -> list[Step]:
    steps = []
    for label, value in HUGE.items():
        steps.append(step(f"edge: date {label} (json)", "POST", RECORDS, body={"when": value}))
        steps.append(
            step(f"edge: date {label} (form)", "POST", RECORDS, form={"when": repr(value)})
        )
    return steps


DEFECT_STEPS: list[Step] = [
    step(
        "edge: collection with a non-ASCII name",
        "POST",
        COLLECTIONS,
        body={"name": "тест", "type": "base"},
    ),
    step(
        "edge: collection with a CJK name",
        "POST",
        COLLECTIONS,
        body={"name": "名前", "type": "base"},
    ),
    step(
        "edge: field with a non-ASCII name",
        "POST",
        COLLECTIONS,
        body={"name": "edge_names", "type": "base", "fields": [{"name": "名前", "type": "text"}]},
    ),
    step(
        "edge: create the collection",
        "POST",
        COLLECTIONS,
        body={
            "name": "edge_inputs",
            "type": "base",
            "createRule": "",
            "fields": [{"name": "when", "type": "date"}],
        },
        expect_same=False,
    ),
    *_huge_dates(),
    step("edge: delete the collection", "DELETE", COLLECTIONS + "/edge_inputs", expect_same=False),
]
