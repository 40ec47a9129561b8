"""post-visit (ticket close reasons) and lab-results (webhooks, errors, schedules) end to end."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import DR_RIVERA, FRONT_DESK, NEW_YORK, Patient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def follow_up_ticket(stack, patient):
    """Enroll in post-visit (Tuesday 10:00) and return the handle and the follow-up ticket."""
    await stack.start_at(weekday=1, hour=10)
    handle = await stack.enroll("post-visit", patient)
    await stack.wait_for(handle, lambda s: any(p.stepId == "follow-up-call" for p in s.pending))
    await stack.advance(timedelta(days=1, minutes=1))
    await stack.wait_for(handle, lambda s: any("ticket" in w for w in s.waitingFor))
    (ticket,) = patient.tickets()
    return handle, ticket


async def test_no_answer_sends_sms_and_books_a_second_call_with_the_same_owner(stack):
    patient = Patient(stack.api, assignedTo=[DR_RIVERA, FRONT_DESK])
    async with stack.worker():
        handle, ticket = await follow_up_ticket(stack, patient)
        assert ticket["owner"] in (DR_RIVERA, FRONT_DESK)  # care-team-random: one of the team
        assert ticket["closeReasons"] == ["Reached", "No answer", "Declined"]
        await patient.close_ticket(handle, ticket["id"], "No answer")
        await stack.wait_for(handle, lambda s: any(p.stepId == "second-call" for p in s.pending))
        await stack.advance(timedelta(days=2, hours=1))
        await stack.wait_for(
            handle, lambda s: len(patient.tickets()) == 2 and len(s.waitingFor) == 0
        )
    (sms,) = patient.sms()
    assert (
        sms["message"]
        == "Hi Pat, we tried to reach you by phone. Call us back at your convenience."
    )
    first, second = patient.tickets()
    assert second["title"] == "Second follow-up call with Pat"
    assert second["owner"] == first["owner"]  # previous-owner
    (thank_you,) = patient.emails()
    assert "Thank you" in thank_you["subject"]
    steps = {
        r.automation_step_id for r in stack.ledger_rows("post-visit") if r.status == "finished"
    }
    assert steps == {"thank-you-email", "follow-up-call", "no-answer-sms", "second-call"}


@pytest.mark.parametrize(
    ("reason", "state", "tags"),
    [
        ("Reached", "Followed up", []),
        ("Declined", "Declined follow-up", []),
        (None, "", ["follow-up-closed"]),
    ],
    ids=["reached", "declined", "no-reason"],
)
async def test_close_reason_decides_the_branch(stack, patient, reason, state, tags):
    async with stack.worker():
        handle, ticket = await follow_up_ticket(stack, patient)
        await patient.close_ticket(handle, ticket["id"], reason)
        result = await handle.result()
    assert result.outcome == "completed"
    assert patient.get()["journeys"][stack.journey_record_id("post-visit")] == state
    assert [t for t in patient.get().get("tags", []) if t == "follow-up-closed"] == tags
    assert patient.sms() == [] and len(patient.tickets()) == 1


async def test_lab_results_webhook_email_status_and_monthly_check_in(stack, patient):
    stack.api.patch(
        f"/v1/enduser/{patient.id}", json={"updates": {"fields": {"lastLabDate": "2026-01-05"}}}
    )
    started = await stack.start_at(weekday=2, hour=15)
    async with stack.worker():
        handle = await stack.enroll("lab-results", patient)
        await stack.wait_for(handle, lambda s: s.state == "Results shared")
        await stack.advance(timedelta(days=40))
        result = await handle.result()
    assert result.outcome == "completed" and result.errors == 0
    echoes = stack.api.get("/sandbox/echo/log").json()
    mine = [e for e in echoes if patient.id in str(e["body"])]
    assert len(mine) == 1 and mine[0]["method"] == "POST"
    body = mine[0]["body"]
    assert body["enduserId"] == patient.id and body["event"] == "results-ready"
    (email,) = patient.emails()
    assert "results" in email["subject"].lower()
    (check_in,) = patient.sms()
    assert check_in["message"] == "Monthly check-in: how are you feeling, Pat?"
    (monthly,) = stack.ledger_rows("lab-results", "monthly-check-in")
    due = datetime.fromtimestamp(monthly.process_after / 1000, NEW_YORK)
    assert (due.day, due.hour, due.minute) == (1, 10, 0) and due > started
    days = patient.get()["fields"]["daysSinceLastLab"]  # Date Difference, 7 days after the email
    (row,) = stack.ledger_rows("lab-results", "days-since-results")
    ran = datetime.fromtimestamp(row.process_after / 1000, NEW_YORK).date()
    assert days == (ran - datetime(2026, 1, 5).date()).days


async def test_failed_lab_webhook_takes_the_error_branch_and_continues(stack, patient):
    """docs/semantics.md §4.4: the webhook fails (receiver down) -> error + onError ticket;
    continueOnError lets the results email go out anyway."""
    stack.redeploy("lab-results.yaml", "/sandbox/echo", "/sandbox/echo?status=503")
    await stack.start_at(weekday=2, hour=15)
    async with stack.worker():
        handle = await stack.enroll("lab-results", patient)
        await stack.wait_for(handle, lambda s: s.state == "Results shared")
    (webhook,) = stack.ledger_rows("lab-results", "notify-lab-system")
    assert webhook.status == "error" and "503" in webhook.error_message
    (ticket,) = patient.tickets()
    assert ticket["title"] == "Lab system did not receive results notification"
    assert ticket["owner"] == FRONT_DESK
    assert len(patient.emails()) == 1  # continueOnError: the afterAction branch ran too
