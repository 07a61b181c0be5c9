"""The scenario helper itself: placeholders, fragments and hook events."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.api.scenario import (
    Scenario,
    UnfilledPlaceholder,
    World,
    check_events,
    contains,
    run,
)


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


KNOWN = {"record_create", "record_create_commit", "request", "records_list"}


def test_events_must_fire_as_often_as_named() -> None:
    fired = Counter({"record_create": 1, "record_create_commit": 1, "request": 1})
    check_events("s", {"record_create": 1, "record_create_commit": 1}, fired, KNOWN)
    check_events("s", {"records_list": 0}, fired, KNOWN)
    with pytest.raises(
        AssertionError, match=re.escape("record_create fired 1 time(s), expected 2")
    ):
        check_events("s", {"record_create": 2}, fired, KNOWN)
    with pytest.raises(AssertionError, match=re.escape("records_list fired 0 time(s), expected 1")):
        check_events("s", {"records_list": 1}, fired, KNOWN)


def test_star_zero_forbids_every_other_event() -> None:
    fired = Counter({"record_create": 1, "request": 1})
    check_events("s", {"*": 0, "record_create": 1, "request": 1}, fired, KNOWN)
    with pytest.raises(AssertionError, match=re.escape("request fired 1 time(s), expected none")):
        check_events("s", {"*": 0, "record_create": 1}, fired, KNOWN)


def test_an_unknown_event_name_is_a_mistake() -> None:
    with pytest.raises(AssertionError, match="no such hook event"):
        check_events("s", {"record_created": 0}, Counter(), KNOWN)


# On a real app, both stores ------------------------------------------------------

SIGN_UP = {"email": "new@example.com", "password": "Passw0rd123", "passwordConfirm": "Passw0rd123"}


def test_events_are_counted_on_the_app(world: World) -> None:
    data = run(world, Scenario(
        "sign up", "POST", "/api/collections/users/records", body=SIGN_UP,
        events={"*": 0, "request": 1, "record_create": 1, "record_create_commit": 1},
    ))  # fmt: skip
    assert data["collectionName"] == "users"
    # the counting handlers are gone afterwards
    assert all(not hook.bindings for hook in world.app.hooks.all())


@pytest.mark.parametrize(
    "events",
    [
        {"record_create": 2},
        {"record_update": 1},
        {"*": 0, "record_create": 1},
        {"records_list": 1},
    ],
    ids=str,
)
def test_a_wrong_expectation_fails(world: World, events: dict[str, int]) -> None:
    scenario = Scenario(
        "sign up", "POST", "/api/collections/users/records", body=SIGN_UP, events=events
    )
    with pytest.raises(AssertionError, match=r"sign up: \w+ fired"):
        run(world, scenario)


def test_events_of_before_steps_are_not_counted(world: World) -> None:
    run(world, Scenario(
        "view after a create", "GET", "/api/collections/users/records/$user1", who="user1",
        before=(Scenario("create", "POST", "/api/collections/users/records", body=SIGN_UP),),
        events={"*": 0, "request": 1, "record_view": 1},
    ))  # fmt: skip
