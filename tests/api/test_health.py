from starlette.testclient import TestClient


def test_health_answers_like_pocketbase(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"code": 200, "data": {}, "message": "API is healthy."}

    picked = client.get("/api/health?fields=code,message")
    assert picked.json() == {"code": 200, "message": "API is healthy."}


def test_unknown_route_is_a_404_in_pocketbase_shape(client: TestClient) -> None:
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"data": {}, "message": "File not found.", "status": 404}
    response = client.post("/api/does-not-exist")
    assert response.json() == {
        "data": {},
        "message": "The requested resource wasn't found.",
        "status": 404,
    }


def test_security_headers_and_cors(client: TestClient) -> None:
    response = client.get("/api/health", headers={"Origin": "https://app.example.com"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/api/collections/posts/records",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204  # as PocketBase answers a preflight
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
