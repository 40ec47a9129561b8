"""Pausing and resuming enrollments (docs/decisions.md D28) on the time-skipping server: due
steps wait while paused, `onResume` runs or skips the overdue ones, events are still applied,
a whole journey pauses in batches, and repeated signals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.runtime import FormSubmitted
from services import pausing
from tests.temporal_env import search_attributes
from tests.workflows.conftest import close, write_journey
from tests.workflows.test_forms import patch_ids, wait_for
from workflows.journey import JourneyWorkflow
from workflows.patches import PATCH_PAUSE_RESUME

pytestmark = pytest.mark.asyncio(loop_scope="session")

REMINDER = """
journey: {id: pausing, title: Pausing%s}
steps:
  - id: root
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [started]}}
  - id: reminder
    events: [{type: afterAction, info: {automationStepId: root, delay: 2, unit: Days}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t-reminder}}
  - id: follow-up
    events: [{type: afterAction, info: {automationStepId: reminder, delay: 1, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [followed]}}
"""

FORM = """
journey: {id: pausing-form, title: Pausing form, onResume: skipOverdue}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: thanks
    events: [{type: formResponse, info: {automationStepId: send-intake}}]
    action: {type: setEnduserStatus, info: {status: Submitted}}
  - id: reminder
    events: [{type: formUnsubmitted, info: {automationStepId: send-intake, delay: 2, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [reminded]}}
"""


def deploy(runtime, tmp_path, policy: str | None = None) -> None:
    runtime.tellescope.enduser["phone"] = "+15555550100"
    runtime.deploy(write_journey(tmp_path, REMINDER % (f", onResume: {policy}" if policy else "")))


async def paused_with_reminder_pending(runtime, enduser_id: str | None = None):
    handle = await runtime.enroll("pausing", enduser_id)
    await wait_for(runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending))
    await pausing.pause_enrollment(
        runtime.client, "pausing", enduser_id or runtime.enduser_id, "pause", by="ops"
    )
    await wait_for(runtime, handle, lambda s: s.paused is not None)
    return handle


async def test_paused_timer_sends_nothing_and_run_overdue_sends_once_on_resume(runtime, tmp_path):
    deploy(runtime, tmp_path)  # no onResume: runOverdue
    async with runtime.worker():
        handle = await paused_with_reminder_pending(runtime)
        attributes = await search_attributes(runtime.client, handle.id)
        assert attributes["EnrollmentStatus"] == "paused"  # the UI: EnrollmentStatus="paused"
        await runtime.env.sleep(timedelta(days=3))  # the reminder fell due a day ago
        status = await handle.query(JourneyWorkflow.status)
        assert runtime.steps_done() == ["root"]  # nothing sent while paused
        assert status.paused is not None and status.paused.by == "ops"
        assert [p.stepId for p in status.pending] == ["reminder"]
        (row,) = runtime.ledger_rows("reminder")
        assert (row.status, row.detail) == ("active", "paused by ops")
        resumed_at = await runtime.env.get_current_time()
        await pausing.pause_enrollment(
            runtime.client, "pausing", runtime.enduser_id, "resume", by="ops"
        )
        result = await handle.result()
        attributes = await search_attributes(runtime.client, handle.id)
    assert result.outcome == "completed"
    assert runtime.steps_done() == ["root", "reminder", "follow-up"]  # the reminder sent once
    (sent,) = runtime.ran_at("reminder")
    assert close(sent, resumed_at)  # at the resume, not at its due time
    (followed,) = runtime.ran_at("follow-up")
    assert close(followed, sent + timedelta(days=1))  # its children count from when it ran
    assert "EnrollmentStatus" not in attributes


async def test_skip_overdue_records_the_skipped_step_and_sends_nothing(runtime, tmp_path):
    deploy(runtime, tmp_path, "skipOverdue")
    async with runtime.worker():
        handle = await paused_with_reminder_pending(runtime)
        await runtime.env.sleep(timedelta(days=3))
        await pausing.pause_enrollment(
            runtime.client, "pausing", runtime.enduser_id, "resume", by=None
        )
        result = await handle.result()
    assert result.outcome == "completed"
    assert runtime.steps_done() == ["root"]
    (row,) = runtime.ledger_rows("reminder")
    assert (row.status, row.skipped) == ("finished", "paused")
    assert "while paused: skipped on resume (onResume: skipOverdue)" in row.detail
    assert runtime.ledger_rows("follow-up") == []  # skipped without children (as D6)


async def test_a_step_not_yet_due_at_resume_keeps_its_time(runtime, tmp_path):
    deploy(runtime, tmp_path, "skipOverdue")
    async with runtime.worker():
        handle = await paused_with_reminder_pending(runtime)
        started = runtime.ran_at("root")[0]
        await runtime.env.sleep(timedelta(days=1))
        await pausing.pause_enrollment(
            runtime.client, "pausing", runtime.enduser_id, "resume", by=None
        )
        await handle.result()
    (sent,) = runtime.ran_at("reminder")
    assert close(sent, started + timedelta(days=2), timedelta(seconds=2))


async def test_events_while_paused_are_applied_and_their_steps_run_at_resume(runtime, tmp_path):
    """A form submitted while paused cancels its reminder at once (recorded) and its
    formResponse step waits for the resume, then runs even with skipOverdue (it was made due
    by an event, not by a delay)."""
    runtime.deploy(write_journey(tmp_path, FORM))
    runtime.tellescope.form_response_ids["send-intake"] = ["fr-1"]
    async with runtime.worker():
        handle = await runtime.enroll("pausing-form")
        await wait_for(runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending))
        await pausing.pause_enrollment(
            runtime.client, "pausing-form", runtime.enduser_id, "pause", by="ops"
        )
        await wait_for(runtime, handle, lambda s: s.paused is not None)
        plan = runtime.plans.get("pausing-form", runtime.plans.current("pausing-form").version)
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(
                formResponseId="fr-1", automationStepId=plan.tellescopeStepIds["send-intake"]
            ),
        )
        await wait_for(runtime, handle, lambda s: [p.stepId for p in s.pending] == ["thanks"])
        (reminder,) = runtime.ledger_rows("reminder")
        assert reminder.status == "cancelled"
        await runtime.env.sleep(timedelta(days=3))
        assert runtime.steps_done() == ["send-intake"]  # thanks waits
        await pausing.pause_enrollment(
            runtime.client, "pausing-form", runtime.enduser_id, "resume", by="ops"
        )
        result = await handle.result()
    assert result.outcome == "completed" and result.state == "Submitted"
    assert runtime.steps_done() == ["send-intake", "thanks"]


async def test_pause_and_resume_twice_is_idempotent(runtime, tmp_path):
    deploy(runtime, tmp_path)
    async with runtime.worker():
        handle = await paused_with_reminder_pending(runtime)
        first = (await handle.query(JourneyWorkflow.status)).paused
        await runtime.env.sleep(timedelta(hours=1))
        await pausing.pause_enrollment(
            runtime.client, "pausing", runtime.enduser_id, "pause", by="other"
        )
        assert (await handle.query(JourneyWorkflow.status)).paused == first  # unchanged
        await runtime.env.sleep(timedelta(days=3))
        for _ in range(2):
            await pausing.pause_enrollment(
                runtime.client, "pausing", runtime.enduser_id, "resume", by="ops"
            )
        await handle.result()
        history = await handle.fetch_history()
        details = [h.detail for h in (await handle.query(JourneyWorkflow.status)).history]
    assert runtime.steps_done() == ["root", "reminder", "follow-up"]  # once each
    assert PATCH_PAUSE_RESUME in patch_ids(history)
    assert details.count("paused by ops") == 1 and details.count("resumed by ops") == 1


async def test_pause_a_whole_journey_in_batches(runtime, tmp_path):
    deploy(runtime, tmp_path)
    endusers = [f"{runtime.enduser_id}-{n}" for n in range(3)]
    async with runtime.worker():
        handles = []
        for enduser_id in endusers:
            handle = await runtime.enroll("pausing", enduser_id)
            await wait_for(runtime, handle, lambda s: bool(s.pending))
            handles.append(handle)
        seen: list[tuple[int, int]] = []
        report = await pausing.pause_journey(
            runtime.client,
            runtime.ledger,
            "pausing",
            "pause",
            by="ops",
            batch_size=2,
            progress=lambda p: seen.append((p.done, p.total)),
        )
        assert sorted(report.signalled) == sorted(endusers) and report.batches == 2
        assert seen == [(2, 3), (3, 3)]
        for handle in handles:
            await wait_for(runtime, handle, lambda s: s.paused is not None)
        await runtime.env.sleep(timedelta(days=3))
        assert runtime.steps_done() == ["root"] * 3
        report = await pausing.pause_journey(
            runtime.client, runtime.ledger, "pausing", "resume", by="ops"
        )
        assert sorted(report.signalled) == sorted(endusers)
        for handle in handles:
            assert (await handle.result()).outcome == "completed"
    assert sorted(runtime.steps_done()) == ["follow-up"] * 3 + ["reminder"] * 3 + ["root"] * 3


async def test_pausing_an_enrollment_that_is_not_running_is_not_found(runtime, tmp_path):
    from services.errors import NotFound

    with pytest.raises(NotFound, match="has no running enrollment"):
        await pausing.pause_enrollment(runtime.client, "pausing", "nobody", "pause", by=None)
