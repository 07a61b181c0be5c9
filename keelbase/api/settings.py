"""``/api/settings``: superusers read and change the runtime settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import (
    app_of,
    fields_tree,
    lazy_body,
    read_body,
    request_info,
    require_superuser,
)
from keelbase.api.responses import json_response, no_content
from keelbase.core.records.fields_picker import pick
from keelbase.errors import BadRequestError, field_error, required_error


async def get_settings(request: Request) -> Response:
    require_superuser(await request_info(request))
    return json_response(pick(app_of(request).settings.current.public(), fields_tree(request)))


async def patch_settings(request: Request) -> Response:
    require_superuser(await request_info(request))
    tree = fields_tree(request)
    body = await read_body(request, "An error occurred while loading the submitted data.")
    settings = await app_of(request).settings.update(body)
    return json_response(pick(settings.public(), tree))


async def test_email(request: Request) -> Response:
    """Sends one of the auth mails to the given address, to check the mail settings."""
    require_superuser(await request_info(request))
    await app_of(request).mail_probe.send(lazy_body(request))
    return no_content()


async def test_s3(request: Request) -> Response:
    """``{"filesystem": "storage"|"backups"}``: can the configured bucket be reached?"""
    require_superuser(await request_info(request))
    body = await read_body(request, "An error occurred while loading the submitted data.")
    app = app_of(request)
    target = body.get("filesystem", "")
    if not isinstance(target, str):  # PocketBase's words for each case
        raise BadRequestError("An error occurred while loading the submitted data.")
    if target not in ("storage", "backups"):
        problem = (
            field_error("validation_in_invalid", "Must be a valid value.")
            if target
            else required_error()
        )
        raise BadRequestError("Failed to test the S3 filesystem.", {"filesystem": problem})
    settings = app.settings.current
    s3 = settings.s3 if target == "storage" else settings.backups.s3
    if not s3.enabled:
        raise BadRequestError(
            "Failed to test the S3 filesystem. Raw error: \nS3 storage filesystem is not enabled."
        )
    try:
        await app.files.check_s3(s3)
    except ValueError as error:
        raise BadRequestError(
            f"Failed to initialize the S3 storage. Raw error: \n{error}"
        ) from error
    return no_content()


routes = [
    Route("/api/settings", get_settings, methods=["GET"]),
    Route("/api/settings", patch_settings, methods=["PATCH"]),
    Route("/api/settings/test/s3", test_s3, methods=["POST"]),
    Route("/api/settings/test/email", test_email, methods=["POST"]),
]
