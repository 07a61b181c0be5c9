"""A malformed body answers PocketBase's message for that endpoint, never a 500; and a record
write to a missing collection answers PocketBase's wording for it.

The messages were read from PocketBase 0.40.6 with the same requests (and the
differential test keeps comparing them: ``BAD_BODY_STEPS`` in
``tests/differential/steps_parity.py``). PocketBase has three: record writes
and realtime subscriptions give its generic message, collection create its own,
everything else "An error occurred while loading the submitted data.".
"""

from __future__ import annotations

from tests.api.scenario import Scenario, World, params, run

GENERIC = "Something went wrong while processing your request."
LOAD = "An error occurred while loading the submitted data."
FORMATTING = "Failed to load the submitted data due to invalid formatting."
COLLECTION_TYPE = "Failed to load the collection type data due to invalid formatting."
VALIDATING = "An error occurred while validating the submitted data."
APPLE = "Invalid client secret data."

# (method, url, who, message)
ENDPOINTS = [
    ("POST", "/api/collections/users/records", "guest", GENERIC),
    ("POST", "/api/collections/users/records", "superuser", GENERIC),
    ("PATCH", "/api/collections/users/records/$user1", "superuser", GENERIC),
    ("POST", "/api/realtime", "guest", GENERIC),
    ("POST", "/api/collections", "superuser", COLLECTION_TYPE),
    ("PATCH", "/api/collections/users", "superuser", FORMATTING),
    ("PATCH", "/api/settings", "superuser", LOAD),
    ("POST", "/api/settings/test/email", "superuser", LOAD),
    ("POST", "/api/settings/test/s3", "superuser", LOAD),
    ("POST", "/api/settings/apple/generate-client-secret", "superuser", LOAD),
    ("POST", "/api/sql", "superuser", LOAD),
    ("POST", "/api/collections/meta/dry-run-view", "superuser", LOAD),
    ("PUT", "/api/collections/import", "superuser", LOAD),
    ("POST", "/api/backups", "superuser", LOAD),
    ("POST", "/api/collections/users/auth-with-password", "guest", LOAD),
    ("POST", "/api/collections/users/request-password-reset", "guest", LOAD),
    ("POST", "/api/collections/users/confirm-password-reset", "guest", LOAD),
    ("POST", "/api/collections/users/request-verification", "guest", LOAD),
    ("POST", "/api/collections/users/confirm-verification", "guest", LOAD),
    ("POST", "/api/collections/users/confirm-email-change", "guest", LOAD),
]
BODIES = [("broken", b"{bad"), ("a list", b"[1,2]"), ("a trailing comma", b'{"a":1,}')]

SCENARIOS = (
    (
        [
            Scenario(
                f"{method} {url} as {who}, {label}",
                method,
                url,
                who,
                raw=raw,
                status=400,
                contains={"status": 400, "message": message, "data": {}},
            )
            for method, url, who, message in ENDPOINTS
            for label, raw in BODIES
        ]
        + [
            Scenario(
                "a record's multipart @jsonPayload that is not JSON",
                "POST",
                "/api/collections/users/records",
                raw=b'--B\r\nContent-Disposition: form-data; name="@jsonPayload"\r\n\r\n{bad\r\n--B--\r\n',
                content_type="multipart/form-data; boundary=B",
                status=400,
                contains={"message": GENERIC, "data": {}},
            ),
        ]
        + [
            Scenario(
                f"{method} {url}: a missing collection",
                method,
                url,
                "superuser",
                body={},
                status=404,
                contains={"message": message},
            )
            for method, url, message in (
                ("GET", "/api/collections/nope/records", "Missing collection context."),
                ("GET", "/api/collections/nope/records/x", "Missing collection context."),
                ("POST", "/api/collections/nope/records", "Missing or invalid collection context."),
                (
                    "PATCH",
                    "/api/collections/nope/records/x",
                    "Missing or invalid collection context.",
                ),
                ("DELETE", "/api/collections/nope/records/x", "Missing collection context."),
            )
        ]
    )
    + [
        # JSON null is an empty body, as PocketBase reads it: the endpoint's own checks answer.
        Scenario(
            f"{method} {url}: null",
            method,
            url,
            who,
            raw=b"null",
            status=400,
            contains={"message": message, "data": {field: {"code": "validation_required"}}},
        )
        for method, url, who, message, field in (
            (
                "POST",
                "/api/collections/users/records",
                "guest",
                "Failed to create record.",
                "password",
            ),
            ("POST", "/api/realtime", "guest", GENERIC, "clientId"),
            ("POST", "/api/collections", "superuser", "Failed to create collection.", "name"),
            ("POST", "/api/sql", "superuser", VALIDATING, "query"),
            ("POST", "/api/collections/meta/dry-run-view", "superuser", VALIDATING, "query"),
            ("PUT", "/api/collections/import", "superuser", VALIDATING, "collections"),
            ("POST", "/api/collections/users/auth-with-password", "guest", VALIDATING, "identity"),
            ("POST", "/api/collections/users/request-password-reset", "guest", VALIDATING, "email"),
            ("POST", "/api/settings/apple/generate-client-secret", "superuser", APPLE, "clientId"),
        )
    ]
    + [
        Scenario(
            f"S3 test with {body}",
            "POST",
            "/api/settings/test/s3",
            "superuser",
            body=body,
            status=400,
            contains={"message": message, "data": data},
        )
        for body, message, data in (
            (
                {},
                "Failed to test the S3 filesystem.",
                {"filesystem": {"code": "validation_required"}},
            ),
            (
                {"filesystem": "x"},
                "Failed to test the S3 filesystem.",
                {"filesystem": {"code": "validation_in_invalid"}},
            ),
            ({"filesystem": 5}, LOAD, {}),
        )
    ]
)


@params(SCENARIOS)
def test_bad_body(world: World, scenario: Scenario) -> None:
    run(world, scenario)
