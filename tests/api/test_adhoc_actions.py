"""AutomatedActions created directly through the API (docs/semantics.md §6.2, docs/decisions.md
D22): stored, run once when `processAfter` is due (virtual time), cancellable while waiting."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from models.automated_action import AutomatedAction
from rules.dates import epoch_ms
from workflows.adhoc import AdHocActionWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

SENDER = "64f000000000000000000a01"
TEMPLATE = "64f000000000000000000b07"
PLACEHOLDER = "000000000000000000000000"  # Tellescope's tests use PLACEHOLDER_ID


def sms_body(enduser_id: str, process_after: int, **extra) -> dict:
    return {
        "enduserId": enduser_id,
        "journeyId": PLACEHOLDER,
        "automationStepId": PLACEHOLDER,
        "event": {"type": "onJourneyStart", "info": {}},
        "action": {"type": "sendSMS", "info": {"senderId": SENDER, "templateId": TEMPLATE}},
        "status": "active",
        "processAfter": process_after,
        **extra,
    }


def texts(api, enduser_id: str) -> list[dict]:
    response = api.sandbox_http.get(
        "/v1/sms-messages", params={"filter": json.dumps({"enduserId": enduser_id})}
    )
    assert response.status_code == 200, response.text
    return response.json()


def patient(api) -> str:
    return api.new_enduser(phone="+15555550199", phoneConsent=True)


async def in_an_hour(env) -> int:
    return epoch_ms(await env.get_current_time() + timedelta(hours=1))


async def replays(api, action_id: str) -> None:
    """The finished run's history replays on the workflow code (it is deterministic)."""
    history = await api.client.get_workflow_handle(f"automated-action:{action_id}").fetch_history()
    replayer = Replayer(workflows=[AdHocActionWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def status_of(api, action_id: str) -> str:
    response = await api.http.get(f"/v1/automated-action/{action_id}")
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def test_an_sms_waits_for_process_after_then_is_sent_once(api, env):
    enduser_id = patient(api)
    action_id = secrets.token_hex(12)
    body = sms_body(enduser_id, await in_an_hour(env), id=action_id)
    created = await api.http.post("/v1/automated-action", json=body)
    assert created.status_code == 200, created.text
    record = created.json()
    AutomatedAction.model_validate(record)  # Tellescope's shape
    assert record["id"] == action_id and record["status"] == "active"
    assert record["journeyId"] == PLACEHOLDER and record["automationStepId"] == PLACEHOLDER
    assert record["event"] == body["event"] and record["action"] == body["action"]
    # a retried create (same id) answers the same record and starts nothing new
    again = await api.http.post("/v1/automated-action", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == action_id
    # and so does the SDK's bulk create
    bulk = await api.http.post("/v1/automated-actions", json={"create": [body]})
    assert bulk.status_code == 200, bulk.text
    assert [r["id"] for r in bulk.json()["created"]] == [action_id]
    # the same id for another enduser is refused, in bulk as alone
    clash = {**body, "enduserId": patient(api)}
    assert (await api.http.post("/v1/automated-action", json=clash)).status_code == 409
    bulk = await api.http.post("/v1/automated-actions", json={"create": [clash]})
    assert bulk.status_code == 200 and bulk.json()["created"] == [], bulk.text
    assert [e["index"] for e in bulk.json()["errors"]] == [0]

    await env.sleep(timedelta(minutes=50))
    assert texts(api, enduser_id) == []
    assert await status_of(api, action_id) == "active"

    await env.sleep(timedelta(minutes=11))
    await api.wait_for(lambda: texts(api, enduser_id), "the SMS")

    async def finished() -> bool:
        return await status_of(api, action_id) == "finished"

    await api.wait_for(finished, "the action finished")
    assert len(texts(api, enduser_id)) == 1
    (row,) = api.ledger.query(where={"id": action_id})
    assert row.workflow_id == f"automated-action:{action_id}"
    # created again after it ran: still one SMS
    late = await api.http.post("/v1/automated-action", json=body)
    assert late.status_code == 200 and late.json()["status"] == "finished", late.text
    await env.sleep(timedelta(minutes=5))
    assert len(texts(api, enduser_id)) == 1
    await replays(api, action_id)


async def test_an_idempotency_key_retry_creates_one_action(api, env):
    enduser_id = patient(api)
    body = sms_body(enduser_id, 0)
    headers = {"Idempotency-Key": f"adhoc-{secrets.token_hex(6)}"}
    first = await api.http.post("/v1/automated-action", json=body, headers=headers)
    second = await api.http.post("/v1/automated-action", json=body, headers=headers)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
    await api.wait_for(lambda: texts(api, enduser_id), "the SMS (processAfter 0: at once)")

    async def finished() -> bool:
        return await status_of(api, first.json()["id"]) == "finished"

    await api.wait_for(finished, "the action finished")
    assert len(texts(api, enduser_id)) == 1
    assert len(api.ledger.query(where={"enduser_id": enduser_id})) == 1


async def test_a_cancelled_action_never_sends(api, env):
    enduser_id = patient(api)
    created = await api.http.post(
        "/v1/automated-action", json=sms_body(enduser_id, await in_an_hour(env))
    )
    assert created.status_code == 200, created.text
    action_id = created.json()["id"]
    cancelled = await api.http.patch(
        f"/v1/automated-action/{action_id}",
        json={"updates": {"status": "cancelled", "cancelReason": 0}},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelReason"] == 0
    await env.sleep(timedelta(hours=2))
    assert texts(api, enduser_id) == []
    assert await status_of(api, action_id) == "cancelled"
    await replays(api, action_id)
    # cancelling again (PATCH or DELETE) answers the cancelled record
    for response in (
        await api.http.delete(f"/v1/automated-action/{action_id}"),
        await api.http.patch(f"/v1/automated-action/{action_id}", json={"status": "cancelled"}),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"

    # DELETE cancels a waiting one too
    other = await api.http.post(
        "/v1/automated-action", json=sms_body(enduser_id, await in_an_hour(env))
    )
    deleted = await api.http.delete(f"/v1/automated-action/{other.json()['id']}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "cancelled", deleted.text
    await env.sleep(timedelta(hours=2))
    assert texts(api, enduser_id) == []


async def test_bad_bodies_are_refused_naming_the_field(api):
    enduser_id = "64f0000000000000000000ee"
    good = sms_body(enduser_id, 0)
    cases = [
        ({**good, "action": {"type": "sendSMS", "info": {"senderId": SENDER}}}, "templateId"),
        ({**good, "action": {"type": "sendSMSS", "info": {}}}, "action"),
        ({**good, "processAfter": -1}, "processAfter"),
        ({k: v for k, v in good.items() if k != "enduserId"}, "enduserId"),
        ({**good, "status": "done"}, "status"),
        ({**good, "action": {"type": "addToJourney", "info": {"journeyId": "x"}}}, "action.type"),
        ({**good, "id": "not an id!"}, "id"),
    ]
    for body, field in cases:
        response = await api.http.post("/v1/automated-action", json=body)
        assert response.status_code == 422, (field, response.text)
        error = response.json()
        assert field in error["info"]["path"] and field in error["message"], (field, error)
    bulk = await api.http.post(
        "/v1/automated-actions",
        json={"create": [good, {**good, "processAfter": "soon"}]},
    )
    assert bulk.status_code == 422, bulk.text
    assert bulk.json()["info"]["path"] == "create[1].processAfter"
    assert api.ledger.query(where={"enduser_id": enduser_id}) == []  # nothing stored
    for body in ({"updates": {"status": "finished"}}, {"processAfter": 5}):
        response = await api.http.patch("/v1/automated-action/nope", json=body)
        assert response.status_code == 422, response.text
    missing = await api.http.patch("/v1/automated-action/nope", json={"status": "cancelled"})
    assert missing.status_code == 404, missing.text
    unknown = await api.http.post("/v1/automated-action", json=good)  # no such enduser
    assert unknown.status_code == 404, unknown.text
    assert api.ledger.query(where={"enduser_id": enduser_id}) == []


async def test_set_enduser_status_on_a_journey_the_engine_does_not_know(api):
    """Tellescope's own test of a single action (docs/semantics.md §6.2), on a journey record
    that exists in Tellescope (the sandbox checks `journeys` keys) but is not deployed here."""
    enduser_id = api.new_enduser()
    journey = api.sandbox_http.post("/v1/journey", json={"title": f"adhoc {secrets.token_hex(4)}"})
    assert journey.status_code == 200, journey.text
    journey_id = journey.json()["id"]
    body = {
        **sms_body(enduser_id, 0),
        "journeyId": journey_id,
        "action": {"type": "setEnduserStatus", "info": {"status": "Working"}},
    }
    created = await api.http.post("/v1/automated-action", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "active"  # answered as created
    action_id = created.json()["id"]

    async def finished() -> bool:
        return await status_of(api, action_id) == "finished"

    await api.wait_for(finished, "the action finished")
    assert (api.enduser(enduser_id).get("journeys") or {}).get(journey_id) == "Working"
    assert created.json()["journeyId"] == journey_id


async def test_a_failing_action_ends_in_error_with_the_message(api):
    enduser_id = patient(api)
    body = sms_body(enduser_id, 0)
    body["action"]["info"]["templateId"] = "64f0000000000000000000ff"  # no such template
    created = await api.http.post("/v1/automated-action", json=body)
    assert created.status_code == 200, created.text
    action_id = created.json()["id"]

    async def failed() -> dict | None:
        response = await api.http.get(f"/v1/automated-action/{action_id}")
        record = response.json()
        return record if record["status"] == "error" else None

    record = await api.wait_for(failed, "the action failed", timeout=30)
    assert record["errorMessage"]
    handle = api.client.get_workflow_handle(f"automated-action:{action_id}")

    async def completed() -> bool:  # its BackgroundError reported: nothing left running
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await api.wait_for(completed, "the workflow completed", timeout=30)
    errors = api.sandbox_http.get(
        "/v1/background-errors", params={"filter": json.dumps({"enduserId": enduser_id})}
    )
    assert errors.status_code == 200 and len(errors.json()) == 1, errors.text
    assert texts(api, enduser_id) == []
    # a failed action cannot be cancelled
    refused = await api.http.patch(
        f"/v1/automated-action/{action_id}", json={"status": "cancelled"}
    )
    assert refused.status_code == 409, refused.text
