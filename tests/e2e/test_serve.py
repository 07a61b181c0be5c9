"""The real ``keelbase serve`` process starts, answers and stops cleanly."""

import httpx

from tests.conftest import ServerProcess


def test_serve_answers_and_shuts_down_gracefully(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/api/health")
    assert response.status_code == 200
    assert response.json()["message"] == "API is healthy."
    # uvicorn re-raises the SIGTERM it handled, after the graceful shutdown.
    assert server.stop() in (0, -15)
    assert "keelbase stopped cleanly" in server.log()
