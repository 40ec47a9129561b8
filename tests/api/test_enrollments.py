"""Enrollment endpoints end to end: the API starts JourneyWorkflow on Temporal (time-skipping
test server, real worker), whose activities act on the sandbox over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = "enroll-journey"


async def ensure_deployed(api) -> None:
    if JOURNEY not in api.journeys:
        await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Enrollment journey")})


async def enroll(api, body: dict, journey: str = JOURNEY):
    response = await api.http.post(f"/v1/journeys/{journey}/enrollments", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def started(api, enduser_id: str, journey: str = JOURNEY) -> None:
    await api.wait_for(
        lambda: _state_is(api, enduser_id, journey, "Started"), f"{enduser_id} Started"
    )


async def _state_is(api, enduser_id: str, journey: str, state: str) -> bool:
    return await api.journey_state(enduser_id, journey) == state


def rows(api, enduser_id: str, step: str | None = None):
    return [
        r
        for r in api.ledger.query(where={"enduser_id": enduser_id}, limit=1000)
        if step is None or r.automation_step_id == step
    ]


async def test_enroll_one_runs_the_journey_and_shows_pending_steps(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    body = await enroll(
        api,
        {"enduserId": enduser_id, "journeyContext": {"formResponseId": "64f0000000000000000000f1"}},
    )
    current = api.plans.current(JOURNEY)
    assert body["journeyId"] == JOURNEY
    assert body["version"] == current.version
    assert body["tellescopeJourneyId"] == api.journeys[JOURNEY]
    [result] = body["results"]
    assert result["enduserId"] == enduser_id
    assert result["workflowId"] == f"journey:{JOURNEY}:{enduser_id}"
    assert result["runId"]
    await started(api, enduser_id)

    response = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert response.status_code == 200, response.text
    [enrollment] = response.json()["enrollments"]
    assert enrollment["journeyId"] == JOURNEY
    assert enrollment["planVersion"] == current.version
    assert enrollment["state"] == "Started"
    [pending] = enrollment["pending"]
    assert (pending["stepId"], pending["eventType"]) == ("later", "afterAction")
    [start] = rows(api, enduser_id, "start")
    due = datetime.fromisoformat(pending["dueAt"])
    finished = start.updated_at
    assert timedelta(days=2) - timedelta(minutes=1) < due - finished < timedelta(days=2, minutes=1)
    assert start.journey_context == {"formResponseId": "64f0000000000000000000f1"}


async def test_restart_flag(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    await enroll(api, {"enduserId": enduser_id})
    await started(api, enduser_id)
    again = await enroll(api, {"enduserId": enduser_id, "restart": False})
    assert again["results"][0]["status"] == "alreadyEnrolled"
    assert len(rows(api, enduser_id, "start")) == 1

    await enroll(api, {"enduserId": enduser_id, "restart": True})
    await api.wait_for(lambda: len(rows(api, enduser_id, "start")) == 2, "second start")
    await api.wait_for(
        lambda: any(r.status == "cancelled" for r in rows(api, enduser_id, "later")),
        "first run's pending step cancelled",
    )
    cancelled = [r for r in rows(api, enduser_id, "later") if r.status == "cancelled"]
    assert [r.cancel_reason for r in cancelled] == [1]  # Restarted in Journey


async def test_bulk_enroll_and_start_at_step(api):
    await ensure_deployed(api)
    endusers = [api.new_enduser() for _ in range(3)]
    body = await enroll(api, {"enduserIds": endusers + endusers[:1], "automationStepId": "later"})
    assert [r["enduserId"] for r in body["results"]] == endusers  # duplicates once
    assert sum(body["counts"].values()) == 3
    for enduser_id in endusers:  # started at `later`: runs now, `start` never runs
        await api.wait_for(
            lambda e=enduser_id: _state_is(api, e, JOURNEY, "Later"), f"{enduser_id} Later"
        )
        assert rows(api, enduser_id, "start") == []


async def test_start_step_may_be_the_tellescope_step_id(api):
    await ensure_deployed(api)
    plan = api.plans.get(JOURNEY, api.plans.current(JOURNEY).version)
    enduser_id = api.new_enduser()
    await enroll(
        api, {"enduserId": enduser_id, "automationStepId": plan.tellescopeStepIds["later"]}
    )
    await api.wait_for(lambda: _state_is(api, enduser_id, JOURNEY, "Later"), "Later")


async def test_bad_requests_change_nothing(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    for body, status, path in [
        ({"enduserId": enduser_id, "automationStepId": "nope"}, 422, "automationStepId"),
        ({"enduserId": enduser_id, "enduserIds": [enduser_id]}, 422, ""),
        ({}, 422, ""),
        ({"enduserIds": []}, 422, "enduserIds"),
        ({"enduserIds": [f"e{i}" for i in range(1001)]}, 422, "enduserIds"),
        ({"enduserId": enduser_id, "restart": "sometimes"}, 422, "restart"),
    ]:
        response = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["info"].get("path", "") == path, response.json()
    assert rows(api, enduser_id) == []
    assert (api.enduser(enduser_id).get("journeys") or {}) == {}


async def test_remove_cancels_pending_steps_and_leaves_the_journey(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    await enroll(api, {"enduserId": enduser_id})
    await started(api, enduser_id)
    response = await api.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}")
    assert response.status_code == 200, response.text
    assert response.json() == {"journeyId": JOURNEY, "enduserId": enduser_id, "removed": True}
    await api.wait_for(
        lambda: JOURNEY not in _keys(api, enduser_id), "membership removed in Tellescope"
    )
    [later] = rows(api, enduser_id, "later")
    assert (later.status, later.cancel_reason) == ("cancelled", 0)  # Removed by User

    async def listed() -> dict:
        return (await api.http.get(f"/v1/endusers/{enduser_id}/journeys")).json()

    # The membership is written inside the run's last workflow task, just before it completes.
    empty = {"enduserId": enduser_id, "enrollments": [], "nextOffset": None}
    await api.wait_for(lambda: _equals(listed(), empty), "the run completed")
    response = await api.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}")
    assert response.status_code == 404


async def _equals(value, expected) -> bool:
    return await value == expected


def _keys(api, enduser_id: str) -> set[str]:
    records = set(api.enduser(enduser_id).get("journeys") or {})
    return {j for j, record in api.journeys.items() if record in records}


async def test_enduser_journeys_of_unknown_enduser_is_404(api):
    response = await api.http.get("/v1/endusers/64f0000000000000000eeeee/journeys")
    assert response.status_code == 404
    assert response.json()["info"] == {"enduserIds": ["64f0000000000000000eeeee"]}
