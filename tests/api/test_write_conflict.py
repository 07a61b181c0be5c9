"""A transaction the database rolled back to settle a clash is a 409, not a 500."""

from __future__ import annotations

from keelbase.api.application import KeelbaseApp
from keelbase.store.base import StoreError, WriteConflict


def test_a_write_conflict_is_a_409_in_pocketbases_shape() -> None:
    scope = {"type": "http", "method": "POST", "path": "/api/collections/posts/records"}
    error = KeelbaseApp._as_api_error(WriteConflict("deadlock detected"), scope)
    assert error.status == 409
    body = error.to_json()
    assert set(body) == {"status", "message", "data"}
    assert "try again" in body["message"]
    assert "deadlock" not in body["message"]  # the database's words stay in the log


def test_other_store_errors_stay_500() -> None:
    scope = {"type": "http", "method": "GET", "path": "/api/health"}
    assert KeelbaseApp._as_api_error(StoreError("boom"), scope).status == 500
