from starlette.testclient import TestClient


def test_health_answers_like_pocketbase(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"code": 200, "data": {}, "message": "API is healthy."}


def test_unknown_route_is_a_404_in_pocketbase_shape(client: TestClient) -> None:
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {
        "data": {},
        "message": "The requested resource wasn't found.",
        "status": 404,
    }
