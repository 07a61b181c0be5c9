"""``/api/crons``: superusers list the cron jobs and run one by hand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keelbase.api.request import app_of, request_info, require_superuser
from keelbase.api.responses import json_response, no_content
from keelbase.errors import NotFoundError
from keelbase.services.system_jobs import SYSTEM_PREFIX


async def list_crons(request: Request) -> Response:
    require_superuser(await request_info(request))
    # PocketBase's order: the app's jobs by name, then the system's (``__pb...``, ``__kb...``) as registered.
    every = list(app_of(request).crons.jobs.values())
    system = [job for job in every if job.name.startswith(SYSTEM_PREFIX)]
    own = sorted((job for job in every if job not in system), key=lambda job: job.name)
    jobs = [*own, *system]
    return json_response([{"id": job.name, "expression": job.expression} for job in jobs])


async def run_cron(request: Request) -> Response:
    require_superuser(await request_info(request))
    app = app_of(request)
    name = request.path_params["id"]
    if name not in app.crons.jobs:
        raise NotFoundError("Missing or invalid cron job.")
    app.crons.spawn(name)
    return no_content()


routes = [
    Route("/api/crons", list_crons, methods=["GET"]),
    Route("/api/crons/{id}", run_cron, methods=["POST"]),
]
