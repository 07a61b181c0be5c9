"""Every request reaches the app's observers once, with its route template, status and auth."""

from __future__ import annotations

from keelbase.core.request_outcome import RequestOutcome


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[RequestOutcome] = []

    def request_started(self, method: str) -> None:
        self.started.append(method)

    def request_finished(self, outcome: RequestOutcome) -> None:
        self.finished.append(outcome)


class Broken:
    def request_started(self, method: str) -> None:
        raise RuntimeError("observer down")

    def request_finished(self, outcome: RequestOutcome) -> None:
        raise RuntimeError("observer down")


def test_outcomes_name_the_route_template_status_and_auth(world) -> None:
    recorder = Recorder()
    world.app.asgi.observers[:] = [Broken(), recorder]
    client = world.client
    headers = world.headers("superuser")
    answer = client.get(
        "/api/collections/_superusers/records/nope?fields=id",
        headers={**headers, "Referer": "http://x/", "User-Agent": "probe/1"},
    )
    assert answer.status_code == 404
    client.get("/api/health")
    client.get("/api/definitely/unknown")
    assert recorder.started == ["GET", "GET", "GET"]
    first, health, unknown = recorder.finished
    assert first.route == "/api/collections/{collection}/records/{id}"
    assert first.url == "/api/collections/_superusers/records/nope?fields=id"
    assert first.status == 404
    assert first.auth_collection == "_superusers" and first.auth_id
    assert first.token == ""
    assert (first.referer, first.user_agent) == ("http://x/", "probe/1")
    assert first.error is not None and first.request_id == answer.headers["x-request-id"]
    assert first.duration >= 0 and first.started > 0
    assert (health.route, health.status, health.auth_id, health.error) == (
        "/api/health",
        200,
        "",
        None,
    )
    assert (unknown.route, unknown.status) == ("", 404)
