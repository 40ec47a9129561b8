"""A journey's life: deleting it (API, CLI, Tellescope's webhook; docs/semantics.md §2.2),
membership written before add-endusers-to-journey answers (docs/semantics.md §12.1), enrollment
by writing `enduser.journeys` (docs/semantics.md §3.2), and scheduled starts."""

from __future__ import annotations

import asyncio
import contextvars
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.service import RPCError, RPCStatusCode

from models.automated_action import CancelReason
from models.runtime import RemoveRequest
from tests.api.conftest import harness, journey_yaml, worker_for
from triggers.dispatch import TriggerDeps
from triggers.intake import DELETED_IN_TELLESCOPE, process_webhook
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def with_trigger(journey_id: str, tag: str) -> str:
    """journey_yaml plus a trigger adding endusers tagged `tag` to the journey."""
    return journey_yaml(journey_id, f"Lifecycle {journey_id}") + textwrap.dedent(
        f"""
        triggers:
          - id: {journey_id}-on-tag
            title: Add on tag {tag}
            status: Active
            event: {{type: Tag Added, info: {{tag: {tag}}}}}
            action: {{type: Add To Journey, info: {{journeyId: {journey_id}}}}}
        """
    )


def deps(api) -> TriggerDeps:
    return TriggerDeps(
        client=api.client,
        plans=api.plans,
        ledger=api.ledger,
        task_queue=api.task_queue,
        tellescope=api.tellescope,
    )


def tag_added(enduser_id: str, tag: str) -> dict:
    """An endusers update webhook saying `tag` was added (the intake reads the record back)."""
    return {
        "model": "endusers",
        "type": "update",
        "records": [{"id": enduser_id}],
        "timestamp": str(int(time.time() * 1000)),
        "updates": [{"recordBeforeUpdate": {"id": enduser_id, "tags": []}, "update": {}}],
    }


