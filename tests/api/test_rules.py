"""API rules: null locks to superusers, "" opens to all, others filter and hide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import world_of
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

OWNER = "author = @request.auth.id"

# fmt: off
SETUP = [
    Scenario("locked collection", "POST", "/api/collections", who="superuser",
             body={"name": "r_null", "fields": [{"name": "title", "type": "text"}]}),
    Scenario("locked record", "POST", "/api/collections/r_null/records", who="superuser",
             body={"title": "x"}, save={"locked": "id"}),
    Scenario("owner collection", "POST", "/api/collections", who="superuser", body={
        "name": "r_owner", "listRule": OWNER, "viewRule": OWNER,
        "createRule": "@request.auth.id != '' && author = @request.auth.id",
        "updateRule": OWNER + " && @request.body.author:isset = false", "deleteRule": OWNER,
        "fields": [{"name": "title", "type": "text"},
                   {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"}]}),
    Scenario("user1 record", "POST", "/api/collections/r_owner/records", who="user1",
             body={"title": "mine", "author": "$user1"}, save={"mine": "id"}),
    Scenario("user2 record", "POST", "/api/collections/r_owner/records", who="user2",
             body={"title": "theirs", "author": "$user2"}, save={"theirs": "id"}),
]

SCENARIOS = [
    # null rules: 403 for everyone but superusers, even for ids that do not exist
    *[Scenario(f"locked {method} {url} as {who}", method, url, who=who, body=body, status=403,
               contains={"message": "Only superusers can perform this action."})
      for who in ("guest", "user1")
      for method, url, body in (
          ("GET", "/api/collections/r_null/records", None),
          ("GET", "/api/collections/r_null/records/$locked", None),
          ("GET", "/api/collections/r_null/records/doesnotexist123", None),
          ("POST", "/api/collections/r_null/records", {"title": "x"}),
          ("PATCH", "/api/collections/r_null/records/$locked", {"title": "x"}),
          ("DELETE", "/api/collections/r_null/records/$locked", None),
      )],
    Scenario("superuser bypasses null rules", "GET", "/api/collections/r_null/records", who="superuser",
             contains={"totalItems": 1}),
    # the list rule filters rows
    Scenario("guest lists nothing", "GET", "/api/collections/r_owner/records", contains={"items": []}),
    Scenario("user1 lists own", "GET", "/api/collections/r_owner/records?fields=title", who="user1",
             contains={"items": [{"title": "mine"}]}),
    Scenario("filter cannot widen the rule", "GET",
             "/api/collections/r_owner/records?filter=title%3D'theirs'%20||%20id!%3D''", who="user1",
             contains={"items": [{"title": "mine"}]}),
    # hidden records are 404 for view, update and delete
    Scenario("user1 views other", "GET", "/api/collections/r_owner/records/$theirs", who="user1", status=404,
             contains={"message": "The requested resource wasn't found."}),
    Scenario("user1 updates other", "PATCH", "/api/collections/r_owner/records/$theirs", who="user1",
             body={"title": "hack"}, status=404),
    Scenario("user1 deletes other", "DELETE", "/api/collections/r_owner/records/$theirs", who="user1",
             status=404, events={"*": 0, "request": 1}),
    Scenario("guest views", "GET", "/api/collections/r_owner/records/$mine", status=404),
    Scenario("user1 views own", "GET", "/api/collections/r_owner/records/$mine?fields=title", who="user1",
             contains={"title": "mine"}),
    # create rule with @request.body and the would-be record
    Scenario("create for someone else fails", "POST", "/api/collections/r_owner/records", who="user1",
             body={"title": "x", "author": "$user2"}, status=400,
             contains={"message": "Failed to create record.", "data": {}}),
    Scenario("guest create fails", "POST", "/api/collections/r_owner/records", body={"title": "x"},
             status=400),
    # update rule sees @request.body
    Scenario("update sending author is refused", "PATCH", "/api/collections/r_owner/records/$mine",
             who="user1", body={"author": "$user2"}, status=404),
    Scenario("update own title", "PATCH", "/api/collections/r_owner/records/$mine?fields=title", who="user1",
             body={"title": "mine2"}, contains={"title": "mine2"}),
    Scenario("superuser sees all", "GET", "/api/collections/r_owner/records?fields=title&sort=title",
             who="superuser", contains={"items": [{"title": "mine"}, {"title": "theirs"}]}),
    # users collection: email visibility
    Scenario("user sees own email", "GET", "/api/collections/users/records/$user1", who="user1",
             contains={"email": "user1@example.com"}),
    Scenario("user cannot view another user", "GET", "/api/collections/users/records/$user2", who="user1",
             status=404),
    Scenario("user cannot set verified", "PATCH", "/api/collections/users/records/$user1", who="user1",
             body={"verified": True}, status=400,
             contains={"data": {"verified": {"code": "validation_values_mismatch"}}}),
    Scenario("password change needs the old one", "PATCH", "/api/collections/users/records/$user1",
             who="user1", body={"password": "NewPassw0rd", "passwordConfirm": "NewPassw0rd"}, status=400,
             contains={"data": {"oldPassword": {"code": "validation_required"}}}),
    Scenario("a wrong old password", "PATCH", "/api/collections/users/records/$user1", who="user1",
             body={"password": "NewPassw0rd", "passwordConfirm": "NewPassw0rd", "oldPassword": "wrong"},
             status=400, contains={"data": {"oldPassword": {"code": "validation_invalid_old_password"}}}),
    Scenario("delete own", "DELETE", "/api/collections/r_owner/records/$mine", who="user1", status=204,
             events={"*": 0, "request": 1, "record_delete": 1, "record_delete_commit": 1}),
]
# fmt: on


@pytest.fixture(scope="module")
def rules_template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("rules") / "kb_data", *SETUP) as extended:
        yield extended


@pytest.fixture
def rules_world(
    rules_template: Template, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    yield from world_of(rules_template, request, tmp_path)


@params(SCENARIOS)
def test_rules(rules_world: World, scenario: Scenario) -> None:
    run(rules_world, scenario)


def test_email_visibility_to_others(world: World) -> None:
    relaxed = world.request(
        "PATCH",
        "/api/collections/users",
        "superuser",
        json={"listRule": "@request.auth.id != ''", "viewRule": "@request.auth.id != ''"},
    )
    assert relaxed.status_code == 200
    other = world.request(
        "GET", f"/api/collections/users/records/{world.ids['user2']}", "user1"
    ).json()
    assert "email" not in other
    shown = world.request(
        "PATCH",
        f"/api/collections/users/records/{world.ids['user2']}",
        "user2",
        json={"emailVisibility": True},
    )
    assert shown.status_code == 200, shown.text
    other = world.request(
        "GET", f"/api/collections/users/records/{world.ids['user2']}", "user1"
    ).json()
    assert other["email"] == "user2@example.com"
    # the email filter honours visibility too
    found = world.request(
        "GET", "/api/collections/users/records?filter=email~'user1'", "user2"
    ).json()
    assert found["items"] == []


_PIECES = [
    "title", "author", "id", "author.name", "author.email", "@request.auth.id", "=", "!=", "~", "?=",
    "||", "&&", "(", ")", "'mine'", "'theirs'", "''", "true", "1", " ", "null", "author.id", ":lower",
    "//", "'", "\\", "@collection.r_owner.id", "users_via_x",
]  # fmt: skip


def own_more(world: World) -> None:
    """Both users own one more record, so that there is more to hide."""
    for who in ("user1", "user2"):
        created = world.request(
            "POST",
            "/api/collections/r_owner/records",
            who,
            json={"title": who, "author": world.ids[who]},
        )
        assert created.status_code == 200, created.text
    everything = world.request("GET", "/api/collections/r_owner/records", "user1").json()
    assert [item["title"] for item in everything["items"]] == ["mine", "user1"]


@pytest.fixture(scope="module")
def owned_template(
    rules_template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    with rules_template.extend(tmp_path_factory.mktemp("owned") / "kb_data", own_more) as extended:
        yield extended


@pytest.fixture
def owned(owned_template: Template, tmp_path: Path) -> Iterator[World]:
    with owned_template.start(tmp_path / "kb_data") as world:
        yield world


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(parts=st.lists(st.sampled_from(_PIECES), max_size=12))
def test_no_filter_reveals_a_hidden_row(owned: World, parts: list[str]) -> None:
    rules_world = owned
    response = rules_world.request(
        "GET", "/api/collections/r_owner/records", "user1", params={"filter": " ".join(parts)}
    )
    assert response.status_code in (200, 400, 403), response.text
    if response.status_code == 200:
        authors = {item["author"] for item in response.json()["items"]}
        assert authors <= {rules_world.ids["user1"]}
