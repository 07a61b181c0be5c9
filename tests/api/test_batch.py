"""POST /api/batch and the batch settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import world_of
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

RECORDS = "/api/collections/b_open/records"

# fmt: off
SETUP = [
    Scenario("open collection", "POST", "/api/collections", who="superuser", body={
        "name": "b_open", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
        "deleteRule": "", "fields": [{"name": "title", "type": "text", "required": True}]}),
]

ENABLE = Scenario("enable batch", "PATCH", "/api/settings", who="superuser",
                  body={"batch": {"enabled": True, "maxRequests": 5}})

# Batch requests off, as in a new app
SETTINGS = [
    Scenario("disabled by default", "POST", "/api/batch",
             body={"requests": [{"method": "POST", "url": RECORDS, "body": {"title": "x"}}]}, status=403,
             contains={"message": "Batch requests are not allowed."}),
    Scenario("settings need a superuser", "GET", "/api/settings", status=401),
    Scenario("settings as user", "GET", "/api/settings", who="user1", status=403),
    Scenario("settings shape", "GET", "/api/settings", who="superuser", contains={
        "batch": {"enabled": False, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
        "meta": {"appName": "Acme"}}, ),
    Scenario("invalid settings", "PATCH", "/api/settings", who="superuser",
             body={"batch": {"maxRequests": 0, "timeout": -1}, "meta": {"appName": "", "appURL": "nope"}},
             status=400, contains={"message": "An error occurred while saving the new settings.", "data": {
                 "batch": {"maxRequests": {"code": "validation_required"},
                           "timeout": {"code": "validation_min_greater_equal_than_required"}},
                 "meta": {"appName": {"code": "validation_required"}, "appURL": {"code": "validation_is_url"}}}}),
    Scenario("enable batch", "PATCH", "/api/settings", who="superuser",
             body={"batch": {"enabled": True, "maxRequests": 5}},
             contains={"batch": {"enabled": True, "maxRequests": 5, "timeout": 3}}),
    Scenario("smtp password is never returned", "PATCH", "/api/settings", who="superuser",
             body={"smtp": {"password": "secret"}}, contains={"smtp": {"enabled": False}}),
]

SMALL_BODIES = Scenario("batch bodies up to 200 bytes", "PATCH", "/api/settings", who="superuser",
                        body={"batch": {"maxBodySize": 200}})

# Batch requests on, at most 5 in one batch
BATCHES = [
    Scenario("a body over batch.maxBodySize", "POST", "/api/batch", before=(SMALL_BODIES,), body={
        "requests": [{"method": "POST", "url": RECORDS, "body": {"title": "x" * 200}}]},
        status=413, contains={"status": 413, "message": "Request entity too large."},
        after=(Scenario("nothing was created", "GET", RECORDS, contains={"totalItems": 0}),)),
    Scenario("a body within batch.maxBodySize", "POST", "/api/batch", before=(SMALL_BODIES,), body={
        "requests": [{"method": "POST", "url": RECORDS, "body": {"title": "x" * 20}}]},
        contains=[{"status": 200}]),
    Scenario("create, update, upsert, delete", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": RECORDS, "body": {"id": "batchrecord0001", "title": "b1"}},
        {"method": "PATCH", "url": RECORDS + "/batchrecord0001", "body": {"title": "b1-updated"}},
        {"method": "PUT", "url": RECORDS + "?fields=id,title", "body": {"id": "batchrecord0002", "title": "new"}},
        {"method": "PUT", "url": RECORDS + "?fields=title", "body": {"id": "batchrecord0002", "title": "upd"}},
        {"method": "DELETE", "url": RECORDS + "/batchrecord0001"},
    ]}, contains=[
        {"status": 200, "body": {"id": "batchrecord0001", "title": "b1"}},
        {"status": 200, "body": {"title": "b1-updated"}},
        {"status": 200, "body": {"id": "batchrecord0002", "title": "new"}},
        {"status": 200, "body": {"title": "upd"}},
        {"status": 204, "body": None},
    ]),
    Scenario("failure rolls back", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": RECORDS, "body": {"id": "batchrecord0003", "title": "ok"}},
        {"method": "POST", "url": RECORDS, "body": {"title": ""}},
        {"method": "POST", "url": RECORDS, "body": {"title": "never"}},
    ]}, status=400, contains={"message": "Batch transaction failed.", "data": {"requests": {"1": {
        "code": "batch_request_failed", "message": "Batch request failed.",
        "response": {"status": 400, "message": "Failed to create record.",
                     "data": {"title": {"code": "validation_required"}}}}}}},
        after=(Scenario("nothing of the failed batch was kept", "GET", RECORDS + "/batchrecord0003",
                        status=404),)),
    Scenario("404 inside", "POST", "/api/batch", body={"requests": [
        {"method": "PATCH", "url": RECORDS + "/doesnotexist123", "body": {"title": "x"}}]}, status=400,
        contains={"data": {"requests": {"0": {"response": {"status": 404}}}}}),
    Scenario("unsupported action", "POST", "/api/batch", body={"requests": [
        {"method": "GET", "url": RECORDS}]}, status=400),
    Scenario("non-record url", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": "/api/collections", "body": {"name": "zz"}}]}, status=400),
    Scenario("a url urlsplit cannot read", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": "http://[::1" + RECORDS}]}, status=400,
        contains={"data": {"requests": {"0": {"code": "batch_request_failed"}}}}),
    Scenario("too many", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": RECORDS, "body": {"title": str(i)}} for i in range(6)]}, status=400,
        contains={"message": "Invalid batch request data.", "data": {"requests": {
            "code": "validation_length_too_long", "params": {"max": 5, "min": 0}}}}),
    Scenario("empty", "POST", "/api/batch", body={"requests": []}, status=400,
             contains={"data": {"requests": {"code": "validation_required"}}}),
    Scenario("missing method and url", "POST", "/api/batch", body={"requests": [{"body": {}}]}, status=400,
             contains={"data": {"requests": {"0": {"method": {"code": "validation_required"},
                                                   "url": {"code": "validation_required"}}}}}),
    Scenario("malformed", "POST", "/api/batch", raw=b"{", status=400,
             contains={"message": "Failed to read the submitted batch data."}),
    Scenario("rules apply inside", "POST", "/api/batch", body={"requests": [
        {"method": "POST", "url": "/api/collections/_superusers/records",
         "body": {"email": "x@example.com", "password": "Passw0rd123", "passwordConfirm": "Passw0rd123"}}]},
        status=400, contains={"data": {"requests": {"0": {"response": {"status": 403}}}}}),
]
# fmt: on


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("batch") / "kb_data", *SETUP) as extended:
        yield extended


@pytest.fixture(scope="module")
def enabled_template(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    with template.extend(tmp_path_factory.mktemp("enabled") / "kb_data", ENABLE) as extended:
        yield extended


@pytest.fixture
def enabled_world(
    enabled_template: Template, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    yield from world_of(enabled_template, request, tmp_path)


@params(SETTINGS)
def test_settings(world: World, scenario: Scenario) -> None:
    run(world, scenario)


@params(BATCHES)
def test_batch(enabled_world: World, scenario: Scenario) -> None:
    run(enabled_world, scenario)
