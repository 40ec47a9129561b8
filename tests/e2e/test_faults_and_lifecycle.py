"""Exactly-once sends under Tellescope faults, and the enrollment lifecycle as the sandbox sees it
(restart, removal, membership and state mirrored onto the enduser record)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.runtime import RemoveRequest
from settings import TellescopeSettings
from tellescope.client import TellescopeClient
from tests.e2e.conftest import DEV_KEY
from workflows import starter

pytestmark = pytest.mark.asyncio(loop_scope="session")


def faults(stack, **plan) -> None:
    response = stack.api.put("/sandbox/faults", json=plan)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["accept_then_500", "accept_then_drop", "error500", "drop"])
async def test_welcome_sms_is_sent_exactly_once_through_a_fault(stack, patient, kind):
    """The first attempt fails (after or before Tellescope stored the SMS); Temporal retries and
    the retry finds the first record instead of sending a second message."""
    faults(stack, kinds=[kind], paths=["/v1/sms-message"], methods=["POST"], count=1)
    try:
        await stack.start_at(weekday=1, hour=10)
        async with stack.worker():
            handle = await stack.enroll("onboarding", patient)
            await stack.wait_for(
                handle, lambda s: any(p.stepId == "send-intake" for p in s.pending)
            )
    finally:
        stack.api.delete("/sandbox/faults")
    assert len(patient.sms()) == 1
    (welcome,) = stack.ledger_rows("onboarding", "welcome-sms")
    assert welcome.status == "finished"
    assert stack.api.get("/sandbox/stats").json()  # the sandbox stayed healthy


async def test_client_timeout_after_tellescope_accepted_reuses_the_record(stack, patient, sandbox):
    """accept_then_hang: Tellescope stores the ticket but the answer never arrives in time; the
    retry (a new attempt with the same AutomatedAction id) reuses the stored ticket."""
    impatient = TellescopeClient.from_settings(
        TellescopeSettings(base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=0.5)
    )
    faults(
        stack,
        kinds=["accept_then_hang"],
        paths=["/v1/ticket"],
        methods=["POST"],
        count=1,
        timeoutSeconds=2.0,
    )
    try:
        await stack.start_at(weekday=1, hour=10)
        async with stack.worker(tellescope=impatient):
            handle = await stack.enroll("post-visit", patient)
            await stack.advance(timedelta(days=1, minutes=1))
            await stack.wait_for(handle, lambda s: any("ticket" in w for w in s.waitingFor))
    finally:
        stack.api.delete("/sandbox/faults")
        await impatient.aclose()
    assert len(patient.tickets()) == 1
    (call,) = stack.ledger_rows("post-visit", "follow-up-call")
    assert call.status == "finished"


async def test_restart_sends_again_and_resets_the_state(stack, patient):
    await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("onboarding", patient)
        await stack.wait_for(handle, lambda s: any(p.stepId == "send-intake" for p in s.pending))
        await stack.advance(timedelta(hours=1, minutes=1))
        await stack.wait_for(handle, lambda s: s.state == "Intake sent")
        assert patient.get()["journeys"][stack.journey_record_id("onboarding")] == "Intake sent"
        await stack.enroll("onboarding", patient)  # add again: restart (docs/semantics.md §3.3)
        fresh = await stack.next_run(handle)
        await stack.wait_for(
            fresh, lambda s: s.state == "" and any(p.stepId == "send-intake" for p in s.pending)
        )
    assert len(patient.sms()) == 2  # a restarted journey welcomes again
    assert patient.get()["journeys"][stack.journey_record_id("onboarding")] == ""
    cancelled = [r for r in stack.ledger_rows("onboarding") if r.status == "cancelled"]
    assert [(r.automation_step_id, r.cancel_reason) for r in cancelled] == [("intake-reminder", 1)]


async def test_removal_unsets_membership_and_cancels_pending(stack, patient):
    await stack.start_at(weekday=1, hour=10)
    async with stack.worker():
        handle = await stack.enroll("onboarding", patient)
        await stack.wait_for(handle, lambda s: any(p.stepId == "send-intake" for p in s.pending))
        assert stack.journey_record_id("onboarding") in patient.get()["journeys"]
        removed = await starter.remove(
            stack.client, "onboarding", patient.id, RemoveRequest(cancelReason=0)
        )
        result = await handle.result()
    assert removed and result.outcome == "removed"
    assert stack.journey_record_id("onboarding") not in patient.get().get("journeys", {})
    (send_intake,) = stack.ledger_rows("onboarding", "send-intake")
    assert (send_intake.status, send_intake.cancel_reason) == ("cancelled", 0)
    assert patient.emails() == []
