"""Smoke: deploy through the API, enroll, see the enrollment run in Tellescope."""

from __future__ import annotations

import pytest

from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_deploy_and_enroll(api):
    body = await api.deploy({"smoke.yaml": journey_yaml("smoke", "Smoke journey")})
    assert body["journeys"][0]["status"] == "created"
    enduser_id = api.new_enduser()
    response = await api.http.post("/v1/journeys/smoke/enrollments", json={"enduserId": enduser_id})
    assert response.status_code == 200, response.text
    await api.wait_for(lambda: api.journey_state(enduser_id, "smoke"), "state Started")
    assert await api.journey_state(enduser_id, "smoke") == "Started"
