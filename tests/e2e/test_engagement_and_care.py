"""re-engagement (portal forms, A/B, enduser conditions, removal on reply), care-plan
(waitForTrigger) and no-show-recovery (care team, access tags, content, appointments, other
journeys) end to end against the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.runtime import IncomingMessage, TriggerFired
from tests.e2e.conftest import DR_RIVERA, FRONT_DESK, Patient
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_vip_without_answers_gets_one_nudge_variant_and_a_personal_call(stack):
    patient = Patient(stack.api, tags=["vip"], dateOfBirth="03-14-1950")
    await stack.start_at(weekday=0, hour=10)
    async with stack.worker():
        handle = await stack.enroll("re-engagement", patient)
        await stack.wait_for(handle, lambda s: len(s.pending) == 2)
        forms = patient.form_responses()
        assert sorted(f["formId"] for f in forms) == [
            "64f000000000000000000c03",
            "64f000000000000000000c04",
        ]
        assert all(f.get("pushedToPortalAt") for f in forms)
        await stack.advance(timedelta(days=8))  # the call falls on Saturday: Monday 09:00
        await stack.wait_for(handle, lambda s: not s.pending)
    nudges = len(patient.sms()) + len(patient.emails())
    assert nudges == 1  # docs/decisions.md D1: exactly one A/B variant
    label = next(r.ab_test_label for r in stack.ledger_rows("re-engagement") if r.ab_test_label)
    assert label == ("sms" if patient.sms() else "email")
    (ticket,) = patient.tickets()
    assert ticket["owner"] == DR_RIVERA  # by-tags "nurse"
    (call,) = stack.ledger_rows("re-engagement", "vip-call")
    assert call.did_delay_for_out_of_office
    assert "re-engagement-2026" in patient.get()["tags"]


async def test_both_check_in_forms_answered_re_engages_and_cancels_the_nudges(stack):
    patient = Patient(stack.api, dateOfBirth="03-14-1990")  # not a VIP: no call either way
    await stack.start_at(weekday=0, hour=10)
    async with stack.worker():
        handle = await stack.enroll("re-engagement", patient)
        await stack.wait_for(handle, lambda s: len(s.pending) == 2)
        await stack.advance(timedelta(days=1))
        for form in patient.form_responses():
            await patient.submit_form(handle, form["id"])
        result = await handle.result()
    assert result.state == "Re-engaged"
    assert "re-engagement-2026" not in patient.get().get("tags", [])
    assert patient.sms() == [] and patient.emails() == [] and patient.tickets() == []
    cancelled = [r for r in stack.ledger_rows("re-engagement") if r.status == "cancelled"]
    assert {r.automation_step_id for r in cancelled} <= {"nudge-sms", "nudge-email", "vip-call"}
    assert all(r.cancel_reason == 2 for r in cancelled) and len(cancelled) == 2


async def test_a_reply_from_the_patient_ends_the_campaign(stack, patient):
    await stack.start_at(weekday=0, hour=10)
    async with stack.worker():
        handle = await stack.enroll("re-engagement", patient)
        await stack.wait_for(handle, lambda s: len(s.pending) == 2)
        reply = stack.api.post(
            "/sandbox/patient/sms", json={"enduserId": patient.id, "message": "I'm fine"}
        )
        assert reply.status_code == 200, reply.text
        await handle.signal(JourneyWorkflow.incoming_message, IncomingMessage(channel="SMS"))
        result = await handle.result()
    assert result.outcome == "removed" and result.cancelled == 2
    assert {
        r.cancel_reason for r in stack.ledger_rows("re-engagement") if r.status == "cancelled"
    } == {3}
    assert stack.journey_record_id("re-engagement") not in patient.get().get("journeys", {})


async def test_care_plan_waits_for_labs_then_runs_to_completion(stack, patient):
    await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("care-plan", patient)
        status = await stack.wait_for(
            handle, lambda s: s.state == "Waiting for labs" and bool(s.pending)
        )
        assert [p.waitingFor for p in status.pending] == ["trigger labs-received"]
        await stack.advance(timedelta(days=3))
        assert patient.records("care-plans") == []
        await handle.signal(JourneyWorkflow.trigger_fired, TriggerFired(triggerId="labs-received"))
        await stack.wait_for(handle, lambda s: any("ticket" in w for w in s.waitingFor))
        (plan,) = patient.records("care-plans")
        assert plan["title"] == "Diabetes care plan" and not plan.get("completedAt")
        (ticket,) = patient.tickets()
        assert ticket["title"] == "Review labs and care plan for Pat"
        await patient.close_ticket(handle, ticket["id"], "Plan agreed")
        result = await handle.result()
    assert result.state == "Care plan complete"
    (plan,) = patient.records("care-plans")
    assert plan.get("completedAt")


async def test_no_show_rebooked_shares_prep_content(stack, patient):
    await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("no-show-recovery", patient)
        await stack.wait_for(handle, lambda s: any(p.stepId == "rebook-call" for p in s.pending))
        record = patient.get()
        assert DR_RIVERA in record["assignedTo"]  # assignCareTeam: the "nurse"
        assert "scheduling-team" in record["accessTags"]
        (note,) = patient.records("notes")
        assert note["title"] == f"Missed appointment: Pat {patient.record['lname']}"
        rooms = stack.api.get(
            "/v1/chat-rooms", params={"filter": json.dumps({"enduserIds": patient.id})}
        ).json()
        (room,) = [r for r in rooms if r.get("identifier") == "scheduling"]
        (chat,) = stack.api.get(
            "/v1/chats", params={"filter": json.dumps({"roomId": room["id"]})}
        ).json()
        assert chat["message"].startswith("Hi Pat, we missed you at your appointment today.")
        await stack.advance(timedelta(hours=4, minutes=1))
        await stack.wait_for(handle, lambda s: bool(s.waitingFor))
        (ticket,) = patient.tickets()
        assert ticket["owner"] == FRONT_DESK  # by-tags "front-desk"
        await patient.close_ticket(handle, ticket["id"], "Rebooked")
        result = await handle.result()
    assert result.state == "Rebooked"
    (assignment,) = patient.records("managed-content-record-assignments")
    assert assignment["contentId"] == "64f000000000000000000e01"


async def test_no_show_declined_cleans_up_and_re_engages_later(stack):
    patient = Patient(stack.api, customTypeId="65a0000000000000000000c0")
    await stack.start_at(weekday=1, hour=10)
    now = await stack.env.get_current_time()  # appointments relative to the journey's clock
    for start in (now + timedelta(days=7), now - timedelta(days=7)):
        created = stack.api.post(
            "/v1/calendar-event",
            json={
                "title": "Office visit",
                "startTimeInMS": int(start.timestamp() * 1000),
                "durationInMinutes": 30,
                "attendees": [{"type": "enduser", "id": patient.id}],
            },
        )
        assert created.status_code == 200, created.text
    async with stack.worker():
        post_visit = await stack.enroll("post-visit", patient)
        await stack.wait_for(post_visit, lambda s: bool(s.pending))
        handle = await stack.enroll("no-show-recovery", patient)
        await stack.advance(timedelta(hours=4, minutes=1))
        await stack.wait_for(handle, lambda s: bool(s.waitingFor))
        rebook = next(t for t in patient.tickets() if t["title"].startswith("Rebook"))
        await patient.close_ticket(handle, rebook["id"], "Declined")
        assert (await post_visit.result()).outcome == "removed"  # removeFromJourney post-visit
        await stack.advance(timedelta(days=31))
        await handle.result()
        re_engagement = stack.handle_for("re-engagement", patient)
        # addToJourney after 30 days started it. Virtual time may have run on through its first
        # steps meanwhile (more so near the New Year holidays), so look for a step it ran.
        started = await stack.wait_for(re_engagement, lambda s: bool(s.history))
        assert started.history[0].stepId == "tag-campaign"
    record = patient.get()
    assert record["journeys"][stack.journey_record_id("no-show-recovery")] == "Declined"
    assert DR_RIVERA not in record.get("assignedTo", [])  # removeCareTeam
    assert "scheduling-team" not in record.get("accessTags", [])  # removeAccessTags
    assert record.get("customTypeId", "") == ""  # changeContactType to the default type
    events = patient.api.get(
        "/v1/calendar-events", params={"filter": json.dumps({"attendees.id": patient.id})}
    ).json()
    future = [e for e in events if e["startTimeInMS"] > now.timestamp() * 1000]
    past = [e for e in events if e["startTimeInMS"] < now.timestamp() * 1000]
    assert all(e.get("cancelledAt") for e in future) and not any(e.get("cancelledAt") for e in past)
    (removed,) = [r for r in stack.ledger_rows("post-visit") if r.status == "cancelled"]
    assert removed.cancel_reason == 4  # removed by automation
