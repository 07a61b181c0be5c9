"""PocketBase vs Keelbase: the same scenario against both, answers compared step by step.

The scenario (``steps.py``) is data. Each step is sent first to the reference
PocketBase, then to Keelbase; both answers are normalised (``normalise.py``)
and must be equal. A step known to differ carries ``xfail_reason``; it is a
strict xfail, so once Keelbase is fixed the step fails as XPASS and its marker
must go.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.differential.normalise import Answer, compare
from tests.differential.runner import STEP_KEYS, Side
from tests.differential.steps import STEPS


def _params() -> list[Any]:
    params = []
    for step in STEPS:
        marks = []
        if step.get("xfail_reason"):
            marks.append(pytest.mark.xfail(reason=step["xfail_reason"], strict=True))
        params.append(pytest.param(step, id=step["name"], marks=marks))
    return params


def _describe(answer: Answer) -> str:
    body = answer.body
    text = body if isinstance(body, str) else json.dumps(body, indent=1, ensure_ascii=False)
    if len(text) > 4000:
        text = text[:4000] + " …"
    return f"HTTP {answer.status} {answer.media_type}\n{text}"


def _report(step: dict[str, Any], problems: list[str], pb: Answer, kb: Answer) -> str:
    request = f"{step['method']} {step['url']} as {step.get('as', 'guest')}"
    sent = step.get("body", step.get("raw", step.get("form")))
    lines = [f"step {step['name']!r}: {request}"]
    if sent is not None:
        lines.append(f"  sent: {json.dumps(sent, ensure_ascii=False)[:1000]}")
    lines.append("differences (keelbase vs pocketbase, normalised):")
    lines.extend(f"  - {problem}" for problem in problems)
    lines.append("--- pocketbase answered (normalised):")
    lines.append(_describe(pb))
    lines.append("--- keelbase answered (normalised):")
    lines.append(_describe(kb))
    return "\n".join(lines)


def test_scenario_is_well_formed() -> None:
    """Step names are test ids and keys are easy to mistype; catch both early."""
    names = [step["name"] for step in STEPS]
    assert len(names) == len(set(names)), "duplicate step names"
    for step in STEPS:
        assert {"name", "method", "url"} <= step.keys(), step
        assert step.keys() <= STEP_KEYS, f"{step['name']}: unknown keys {step.keys() - STEP_KEYS}"
        assert step.get("as", "guest") in {"superuser", "user1", "user2", "guest"}, step["name"]


@pytest.mark.parametrize("step", _params())
def test_step(sides: tuple[Side, Side], step: dict[str, Any], store: str) -> None:
    """Send the step to both servers (PocketBase first) and compare their answers."""
    answers = []
    for side in sides:
        response = side.send(step)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        side.save(step, body)
        answers.append(side.answer(response))
    pocketbase, keelbase = answers
    if store and step.get("unordered_on_postgres"):
        # An unsorted list: SQLite gives its plan's order, PostgreSQL another. Same rows?
        for answer in answers:
            if isinstance(answer.body, dict) and isinstance(answer.body.get("items"), list):
                answer.body["items"].sort(key=lambda item: json.dumps(item, sort_keys=True))
    if not step.get("expect_same", True):
        return
    sent = frozenset(parse_qs(urlsplit(step["url"]).query, keep_blank_values=True))
    problems = compare(pocketbase, keelbase, sent)
    if problems:
        pytest.fail(_report(step, problems, pocketbase, keelbase), pytrace=False)