async def enroll(api, journey_id: str, enduser_id: str) -> None:
    response = await api.http.post(
        f"/v1/journeys/{journey_id}/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 200, response.text


async def pending_later(api, enduser_id: str, journey_id: str):
    def found():
        rows = api.ledger.query(where={"enduser_id": enduser_id}, limit=100)
        return [r for r in rows if r.journey_id == journey_id and r.automation_step_id == "later"]

    return (await api.wait_for(found, "pending step `later`"))[0]


def later_row(api, enduser_id: str, journey_id: str):
    rows = api.ledger.query(where={"enduser_id": enduser_id}, limit=100)
    [row] = [r for r in rows if r.journey_id == journey_id and r.automation_step_id == "later"]
    return row


async def two_journeys(api, tag: str) -> tuple[str, str, str]:
    """A journey with a trigger, another one, and an enduser enrolled in both (`later` pending)."""
    doomed, kept = unique("doomed"), unique("kept")
    await api.deploy(
        {f"{doomed}.yaml": with_trigger(doomed, tag), f"{kept}.yaml": journey_yaml(kept, kept)}
    )
    enduser_id = api.new_enduser()
    await enroll(api, doomed, enduser_id)
    await enroll(api, kept, enduser_id)
    await pending_later(api, enduser_id, doomed)
    await pending_later(api, enduser_id, kept)
    return doomed, kept, enduser_id


async def assert_deleted(api, doomed: str, kept: str, enduser_id: str, by: str, tag: str):
    """The pending action is cancelled with reason 5, journeys[doomed] is unset (kept stays),
    the journey no longer resolves and its trigger no longer fires."""
    await api.wait_for(
        lambda: later_row(api, enduser_id, doomed).status == "cancelled", "later cancelled"
    )
    row = later_row(api, enduser_id, doomed)
    assert row.cancel_reason == int(CancelReason.JOURNEY_DELETED)
    assert row.cancelled_by == by
    await api.wait_for(
        lambda: api.journeys[doomed] not in (api.enduser(enduser_id).get("journeys") or {}),
        "journeys[doomed] unset",
    )
    assert api.journeys[kept] in api.enduser(enduser_id)["journeys"]
    assert later_row(api, enduser_id, kept).status == "active"
    response = await api.http.post(
        f"/v1/journeys/{doomed}/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 404
    [event] = [e for e in api.plans.events(doomed) if e.kind == "delete"]
    assert event.by == by
    # the trigger no longer fires: the tag is added, the webhook says so, nothing starts
    patched = api.sandbox_http.patch(f"/v1/enduser/{enduser_id}", json={"updates": {"tags": [tag]}})
    assert patched.status_code == 200, patched.text
    report = await process_webhook(tag_added(enduser_id, tag), deps(api))
    assert "Tag Added" in [d.eventType for d in report.dispatched]
    assert [f for d in report.dispatched for f in d.firings] == []
    decided = [
        x.triggerId for d in report.dispatched if d.evaluation for x in d.evaluation.decisions
    ]
    assert f"{doomed}-on-tag" not in decided
    assert not any(t.trigger.id == f"{doomed}-on-tag" for t in _active(api))


def _active(api):
    from triggers.active import active_triggers

    return active_triggers(api.plans)


async def test_delete_journey_through_the_api(api):
    tag = unique("tag")
    doomed, kept, enduser_id = await two_journeys(api, tag)
    record_id = api.journeys[doomed]
    response = await api.http.delete(f"/v1/journeys/{record_id}")  # the Tellescope id works too
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["journeyId"] == doomed and body["tellescopeJourneyId"] == record_id
    assert body["removed"] == [enduser_id]
    assert body["tellescope"] == "deleted"
    by = "api-key tests"
    await assert_deleted(api, doomed, kept, enduser_id, by, tag)
    assert api.sandbox_http.get(f"/v1/journey/{record_id}").status_code == 404
    # idempotent: a second delete finds nothing
    response = await api.http.delete(f"/v1/journeys/{doomed}")
    assert response.status_code == 404
    assert len([e for e in api.plans.events(doomed) if e.kind == "delete"]) == 1
    # deploying it again brings it back
    await api.deploy({f"{doomed}.yaml": with_trigger(doomed, tag)})
    await enroll(api, doomed, enduser_id)


async def test_tellescope_journey_deleted_webhook_deletes_the_journey(api):
    tag = unique("tag")
    doomed, kept, enduser_id = await two_journeys(api, tag)
    record_id = api.journeys[doomed]
    payload = {
        "model": "journeys",
        "type": "delete",
        "records": [{"id": record_id}],
        "timestamp": str(int(time.time() * 1000)),
    }
    # not yet deleted in Tellescope: the delivery is not taken as fact
    report = await process_webhook(payload, deps(api))
    assert report.deletedJourneys == [] and "still in Tellescope" in report.ignored[0].reason
    assert api.plans.resolve(doomed).journey_id == doomed
    assert api.sandbox_http.delete(f"/v1/journey/{record_id}").status_code in (200, 204)
    report = await process_webhook(payload, deps(api))
    assert report.deletedJourneys == [doomed]
    await assert_deleted(api, doomed, kept, enduser_id, DELETED_IN_TELLESCOPE, tag)
    # redelivered: the id is no deployed journey's any more
    report = await process_webhook(payload, deps(api))
    assert report.deletedJourneys == [] and "not the Tellescope record" in report.ignored[0].reason


async def test_journeys_webhook_for_an_unknown_id_is_ignored(api):
    payload = {
        "model": "journeys",
        "type": "delete",
        "records": [{"id": "64f0000000000000000000aa"}],
        "timestamp": str(int(time.time() * 1000)),
    }
    report = await process_webhook(payload, deps(api))
    assert report.deletedJourneys == [] and len(report.ignored) == 1


# --- membership written before the add answers --------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def idle(env, tellescope, sandbox_http, tmp_path_factory):
    """An app whose task queue no worker polls: enrollments start and never run, so whatever
    Tellescope holds right after an add was written by the API itself. Each test ends the
    enrollments it started (`terminate`)."""
    async with harness(env.client, tellescope, sandbox_http, tmp_path_factory.mktemp("idle")) as h:
        journey = unique("member")
        await h.deploy({f"{journey}.yaml": journey_yaml(journey, journey)})
        h.journeys["member"] = h.journeys[journey]
        h.member = journey  # type: ignore[attr-defined]
        yield h


async def terminate(api, response) -> None:
    """A worker runs the enrollments, which are then removed and awaited (a workflow task
    nobody took, even of a terminated workflow, holds the test server's time skipping)."""
    async with worker_for(api):
        for result in response.json()["results"]:
            handle = api.client.get_workflow_handle(result["workflowId"])
            await handle.signal(JourneyWorkflow.remove, RemoveRequest())
            await handle.result()


async def test_add_endusers_to_journey_writes_membership_before_answering(idle):
    enduser_id = idle.new_enduser(journeys={})
    response = await idle.http.post(
        "/v1/add-endusers-to-journey",
        json={"journeyId": idle.journeys["member"], "enduserIds": [enduser_id]},
    )
    assert response.status_code == 200, response.text
    try:
        assert idle.enduser(enduser_id)["journeys"] == {idle.journeys["member"]: ""}
    finally:
        await terminate(idle, response)


async def test_native_enrollment_writes_membership_before_answering(idle):
    enduser_id = idle.new_enduser()
    response = await idle.http.post(
        f"/v1/journeys/{idle.member}/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "started"
    try:
        assert idle.enduser(enduser_id)["journeys"] == {idle.journeys["member"]: ""}
    finally:
        await terminate(idle, response)


async def test_one_enrollment_reads_the_enduser_once(idle, tellescope):
    """The existence check's read serves the membership write too: enrolling one enduser costs
    Tellescope one read and one write (it was two reads and a write)."""
    enduser_id = idle.new_enduser(journeys={})
    calls: list[str] = []

    async def note(request) -> None:
        calls.append(f"{request.method} {request.url.path}")

    hooks = tellescope.http.event_hooks["request"]
    hooks.append(note)
    try:
        response = await idle.http.post(
            f"/v1/journeys/{idle.member}/enrollments", json={"enduserId": enduser_id}
        )
    finally:
        hooks.remove(note)
    assert response.status_code == 200, response.text
    try:
        assert calls == ["GET /v1/endusers", f"PATCH /v1/enduser/{enduser_id}"]
        assert idle.enduser(enduser_id)["journeys"] == {idle.journeys["member"]: ""}
    finally:
        await terminate(idle, response)


async def test_bulk_enrollment_writes_missing_membership_keys_only(idle):
    """Several endusers are read in bulk: each one without the key gets it, and a key already
    there keeps the value it holds."""
    member = idle.journeys["member"]
    fresh = [idle.new_enduser(journeys={}) for _ in range(2)]
    holding = idle.new_enduser(journeys={member: "Waiting"})
    response = await idle.http.post(
        f"/v1/journeys/{idle.member}/enrollments", json={"enduserIds": [*fresh, holding]}
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["started"] * 3
    try:
        assert [idle.enduser(e)["journeys"] for e in fresh] == [{member: ""}] * 2
        assert idle.enduser(holding)["journeys"] == {member: "Waiting"}
    finally:
        await terminate(idle, response)


# Set inside the test's own requests to the API: the API runs in this event loop (ASGI
# transport) and sees it; the worker's activities, started before, do not.
IN_API_REQUEST = contextvars.ContextVar("in_api_request", default=False)


async def test_the_membership_write_never_lands_over_the_runs_first_state(api):
    """Regression (docs/decisions.md D46): the add endpoints wrote `journeys[J] = ""` after
    starting the run, and a run whose first step sets the state could set it first; the late ""
    then replaced it (7 of 100 endusers of one bulk request, on a quiet machine). Here the API's
    membership write is held for a second, as a loaded API or Tellescope holds it: the key is
    written before the run starts, so the run's own state is what stays."""
    journey = unique("first-state")
    await api.deploy({f"{journey}.yaml": journey_yaml(journey, journey)})
    record_id = api.journeys[journey]
    endusers = [api.new_enduser(journeys={}) for _ in range(2)]

    async def hold(request) -> None:
        if IN_API_REQUEST.get() and request.method == "PATCH" and b'"journeys"' in request.content:
            await asyncio.sleep(1.0)

    hooks = api.tellescope.http.event_hooks["request"]
    hooks.append(hold)
    token = IN_API_REQUEST.set(True)
    try:
        native = await api.http.post(
            f"/v1/journeys/{journey}/enrollments", json={"enduserId": endusers[0]}
        )
        added = await api.http.post(
            "/v1/add-endusers-to-journey",
            json={"journeyId": record_id, "enduserIds": [endusers[1]]},
        )
    finally:
        IN_API_REQUEST.reset(token)
        hooks.remove(hold)
    assert native.status_code == 200, native.text
    assert added.status_code == 200, added.text
    for enduser_id in endusers:
        await pending_later(api, enduser_id, journey)  # `start` set the state, then finished
        assert api.enduser(enduser_id)["journeys"] == {record_id: "Started"}


# --- writing enduser.journeys enrolls -----------------------------------------------------------


def quiet_journey(journey_id: str) -> str:
    """No state step at once: `tag` tags the enduser, `later` waits 2 days."""
    return textwrap.dedent(
        f"""
        journey: {{id: {journey_id}, title: Quiet {journey_id}}}
        steps:
          - id: tag
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: addEnduserTags, info: {{tags: [{journey_id}]}}}}
          - id: later
            events: [{{type: afterAction, info: {{automationStepId: tag, delay: 2, unit: Days}}}}]
            action: {{type: setEnduserStatus, info: {{status: Later}}}}
        """
    ).lstrip()


def enduser_webhook(enduser_id: str, kind: str, before: dict | None = None) -> dict:
    payload = {
        "model": "endusers",
        "type": kind,
        "records": [{"id": enduser_id}],
        "timestamp": str(int(time.time() * 1000)),
    }
    if before is not None:
        payload["updates"] = [{"recordBeforeUpdate": {"id": enduser_id, **before}, "update": {}}]
    return payload


def memberships(report) -> list[tuple[str, str, str]]:
    return [(m.journeyId, m.change, m.outcome) for m in report.memberships]


async def test_creating_an_enduser_with_a_journey_key_enrolls_with_that_state(api):
    journey = unique("keyed")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    record_id = api.journeys[journey]
    enduser_id = api.new_enduser(journeys={record_id: "Working"})
    report = await process_webhook(enduser_webhook(enduser_id, "create"), deps(api))
    assert memberships(report) == [(journey, "added", "started")]
    await pending_later(api, enduser_id, journey)
    assert journey in api.enduser(enduser_id)["tags"]
    assert api.enduser(enduser_id)["journeys"] == {record_id: "Working"}  # the value written
    # the workflow's own write of the key comes back as a webhook: nothing starts again
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {}}), deps(api)
    )
    assert memberships(report) == [(journey, "added", "alreadyEnrolled")]
    assert (
        len(
            [
                r
                for r in api.ledger.query(where={"enduser_id": enduser_id})
                if r.automation_step_id == "tag"
            ]
        )
        == 1
    )


async def keyed(api, journeys: dict | None = None) -> tuple[str, str, str]:
    """A quiet journey deployed and an enduser whose `journeys` key of it was just written in
    Tellescope (by a client, or by an add endpoint): (journey, Tellescope id, enduser)."""
    journey = unique("keyed")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    record_id = api.journeys[journey]
    enduser_id = api.new_enduser() if journeys is None else api.new_enduser(journeys=journeys)
    added = api.sandbox_http.patch(
        f"/v1/enduser/{enduser_id}", json={"updates": {"journeys": {record_id: ""}}}
    )
    assert added.status_code == 200, added.text
    return journey, record_id, enduser_id


async def test_adding_a_key_enrolls_and_removing_it_removes(api):
    journey, record_id, enduser_id = await keyed(api)
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {}}), deps(api)
    )
    assert memberships(report) == [(journey, "added", "started")]
    later = await pending_later(api, enduser_id, journey)
    # a changed value is a state change, not an add
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {record_id: "Other"}}), deps(api)
    )
    assert memberships(report) == []
    # removing the key (replaceObjectFields) removes the enrollment: cancel reason 0
    removed = api.sandbox_http.patch(
        f"/v1/enduser/{enduser_id}",
        json={"updates": {"journeys": {}}, "options": {"replaceObjectFields": True}},
    )
    assert removed.status_code == 200, removed.text
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {record_id: ""}}), deps(api)
    )
    assert memberships(report) == [(journey, "removed", "removed")]
    await api.wait_for(
        lambda: later_row(api, enduser_id, journey).status == "cancelled", "later cancelled"
    )
    assert later_row(api, enduser_id, journey).cancel_reason == int(CancelReason.REMOVED_BY_USER)
    assert later.id == later_row(api, enduser_id, journey).id


