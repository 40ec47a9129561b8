"""Tellescope-compatible endpoints, called as Tellescope's SDK calls them."""

from __future__ import annotations

import json

import pytest

from models.automated_action import AutomatedAction
from models.plan import tellescope_id
from models.runtime import enrollment_workflow_id
from tests.api.conftest import journey_yaml
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLAIN = "compat-plain"
REMOVING = "compat-removing"


async def ensure_deployed(api) -> None:
    if PLAIN not in api.journeys:
        await api.deploy(
            {
                f"{PLAIN}.yaml": journey_yaml(PLAIN, "Compat plain"),
                f"{REMOVING}.yaml": journey_yaml(
                    REMOVING, "Compat removing", remove_on_incoming=True
                ),
            }
        )


def rows(api, enduser_id: str, journey: str, step: str | None = None):
    return [
        r
        for r in api.ledger.query(where={"enduser_id": enduser_id, "journey_id": journey})
        if step is None or r.automation_step_id == step
    ]


async def state(api, enduser_id: str, journey: str):
    return await api.journey_state(enduser_id, journey)


async def add(api, enduser_ids, journey_ref, **extra):
    return await api.http.post(
        "/v1/add-endusers-to-journey",
        json={"enduserIds": enduser_ids, "journeyId": journey_ref, **extra},
    )


