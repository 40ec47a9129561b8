"""API-key authentication: header, `apiKey` parameter, Tellescope-shaped 401; the /sandbox
helpers answer loopback clients only."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.requests import Request

from sandbox.auth import require_loopback
from sandbox.errors import TellescopeError

UNAUTHENTICATED = {"message": "Unauthenticated", "code": 401, "info": {}}


def test_missing_and_wrong_keys(server) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        for method, path in [
            ("GET", "/v1/endusers"),
            ("POST", "/v1/enduser"),
            ("PATCH", "/v1/enduser/x"),
        ]:
            response = anonymous.request(method, path, json={})
            assert response.status_code == 401 and response.json() == UNAUTHENTICATED
        wrong = anonymous.get("/v1/endusers", headers={"Authorization": "API_KEY wrong"})
        assert wrong.status_code == 401 and wrong.json() == UNAUTHENTICATED
        bearer = anonymous.get("/v1/endusers", headers={"Authorization": "Bearer sandbox-dev-key"})
        assert bearer.status_code == 401


def test_api_key_parameter(server) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/v1/users", params={"apiKey": "sandbox-dev-key"}).status_code == 200
        created = client.post("/v1/enduser", json={"apiKey": "sandbox-dev-key", "fname": "Key"})
        assert created.status_code == 200 and "apiKey" not in created.json()


def test_the_random_seeded_key_works(server) -> None:
    random_key = server.sandbox.printable_keys[1]
    assert random_key != "sandbox-dev-key" and len(random_key) == 64
    with httpx.Client(base_url=server.base_url) as client:
        response = client.get("/v1/users", headers={"Authorization": f"API_KEY {random_key}"})
        assert response.status_code == 200


def test_helpers_refuse_remote_clients(server) -> None:
    def request_from(host: str) -> Request:
        request = Request(
            {"type": "http", "client": (host, 50000), "headers": [], "app": server.app}
        )
        return request

    asyncio.run(require_loopback(request_from("127.0.0.1")))
    with pytest.raises(TellescopeError) as refused:
        asyncio.run(require_loopback(request_from("10.1.2.3")))
    assert refused.value.status == 403