async def test_the_add_endpoints_membership_write_does_not_restart(api):
    journey = unique("keyed")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    enduser_id = api.new_enduser()
    await enroll(api, journey, enduser_id)
    await pending_later(api, enduser_id, journey)
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {}}), deps(api)
    )
    assert memberships(report) == [(journey, "added", "alreadyEnrolled")]
    assert later_row(api, enduser_id, journey).status == "active"


async def test_a_key_whose_run_starts_just_after_is_the_add_endpoints_own_write(api):
    """The add endpoints write the key before they start the run (docs/decisions.md D46), so
    its webhook can reach the intake first: a key with no run waits `membership_grace`, and the
    run that starts meanwhile is the one that wrote it, and nothing starts twice."""
    journey, _, enduser_id = await keyed(api)

    async def start_soon() -> None:
        await asyncio.sleep(0.3)
        await enroll(api, journey, enduser_id)  # the key is there: the request only starts

    starting = asyncio.create_task(start_soon())
    report = await process_webhook(
        enduser_webhook(enduser_id, "update", {"journeys": {}}), deps(api)
    )
    await starting
    assert memberships(report) == [(journey, "added", "alreadyEnrolled")]
    assert "add endpoint's own write" in report.memberships[0].reason
    description = await api.client.get_workflow_handle(f"journey:{journey}:{enduser_id}").describe()
    assert description.status is not None and description.status.name == "RUNNING"
    await pending_later(api, enduser_id, journey)
    [tag] = [
        r
        for r in api.ledger.query(where={"enduser_id": enduser_id})
        if r.automation_step_id == "tag"
    ]
    assert tag.journey_id == journey  # one run, one `tag`


