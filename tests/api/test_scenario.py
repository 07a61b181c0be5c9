"""The scenario helper itself: placeholders and fragments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.scenario import Scenario, UnfilledPlaceholder, World, contains, run


class NoClient:
    """Stands in for the test client: any request is a failure of the test."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"no request should have been sent: {args}")


def world(**ids: str) -> World:
    return World(NoClient(), ids=dict(ids))  # type: ignore[arg-type]


def test_fill_replaces_ids_everywhere() -> None:
    filled = world(p1="abc", user1="u1").fill(
        {"url": "/r/$p1?x=1", "$p1": ["$user1", {"k": "$user1-$p1"}], "n": 5}
    )
    assert filled == {"url": "/r/abc?x=1", "abc": ["u1", {"k": "u1-abc"}], "n": 5}


def test_a_name_is_read_whole() -> None:
    assert world(p1="one", p10="ten").fill("$p10,$p1") == "ten,one"


def test_dollar_dollar_is_a_dollar() -> None:
    assert world(a="x").fill("$$a costs $$5 $a") == "$a costs $5 x"
    assert world().fill("$.path and $2b$ and 5$") == "$.path and $2b$ and 5$"


@pytest.mark.parametrize(
    "value",
    ["/api/collections/$posts/records", {"body": {"author": "$nobody"}}, ["$p1", "$missing"]],
)
def test_an_unknown_name_fails_naming_it(value: Any) -> None:
    with pytest.raises(UnfilledPlaceholder) as caught:
        world(p1="x").fill(value)
    message = str(caught.value)
    assert caught.value.name in ("posts", "nobody", "missing")
    assert f"${caught.value.name}" in message
    assert "it has: p1" in message


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("url", "GET", "/api/collections/$posts/records"),
        Scenario("body", "POST", "/api/x", body={"post": "$posts"}),
        Scenario("headers", "GET", "/api/x", headers={"X-Post": "$posts"}),
        Scenario("before", "GET", "/api/x", before=(Scenario("b", "GET", "/api/$posts"),)),
    ],
    ids=str,
)
def test_run_fails_before_sending_anything(scenario: Scenario) -> None:
    with pytest.raises(UnfilledPlaceholder, match=r"\$posts"):
        run(world(), scenario)


def test_contains_is_a_fragment_check() -> None:
    contains({"a": 1, "b": [{"c": 2, "d": 3}], "e": None}, {"b": [{"c": 2}]})
    with pytest.raises(AssertionError, match=r"\$\.b\[0\]\.c: expected 3, got 2"):
        contains({"b": [{"c": 2}]}, {"b": [{"c": 3}]})
    with pytest.raises(AssertionError, match="expected 1 items"):
        contains({"b": [1, 2]}, {"b": [1]})
    with pytest.raises(AssertionError, match="missing key 'x'"):
        contains({"b": 1}, {"x": 1})
