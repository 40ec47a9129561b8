"""Retried and concurrent enrollments act once (docs/decisions.md D15, api/idempotency.py):
`Idempotency-Key` replays the first answer; the native endpoint leaves a running enrollment as
it is unless asked to restart; concurrent requests for one patient make one start or one
restart. The app runs on the time-skipping server with a real worker; the journey's `start`
step (one per journey start) stands for its welcome message."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.api.test_enrollments import JOURNEY, ensure_deployed, rows, started

pytestmark = pytest.mark.asyncio(loop_scope="session")
PATH = f"/v1/journeys/{JOURNEY}/enrollments"


def key() -> str:
    return f"test-{uuid.uuid4().hex}"


async def settled_starts(api, enduser_id: str, expected: int) -> None:
    """Exactly `expected` journey starts, and still so a moment later (nothing late)."""
    await api.wait_for(lambda: len(rows(api, enduser_id, "start")) >= expected, "journey starts")
    await asyncio.sleep(1.0)
    assert len(rows(api, enduser_id, "start")) == expected


async def test_same_key_and_body_replay_the_first_answer(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    idempotency = {"Idempotency-Key": key()}
    body = {"enduserId": enduser_id, "restart": True}
    first = await api.http.post(PATH, json=body, headers=idempotency)
    assert first.status_code == 200, first.text
    assert first.json()["results"][0]["status"] == "started"
    assert "idempotent-replayed" not in first.headers
    await started(api, enduser_id)

    again = await api.http.post(PATH, json=body, headers=idempotency)
    assert again.status_code == 200
    assert again.json() == first.json()  # the same run, not a restart
    assert again.headers["idempotent-replayed"] == "true"

    other = await api.http.post(PATH, json={**body, "source": "crm"}, headers=idempotency)
    assert other.status_code == 422
    assert other.json()["message"] == "Idempotency-Key was used with another request body"
    assert other.json()["info"] == {"header": "Idempotency-Key"}
    await settled_starts(api, enduser_id, 1)


async def test_a_key_held_by_a_request_in_flight_answers_409(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    held = key()
    body = {"enduserId": enduser_id}
    # Another API replica holds the key (claimed, not completed): this one must not run it.
    from hashlib import sha256
    from json import dumps

    caller = sha256(f"API_KEY {api.key}".encode()).hexdigest()[:32]
    raw = dumps(body, separators=(",", ":")).encode()
    from store.db import get_engine
    from store.idempotency_keys import IdempotencyKeys

    keys = IdempotencyKeys(get_engine(api.store_url))
    assert keys.begin(f"{caller}:POST:{PATH}", held, sha256(raw).hexdigest()).outcome == "new"
    response = await api.http.post(
        PATH, content=raw, headers={"Idempotency-Key": held, "Content-Type": "application/json"}
    )
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1"
    assert rows(api, enduser_id) == []


async def test_bad_keys_are_refused_before_anything_runs(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    for bad in ("", "has space", "x" * 256):
        response = await api.http.post(
            PATH, json={"enduserId": enduser_id}, headers={"Idempotency-Key": bad}
        )
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["info"] == {"header": "Idempotency-Key"}
    await asyncio.sleep(0.5)
    assert rows(api, enduser_id) == []


async def test_already_enrolled_is_kept_and_named(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    first = (await api.http.post(PATH, json={"enduserId": enduser_id})).json()["results"][0]
    await started(api, enduser_id)
    again = (await api.http.post(PATH, json={"enduserId": enduser_id})).json()["results"][0]
    assert again["status"] == "alreadyEnrolled"
    assert again["runId"] == first["runId"]
    await settled_starts(api, enduser_id, 1)


async def test_concurrent_enrollments_of_one_patient_start_once(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    answers = await asyncio.gather(
        *(api.http.post(PATH, json={"enduserId": enduser_id}) for _ in range(20))
    )
    results = [a.json()["results"][0] for a in answers]
    assert sorted(r["status"] for r in results) == ["alreadyEnrolled"] * 19 + ["started"]
    assert len({r["runId"] for r in results}) == 1  # every answer names the one run
    await settled_starts(api, enduser_id, 1)


async def test_concurrent_restarts_of_one_patient_restart_once(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    first = await api.http.post(PATH, json={"enduserId": enduser_id})
    first_run = first.json()["results"][0]["runId"]
    await started(api, enduser_id)
    answers = await asyncio.gather(
        *(api.http.post(PATH, json={"enduserId": enduser_id, "restart": True}) for _ in range(20))
    )
    results = [a.json()["results"][0] for a in answers]
    assert {r["status"] for r in results} <= {"restarted", "started"}
    restarted = [r for r in results if r["status"] == "restarted"]
    assert all(r["runId"] is None and r["restartedRunId"] for r in restarted)
    await settled_starts(api, enduser_id, 2)  # the first start and one restart

    # A request that found the first run but whose signal arrives only now, after the journey
    # restarted: already satisfied, ignored. One that found the current run restarts it.
    from models.runtime import RestartRequest
    from workflows.journey import JourneyWorkflow

    handle = api.client.get_workflow_handle(f"journey:{JOURNEY}:{enduser_id}")
    await handle.signal(JourneyWorkflow.restart, RestartRequest(seenRunId=first_run))
    await settled_starts(api, enduser_id, 2)
    current = (await handle.describe()).run_id
    await handle.signal(JourneyWorkflow.restart, RestartRequest(seenRunId=current))
    await settled_starts(api, enduser_id, 3)


async def test_journey_context_is_bounded(api):
    await ensure_deployed(api)
    enduser_id = api.new_enduser()
    for context, path in (
        ({"formResponseId": "not-an-object-id"}, "journeyContext.formResponseId"),
        ({"publicIdentifier": "x" * 257}, "journeyContext.publicIdentifier"),
        ({"unknownField": "1"}, "journeyContext.unknownField"),
    ):
        response = await api.http.post(
            PATH, json={"enduserId": enduser_id, "journeyContext": context}
        )
        assert response.status_code == 422, response.text
        assert response.json()["info"]["path"] == path
    await asyncio.sleep(0.5)
    assert rows(api, enduser_id) == []