async def test_a_key_gone_by_the_end_of_the_grace_starts_nothing(api):
    """A key whose add failed to start is unset again by the add endpoint (`undo_failed`); its
    webhook, read after the grace, finds neither a run nor the key: nothing starts."""
    journey, _, enduser_id = await keyed(api, journeys={})
    quick = deps(api)
    quick.membership_grace = timedelta(seconds=1)

    async def unset_soon() -> None:
        await asyncio.sleep(0.3)  # once the webhook's record is read back, within the grace
        api.sandbox_http.patch(
            f"/v1/enduser/{enduser_id}",
            json={"updates": {"journeys": {}}, "options": {"replaceObjectFields": True}},
        ).raise_for_status()

    unsetting = asyncio.create_task(unset_soon())
    report = await process_webhook(enduser_webhook(enduser_id, "update", {"journeys": {}}), quick)
    await unsetting
    assert memberships(report) == [(journey, "added", "notEnrolled")]
    with pytest.raises(RPCError) as missing:
        await api.client.get_workflow_handle(f"journey:{journey}:{enduser_id}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_one_delivery_adding_many_keys_waits_the_grace_once(api):
    """A client's bulk update adds the key for three endusers in one delivery, none of them with
    a run: the delivery waits one grace (1 s here), not one per key, and all three start."""
    journey = unique("keyed")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    record_id = api.journeys[journey]
    people = [api.new_enduser() for _ in range(3)]
    for enduser_id in people:
        api.sandbox_http.patch(
            f"/v1/enduser/{enduser_id}", json={"updates": {"journeys": {record_id: ""}}}
        ).raise_for_status()
    payload = enduser_webhook(people[0], "update", {"journeys": {}})
    payload["records"] = [{"id": e} for e in people]
    payload["updates"] = [
        {"recordBeforeUpdate": {"id": e, "journeys": {}}, "update": {}} for e in people
    ]
    quick = deps(api)
    quick.membership_grace = timedelta(seconds=1)
    started = time.monotonic()
    report = await process_webhook(payload, quick)
    elapsed = time.monotonic() - started
    assert memberships(report) == [(journey, "added", "started")] * 3
    assert 1.0 <= elapsed < 2.5, elapsed  # one grace (three would be 3 s at least)
    for enduser_id in people:
        await pending_later(api, enduser_id, journey)


# --- scheduled starts -----------------------------------------------------------------------------


async def test_add_endusers_to_journey_at_a_later_time(api, env):
    journey = unique("scheduled")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    record_id = api.journeys[journey]
    later, sooner, past = api.new_enduser(), api.new_enduser(), api.new_enduser()
    start_at = datetime.now(UTC) + timedelta(hours=3)
    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        json={
            "journeyId": record_id,
            "enduserIds": [later, sooner, past],
            "startAt": start_at.isoformat(),
            "enduserStartTimes": {
                sooner: (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                past: "2020-01-01T00:00:00Z",
            },
        },
    )
    assert response.status_code == 200, response.text
    results = {r["enduserId"]: r for r in response.json()["results"]}
    assert [results[e]["status"] for e in (later, sooner, past)] == [
        "scheduled",
        "scheduled",
        "started",
    ]
    assert datetime.fromisoformat(results[later]["startAt"]) == start_at
    await pending_later(api, past, journey)  # a past time starts now
    assert record_id not in (api.enduser(later).get("journeys") or {})
    assert api.ledger.query(where={"enduser_id": later}) == []
    # adding again before the start changes nothing
    again = await api.http.post(
        "/v1/add-endusers-to-journey",
        json={"journeyId": record_id, "enduserIds": [later], "startAt": start_at.isoformat()},
    )
    assert again.json()["results"][0]["status"] == "alreadyEnrolled"

    await env.sleep(timedelta(hours=1, minutes=5))
    await pending_later(api, sooner, journey)
    assert api.ledger.query(where={"enduser_id": later}) == []
    await env.sleep(timedelta(hours=2))
    await pending_later(api, later, journey)
    assert api.enduser(later)["journeys"] == {record_id: ""}


async def test_a_scheduled_start_removed_before_its_time_never_starts(api):
    journey = unique("scheduled")
    await api.deploy({f"{journey}.yaml": quiet_journey(journey)})
    record_id = api.journeys[journey]
    enduser_id = api.new_enduser()
    response = await api.http.post(
        "/v1/add-endusers-to-journey",
        json={
            "journeyId": record_id,
            "enduserIds": [enduser_id],
            "startAt": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        },
    )
    [result] = response.json()["results"]
    assert result["status"] == "scheduled"
    response = await api.http.post(
        "/v1/remove-endusers-from-journey",
        json={"journeyId": record_id, "enduserIds": [enduser_id]},
    )
    assert response.json()["removed"] == [enduser_id]
    handle = api.client.get_workflow_handle_for(JourneyWorkflow.run, result["workflowId"])
    assert (await handle.result()).outcome == "removed"
    assert api.ledger.query(where={"enduser_id": enduser_id}) == []
    assert record_id not in (api.enduser(enduser_id).get("journeys") or {})
    assert journey not in (api.enduser(enduser_id).get("tags") or [])
