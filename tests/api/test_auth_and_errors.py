"""Authentication on every route, and the one error shape `{message, code, info}`."""

from __future__ import annotations

import json
import re

import pytest

from store.api_keys import ApiKeys
from store.db import get_engine
from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")

UNAUTHENTICATED = {"message": "Unauthenticated", "code": 401, "info": {}}


def operations(openapi: dict):
    for path, methods in openapi["paths"].items():
        for method in methods:
            yield method.upper(), path


async def test_every_route_but_health_and_webhooks_needs_a_key(api):
    openapi = (await api.http.get("/openapi.json")).json()
    checked = 0
    for method, path in operations(openapi):
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "API_KEY nope"}):
            response = await api.http.request(
                method, concrete, headers={"Authorization": "", **headers}, json={}
            )
            if path in ("/health", "/health/live", "/health/ready", "/v1/webhooks/tellescope"):
                assert response.status_code != 401 or path.startswith("/v1/webhooks"), path
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.json() == UNAUTHENTICATED
            checked += 1
    assert checked >= 3 * 15
    health = await api.http.get("/health", headers={"Authorization": ""})
    assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_revoked_key_is_refused(api):
    keys = ApiKeys(get_engine(api.store_url))
    key, row = keys.create("short-lived")
    headers = {"Authorization": f"API_KEY {key}"}
    assert (await api.http.get("/v1/deployments", headers=headers)).status_code == 200
    keys.revoke(row.id)
    response = await api.http.get("/v1/deployments", headers=headers)
    assert response.status_code == 401 and response.json() == UNAUTHENTICATED


async def test_invalid_json_is_a_400(api):
    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        content=b'{"enduserIds": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400 and body["message"].startswith("Invalid JSON body")


async def test_schema_errors_are_422_with_the_json_path(api):
    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        json={"enduserIds": ["64f000000000000000000001", "bad id!"], "journeyId": "x"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 422
    assert body["info"]["path"] == "enduserIds[1]"
    assert body["message"].startswith("Error parsing field enduserIds[1]:")

    response = await api.http.post("/v1/add-endusers-to-journey", json={"journeyId": "x"})
    assert response.status_code == 422
    assert response.json()["message"] == "Value not provided for required field: enduserIds"

    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        json={"enduserIds": ["a"], "journeyId": "x", "journeyContext": {"formResponseID": "1"}},
    )
    assert response.status_code == 422
    assert response.json()["info"]["path"] == "journeyContext.formResponseID"

    response = await api.http.get("/v1/automated-actions", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["info"] == {
        "path": "limit",
        "location": "query",
        "errors": response.json()["info"]["errors"],
    }


async def test_oversize_bodies_are_413(api):
    limit = api.settings.api_max_body_bytes
    big = json.dumps({"enduserIds": ["a"], "journeyId": "x" * (limit + 10)}).encode()
    response = await api.http.post(
        "/v1/add-endusers-to-journey", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == 413

    async def chunks():  # no Content-Length: counted while streaming
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_unknown_routes_and_records_are_404(api):
    response = await api.http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"message": "Cannot GET /v1/nothing-here", "code": 404, "info": {}}
    response = await api.http.post(
        "/v1/journeys/no-such-journey/enrollments", json={"enduserId": "64f000000000000000000001"}
    )
    assert response.status_code == 404
    assert response.json()["message"] == 'Could not find a journey "no-such-journey"'
    response = await api.http.get("/v1/journeys/statistics", params={"journeyId": "nope"})
    assert response.status_code == 404


async def test_unknown_enduser_is_404_and_enrolls_nobody(api):
    await api.deploy({"errors-journey.yaml": journey_yaml("errors-journey", "Errors journey")})
    known = api.new_enduser()
    unknown = "64f0000000000000000fffff"
    response = await api.http.post(
        "/v1/journeys/errors-journey/enrollments", json={"enduserIds": [known, unknown]}
    )
    assert response.status_code == 404
    assert response.json()["info"] == {"enduserIds": [unknown]}
    with pytest.raises(Exception) as missing:  # no workflow was started for the known one
        await api.client.get_workflow_handle(f"journey:errors-journey:{known}").describe()
    assert "not found" in str(missing.value).lower()
    assert (api.enduser(known).get("journeys") or {}) == {}


async def test_openapi_documents_auth_and_errors(api):
    openapi = (await api.http.get("/openapi.json")).json()
    assert openapi["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    error = openapi["components"]["schemas"]["HTTPValidationError"]
    assert set(error["properties"]) == {"message", "code", "info"}
    docs = await api.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