async def test_add_by_tellescope_journey_id_and_remove(api):
    await ensure_deployed(api)
    record_id = api.journeys[PLAIN]
    endusers = [api.new_enduser() for _ in range(2)]
    response = await add(
        api, endusers, record_id, journeyContext={"calendarEventId": "64f0000000000000000000c1"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["journeyId"] == record_id
    for enduser_id in endusers:
        await api.wait_for(lambda e=enduser_id: _equals(api, e, PLAIN, "Started"), "Started")
    response = await api.http.post(
        "/v1/remove-endusers-from-journey",
        json={"enduserIds": [endusers[0], api.new_enduser()], "journeyId": PLAIN},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["removed"] == [endusers[0]] and len(body["notEnrolled"]) == 1
    await api.wait_for(
        lambda: any(r.status == "cancelled" for r in rows(api, endusers[0], PLAIN)),
        "cancelled",
    )
    [later] = rows(api, endusers[0], PLAIN, "later")
    assert later.cancel_reason == 0
    assert [r.status for r in rows(api, endusers[1], PLAIN, "later")] == ["active"]


async def _equals(api, enduser_id, journey, expected) -> bool:
    return await state(api, enduser_id, journey) == expected


async def test_add_validations(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    response = await add(api, [f"e{i}" for i in range(1001)], PLAIN)
    assert response.status_code == 422 and response.json()["info"]["path"] == "enduserIds"
    response = await add(api, [enduser_id], PLAIN, startAt="next tuesday")
    assert response.status_code == 422 and response.json()["info"]["path"] == "startAt"
    response = await add(api, [enduser_id], PLAIN, enduserStartTimes={enduser_id: 5})
    assert response.json()["info"]["path"] == f"enduserStartTimes.{enduser_id}"
    response = await add(api, [enduser_id], "64f00000000000000000dead")
    assert response.status_code == 404
    response = await add(api, [enduser_id], PLAIN, automationStepId="64f00000000000000000dead")
    assert response.status_code == 422
    assert rows(api, enduser_id, PLAIN) == []


async def test_throttle_refuses_an_immediate_re_add(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    assert (await add(api, [enduser_id], PLAIN, throttle=True)).status_code == 200
    await api.wait_for(lambda: _equals(api, enduser_id, PLAIN, "Started"), "Started")
    response = await add(api, [enduser_id], PLAIN, throttle=True)
    assert response.status_code == 409
    assert response.json()["info"] == {"enduserIds": [enduser_id]}
    assert len(rows(api, enduser_id, PLAIN, "start")) == 1  # not restarted


async def test_incoming_communication_removes_only_where_the_journey_says_so(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    for journey in (PLAIN, REMOVING):
        assert (await add(api, [enduser_id], journey)).status_code == 200
        await api.wait_for(lambda j=journey: _equals(api, enduser_id, j, "Started"), journey)
    response = await api.http.post(
        "/v1/journeys/handle-incoming-communication",
        json={"enduserId": enduser_id, "channel": "SMS", "messageId": "m1"},
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["signalled"]) == sorted([PLAIN, REMOVING])
    await api.wait_for(
        lambda: any(r.status == "cancelled" for r in rows(api, enduser_id, REMOVING)),
        "removal",
    )
    [later] = rows(api, enduser_id, REMOVING, "later")
    assert later.cancel_reason == 3  # Incoming Communication
    assert [r.status for r in rows(api, enduser_id, PLAIN, "later")] == ["active"]
    # The ledger shows the cancellation before the removed run has ended; the listing shows
    # running enrollments, so wait for that run's end.
    removed = await api.client.get_workflow_handle_for(
        JourneyWorkflow.run, enrollment_workflow_id(REMOVING, enduser_id)
    ).result()
    assert removed.outcome == "removed"
    journeys = (await api.http.get(f"/v1/endusers/{enduser_id}/journeys")).json()
    assert [e["journeyId"] for e in journeys["enrollments"]] == [PLAIN]

    response = await api.http.post(
        "/v1/journeys/handle-incoming-communication",
        json={"enduserId": "64f0000000000000000abcde"},
    )
    assert response.status_code == 404


async def test_statistics_count_actions_per_step(api):
    await ensure_deployed(api)
    record_id = api.journeys[REMOVING]
    before = (
        await api.http.get("/v1/journeys/statistics", params={"journeyId": record_id})
    ).json()["statistics"]
    start_id = tellescope_id(REMOVING, "start")
    later_id = tellescope_id(REMOVING, "later")
    assert before["stepNames"][start_id] == "start"
    enduser_id = api.new_enduser()
    await add(api, [enduser_id], REMOVING)
    await api.wait_for(lambda: len(rows(api, enduser_id, REMOVING)) == 2, "two actions")
    await api.wait_for(
        lambda: {r.status for r in rows(api, enduser_id, REMOVING)} == {"finished", "active"},
        "start finished, later active",
    )
    after = (await api.http.get("/v1/journeys/statistics", params={"journeyId": REMOVING})).json()[
        "statistics"
    ]
    steps, old = after["steps"], before["steps"]
    assert steps[start_id]["count"] == old[start_id]["count"] + 1
    assert steps[start_id]["finishedCount"] == old[start_id]["finishedCount"] + 1
    assert steps[later_id]["activeCount"] == old[later_id]["activeCount"] + 1
    assert set(steps[later_id]) >= {
        "count",
        "activeCount",
        "finishedCount",
        "errorCount",
        "cancelledCount",
    }


async def test_automated_actions_listing_as_the_sdk_sends_it(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    await add(api, [enduser_id], PLAIN)
    await api.wait_for(lambda: len(rows(api, enduser_id, PLAIN)) == 2, "two actions")
    params = {"filter": json.dumps({"enduserId": enduser_id}), "limit": 1}
    first = await api.http.get("/v1/automated-actions", params=params)
    assert first.status_code == 200, first.text
    [newest] = first.json()
    second = await api.http.get("/v1/automated-actions", params={**params, "lastId": newest["id"]})
    [older] = second.json()
    assert {newest["automationStepId"], older["automationStepId"]} == {
        tellescope_id(PLAIN, "start"),
        tellescope_id(PLAIN, "later"),
    }
    for record in (newest, older):
        AutomatedAction.model_validate(record)  # Tellescope's shape, field for field
        assert record["journeyId"] == api.journeys[PLAIN]
    later = next(
        r for r in (newest, older) if r["automationStepId"] == tellescope_id(PLAIN, "later")
    )
    assert later["event"]["info"]["automationStepId"] == tellescope_id(PLAIN, "start")
    assert later["status"] == "active"

    by_status = await api.http.get(
        "/v1/automated-actions",
        params={
            "filter": json.dumps(
                {"enduserId": enduser_id, "status": {"_in": ["finished"]}, "journeyId": PLAIN}
            )
        },
    )
    assert [r["automationStepId"] for r in by_status.json()] == [tellescope_id(PLAIN, "start")]
    one = await api.http.get(f"/v1/automated-action/{later['id']}")
    assert one.json() == later

    for params, status in [
        ({"filter": "{not json"}, 400),
        ({"filter": "[1]"}, 422),
        ({"filter": json.dumps({"secret": 1})}, 422),
        ({"filter": json.dumps({"status": "done"})}, 422),
        ({"lastId": "f" * 24}, 400),
        ({"sort": "sideways"}, 422),
        ({"from": "yesterday"}, 422),
    ]:
        response = await api.http.get("/v1/automated-actions", params=params)
        assert response.status_code == status, (params, response.text)
        assert set(response.json()) == {"message", "code", "info"}


async def test_trigger_events_validate_everything_before_firing(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    unknown_trigger = {"automationTriggerId": "no-such-trigger", "enduserId": enduser_id}
    add_inline = {
        "automationTriggerId": "placeholder",
        "enduserId": enduser_id,
        "action": {"type": "Add To Journey", "info": {"journeyId": PLAIN}},
    }
    response = await api.http.post(
        "/v1/automation-triggers/trigger-events", json={"triggers": [add_inline, unknown_trigger]}
    )
    assert response.status_code == 404
    assert response.json()["info"]["path"] == "triggers[1].automationTriggerId"
    bad_action = {**add_inline, "action": {"type": "Add To Journey", "info": {}}}
    response = await api.http.post(
        "/v1/automation-triggers/trigger-events", json={"triggers": [add_inline, bad_action]}
    )
    assert response.status_code == 422
    assert response.json()["info"]["path"] == "triggers[1].action.Add To Journey.info.journeyId"
    unknown_enduser = {**add_inline, "enduserId": "64f0000000000000000abcde"}
    response = await api.http.post(
        "/v1/automation-triggers/trigger-events", json={"triggers": [add_inline, unknown_enduser]}
    )
    assert response.status_code == 404
    assert rows(api, enduser_id, PLAIN) == []  # nothing fired


async def test_trigger_events_fire_an_inline_action(api):
    """Into the trigger engine (triggers/): Add To Journey enrolls."""
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    item = {
        "automationTriggerId": "placeholder",
        "enduserId": enduser_id,
        "action": {"type": "Add To Journey", "info": {"journeyId": PLAIN}},
        "journeyContext": {"formResponseId": "64f00000000000000000f0f1"},
    }
    response = await api.http.post(
        "/v1/automation-triggers/trigger-events", json={"triggers": [item]}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 1
    await api.wait_for(lambda: _equals(api, enduser_id, PLAIN, "Started"), "enrolled by trigger")
