"""Pause and resume through the API and the CLI (docs/decisions.md D28): the routes signal
JourneyWorkflow on Temporal (time-skipping server, real worker), whose activities act on the
sandbox over HTTP; the CLI runs as an operator runs it (a subprocess, against a dev server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import journey_yaml
from tests.api.test_cli_deploy import cli  # noqa: F401 (the fixture)

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = "pause-journey"


async def deployed(api, journey: str = JOURNEY) -> None:
    if journey not in api.journeys:
        await api.deploy({f"{journey}.yaml": journey_yaml(journey, "Pause journey")})


async def enrolled(api, journey: str = JOURNEY) -> str:
    enduser_id = api.new_enduser()
    response = await api.http.post(
        f"/v1/journeys/{journey}/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 200, response.text
    await api.wait_for(
        lambda: _has_pending(api, enduser_id, journey), f"{enduser_id} waits for `later`"
    )
    return enduser_id


async def _has_pending(api, enduser_id: str, journey: str) -> bool:
    return await api.journey_state(enduser_id, journey) == "Started"


async def enrollment(api, enduser_id: str) -> dict:
    response = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert response.status_code == 200, response.text
    (found,) = response.json()["enrollments"]
    return found


async def test_pause_one_enrollment_then_resume_runs_the_overdue_step(api, env):
    await deployed(api)
    enduser_id = await enrolled(api)
    response = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}/pause")
    assert response.status_code == 200, response.text
    assert response.json() == {"journeyId": JOURNEY, "enduserId": enduser_id, "action": "pause"}
    paused = await api.wait_for(
        lambda: _paused(api, enduser_id), f"{enduser_id} paused in the status"
    )
    assert paused["by"] == "api-key tests"
    await env.sleep(timedelta(days=3))  # `later` fell due a day ago
    assert await api.journey_state(enduser_id, JOURNEY) == "Started"  # nothing ran
    again = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}/pause")
    assert again.status_code == 200  # idempotent
    response = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}/resume")
    assert response.status_code == 200, response.text
    await api.wait_for(
        lambda: _state(api, enduser_id, "Later"), f"{enduser_id} ran `later` on resume"
    )
    assert (await enrollment(api, enduser_id))["paused"] is None


async def _paused(api, enduser_id: str):
    return (await enrollment(api, enduser_id))["paused"]


async def _state(api, enduser_id: str, state: str) -> bool:
    return await api.journey_state(enduser_id, JOURNEY) == state


async def test_pause_a_journey_in_batches(api):
    await deployed(api)
    endusers = [await enrolled(api) for _ in range(2)]
    response = await api.http.post(f"/v1/journeys/{JOURNEY}/pause", json={"batchSize": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(endusers) <= set(body["signalled"]) and body["failed"] == []
    assert body["batches"] == len(body["signalled"]) + len(body["notRunning"])
    for enduser_id in endusers:
        await api.wait_for(lambda e=enduser_id: _paused(api, e), f"{enduser_id} paused")
    response = await api.http.post(f"/v1/journeys/{JOURNEY}/resume", json={"enduserIds": endusers})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["signalled"]) == sorted(endusers)
    for enduser_id in endusers:
        assert (await enrollment(api, enduser_id))["paused"] is None


async def test_bad_pause_requests_name_what_is_wrong_and_change_nothing(api):
    await deployed(api)
    missing = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/nobody-here/pause")
    assert missing.status_code == 404
    assert "has no running enrollment" in missing.json()["message"]
    unknown = await api.http.post("/v1/journeys/no-such-journey/pause")
    assert unknown.status_code == 404
    bad = await api.http.post(f"/v1/journeys/{JOURNEY}/pause", json={"batchSize": 0})
    assert bad.status_code == 422 and "batchSize" in bad.text
    verb = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/x/stop")
    assert verb.status_code in (404, 405, 422)


async def test_cli_pauses_and_resumes_a_journey_and_one_enduser(cli, dev, live_dev):  # noqa: F811
    await deployed(dev, "cli-pause")
    endusers = [await enrolled(dev, "cli-pause") for _ in range(2)]
    database = dev.engine_settings.database_url
    paused = cli("pause", "cli-pause", "--by", "carol", "--batch-size", "1", DATABASE_URL=database)
    assert paused.returncode == 0, paused.stderr
    assert "pause: 1/" in paused.stdout and "pause delivered to" in paused.stdout, paused.stdout
    for enduser_id in endusers:
        found = await dev.wait_for(lambda e=enduser_id: _paused(dev, e), f"{enduser_id} paused")
        assert found["by"] == "carol"
    one = cli("resume", "cli-pause", endusers[0], "--api", live_dev.url, JOURNEYS_API_KEY=dev.key)
    assert one.returncode == 0, one.stderr
    assert one.stdout == f"cli-pause: {endusers[0]} resumed\n"
    await dev.wait_for(lambda: _not_paused(dev, endusers[0]), f"{endusers[0]} resumed")
    assert (await enrollment(dev, endusers[1]))["paused"] is not None
    missing = cli("pause", "cli-pause", "nobody-here", DATABASE_URL=database)
    assert missing.returncode == 1 and "has no running enrollment" in missing.stderr


async def _not_paused(api, enduser_id: str) -> bool:
    return (await enrollment(api, enduser_id))["paused"] is None
