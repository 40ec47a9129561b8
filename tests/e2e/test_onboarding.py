"""The onboarding example end to end: a real worker, real activities, the sandbox over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import DR_RIVERA, FRONT_DESK, NEW_YORK, Patient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_onboarding_from_enrollment_to_completion(stack, patient):
    """Welcome SMS, intake form an hour later in office hours, the patient submits it in the
    sandbox, the journey records the date and opens the review ticket, then completes."""
    enrolled = await stack.start_at(weekday=1, hour=10)  # Tuesday 10:00 New York
    async with stack.worker():
        handle = await stack.enroll("onboarding", patient)
        await stack.wait_for(handle, lambda s: any(p.stepId == "send-intake" for p in s.pending))
        (welcome,) = patient.sms()
        assert welcome["message"].startswith("Welcome to Riverside, Pat!")
        assert welcome["userId"] == DR_RIVERA  # Care Team Primary, no care team: the sender
        await stack.advance(timedelta(hours=1, minutes=1))
        status = await stack.wait_for(handle, lambda s: s.state == "Intake sent")
        assert [p.stepId for p in status.pending] == ["intake-reminder"]
        (form,) = patient.form_responses()
        assert form["formId"] == "64f000000000000000000c01"
        assert (
            form["automationStepId"]
            == stack.plans.current("onboarding").plan["tellescopeStepIds"]["send-intake"]
        )
        (email,) = patient.emails()
        assert form["accessCode"] in email["textContent"]  # the link the patient follows
        await stack.advance(timedelta(hours=20))
        await patient.submit_form(handle, form["id"])
        result = await handle.result()

    assert result.outcome == "completed" and result.state == "Intake complete"
    journeys = patient.get()["journeys"]
    assert journeys == {stack.journey_record_id("onboarding"): "Intake complete"}
    fields = patient.get()["fields"]
    submitted_day = (enrolled + timedelta(hours=21, minutes=1)).astimezone(NEW_YORK)
    assert fields["intakeCompletedAt"] == submitted_day.strftime("%m-%d-%Y")
    assert fields["onboardingSteps"] == 1
    (ticket,) = patient.tickets()
    assert ticket["title"] == "Review intake for Pat " + patient.record["lname"]
    assert ticket["owner"] == DR_RIVERA and ticket["tags"][:1] == ["intake"]
    assert abs(ticket["dueDateInMS"] - (submitted_day.timestamp() + 2 * 86400) * 1000) < 5000
    reminder = stack.ledger_rows("onboarding", "intake-reminder")[0]
    assert (reminder.status, reminder.cancel_reason) == ("cancelled", 2)
    assert len(patient.sms()) == 1  # no reminder went out


async def test_onboarding_unresponsive_patient_is_escalated(stack):
    """No submission: the reminder after 2 days (office hours), then a call ticket for the
    care-team primary 3 days later, then the Unresponsive state."""
    patient = Patient(stack.api, assignedTo=[FRONT_DESK, DR_RIVERA], primaryAssignee=FRONT_DESK)
    enrolled = await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("onboarding", patient)
        await stack.wait_for(handle, lambda s: any(p.stepId == "send-intake" for p in s.pending))
        await stack.advance(timedelta(days=6))
        status = await stack.wait_for(handle, lambda s: s.state == "Unresponsive")
    assert status.waitingFor == ["form from send-intake"]  # still listening for the form
    welcome, reminder = patient.sms()
    assert welcome["userId"] == FRONT_DESK  # Care Team Primary: the primary assignee
    assert reminder["message"] == "Reminder: please complete your intake form, Pat."
    # The sandbox stamps records with its wall clock; when the journey acted is the ledger's
    # (virtual) time: Tuesday 11:00 + 2 days = Thursday 11:00, inside office hours.
    (row,) = stack.ledger_rows("onboarding", "intake-reminder")
    sent = datetime.fromtimestamp(row.process_after / 1000, NEW_YORK)
    assert (sent.weekday(), sent.hour) == (3, 11) and not row.did_delay_for_out_of_office
    (ticket,) = patient.tickets()
    assert ticket["title"] == "Call Pat: intake form not submitted"
    assert ticket["owner"] == FRONT_DESK  # care-team-primary
    assert sorted(ticket["closeReasons"]) == ["No answer", "Reached"]
    due = datetime.fromtimestamp(ticket["dueDateInMS"] / 1000, NEW_YORK)
    assert due.weekday() not in (5, 6)  # skipDaysOfWeekForDueDate: [0, 6] pushes past the weekend
    assert enrolled < due


async def test_consent_withdrawn_is_an_error_with_tellescope_s_message(stack):
    patient = Patient(stack.api, phoneConsent=False)
    await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("onboarding", patient)
        result = await handle.result()
    (welcome,) = stack.ledger_rows("onboarding", "welcome-sms")
    assert welcome.status == "error"
    assert welcome.error_message == "Missing phone consent"
    assert result.errors == 1 and patient.sms() == []
    assert stack.ledger_rows("onboarding", "send-intake") == []  # no afterAction after an error
