"""Form events and cancel conditions (docs/semantics.md §4.3, §7): formResponse, formResponses,
formUnsubmitted, formsUnsubmitted, explicit and inherited cancel conditions, early and duplicate
submissions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.runtime import FormSubmitted
from tests.workflows.conftest import close, write_journey
from workflows.journey import JourneyWorkflow
from workflows.patches import (
    HISTORY_SHAPE_COMPACT,
    HISTORY_SHAPE_FOLDED,
    HISTORY_SHAPE_LEAN,
    IN_LEAN_SHAPE,
    PATCH_SIGNALS_WAIT_FOR_PLAN,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

INTAKE = """
journey: {id: intake, title: Intake}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: thanks
    events: [{type: formResponse, info: {automationStepId: send-intake}}]
    action: {type: setEnduserStatus, info: {status: Submitted}}
  - id: after-thanks
    events: [{type: afterAction, info: {automationStepId: thanks, delay: 1, unit: Hours}}]
    action: {type: addEnduserTags, info: {tags: [thanked]}}
  - id: reminder
    events: [{type: formUnsubmitted, info: {automationStepId: send-intake, delay: 2, unit: Days}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t-reminder}}
  - id: escalate
    events: [{type: afterAction, info: {automationStepId: reminder, delay: 3, unit: Days}}]
    action: {type: createTicket, info: {title: Call, assignmentStrategy: {type: default, info: {}}, defaultAssignee: u1}}
"""


def patch_ids(history) -> set[str]:
    """The workflow.patched ids in force in a run: its patch markers, and in a lean-shape run
    (input `historyShape` 2, workflows/patches.py) the patches it has without markers."""
    started = history.events[0].workflow_execution_started_event_attributes
    shape = json.loads(started.input.payloads[0].data).get("historyShape")
    lean = shape in (HISTORY_SHAPE_LEAN, HISTORY_SHAPE_COMPACT, HISTORY_SHAPE_FOLDED)
    ids = set(IN_LEAN_SHAPE) if lean else set()
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_patch":
            ids.add(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


async def submit(runtime, handle, step: str, form_response_id: str) -> None:
    plan = runtime.plans.get(*_current(runtime, "intake"))
    await handle.signal(
        JourneyWorkflow.form_submitted,
        FormSubmitted(
            formResponseId=form_response_id, automationStepId=plan.tellescopeStepIds[step]
        ),
    )


def _current(runtime, journey_id):
    row = runtime.plans.current(journey_id)
    return row.journey_id, row.version


async def wait_for(runtime, handle, predicate, limit=200):
    """Let the worker process (virtual time frozen) until the status query satisfies `predicate`."""
    with runtime.env.auto_time_skipping_disabled():
        for _ in range(limit):
            status = await handle.query(JourneyWorkflow.status)
            if predicate(status):
                return status
            await runtime.env.sleep(timedelta(milliseconds=50))
    raise AssertionError(f"condition not reached; last status: {status}")


async def test_unsubmitted_form_runs_reminder_then_escalation(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, INTAKE))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        # Nothing submitted: the reminder after 2 days, the escalation 3 days later. The enrollment
        # keeps listening for the form afterwards, so stop it once the escalation ran.
        await wait_for(runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending))
        await runtime.env.sleep(timedelta(days=5, minutes=1))
        await wait_for(runtime, handle, lambda s: any(h.stepId == "escalate" for h in s.history))
        status = await handle.query(JourneyWorkflow.status)
    assert runtime.steps_done() == ["send-intake", "reminder", "escalate"]
    (sent,) = runtime.ran_at("send-intake")
    assert close(runtime.ran_at("reminder")[0], sent + timedelta(days=2))
    assert close(runtime.ran_at("escalate")[0], sent + timedelta(days=5))
    assert status.waitingFor == ["form from send-intake"]


async def test_submission_a_minute_before_due_cancels_the_reminder(runtime, tmp_path):
    """docs/semantics.md §7.1: a formUnsubmitted reminder is cancelled by a submission one minute
    before it is due; the formResponse branch runs instead, with the form response in
    its context."""
    runtime.deploy(write_journey(tmp_path, INTAKE))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending)
        )
        form_response_id = f"fr-{status.history[0].actionId}-0"
        await runtime.env.sleep(timedelta(days=2) - timedelta(minutes=1))
        await submit(runtime, handle, "send-intake", form_response_id)
        result = await handle.result()
    assert runtime.steps_done() == ["send-intake", "thanks", "after-thanks"]
    assert result.state == "Submitted"
    (reminder,) = runtime.ledger_rows("reminder")
    assert (reminder.status, reminder.cancel_reason) == ("cancelled", 2)  # Form Submission
    assert reminder.cancel_conditions == [{"type": "formResponse", "stepId": "send-intake"}]
    (after_thanks,) = runtime.ledger_rows("after-thanks")
    assert after_thanks.journey_context == {"formResponseId": form_response_id}
    assert runtime.ledger_rows("escalate") == []


async def test_inherited_cancel_condition_stops_the_escalation(runtime, tmp_path):
    """docs/semantics.md §7.2: afterAction children of a formUnsubmitted step inherit its cancel
    condition."""
    runtime.deploy(write_journey(tmp_path, INTAKE))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending)
        )
        form_response_id = f"fr-{status.history[0].actionId}-0"
        await runtime.env.sleep(timedelta(days=3))  # the reminder went out; escalation pending
        await wait_for(runtime, handle, lambda s: any(p.stepId == "escalate" for p in s.pending))
        await submit(runtime, handle, "send-intake", form_response_id)
        await handle.result()
    assert runtime.steps_done() == ["send-intake", "reminder", "thanks", "after-thanks"]
    (escalate,) = runtime.ledger_rows("escalate")
    assert (escalate.status, escalate.cancel_reason) == ("cancelled", 2)


async def test_form_submitted_before_its_parent_finished_still_counts(runtime, tmp_path):
    """docs/semantics.md §4.3: the submission arrives before the sendForm step has even run (the
    patient was faster than the activity's completion); it is recorded and applied when the
    step arms its form children."""
    runtime.deploy(write_journey(tmp_path, INTAKE))
    runtime.tellescope.form_response_ids["send-intake"] = ["fr-early"]
    handle = await runtime.enroll("intake")  # no worker yet: nothing has run
    await submit(runtime, handle, "send-intake", "fr-early")
    async with runtime.worker():
        result = await handle.result()
    assert runtime.steps_done() == ["send-intake", "thanks", "after-thanks"]
    assert result.state == "Submitted"
    (reminder,) = runtime.ledger_rows("reminder")
    assert (reminder.status, reminder.cancel_reason) == ("cancelled", 2)
    # The signal came before the plan loaded: its handler waited for the plan (the new path).
    assert PATCH_SIGNALS_WAIT_FOR_PLAN in patch_ids(await handle.fetch_history())


async def test_duplicate_submission_fires_the_branch_once(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, INTAKE))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending)
        )
        form_response_id = f"fr-{status.history[0].actionId}-0"
        await submit(runtime, handle, "send-intake", form_response_id)
        await submit(runtime, handle, "send-intake", form_response_id)
        await handle.result()
    assert runtime.steps_done().count("thanks") == 1


PORTAL = """
journey: {id: intake, title: Check-in}
steps:
  - id: push-forms
    events: [{type: onJourneyStart, info: {}}]
    action: {type: pushFormsToPortal, info: {formIds: [f1, f2]}}
  - id: each-form
    events: [{type: formResponse, info: {automationStepId: push-forms}}]
    action: {type: addEnduserTags, info: {tags: [one-form]}}
  - id: all-forms
    events: [{type: formResponses, info: {automationStepId: push-forms}}]
    action: {type: setEnduserStatus, info: {status: All done}}
  - id: nudge
    events: [{type: formsUnsubmitted, info: {automationStepId: push-forms, delay: 3, unit: Days}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t-nudge}}
"""


async def test_forms_unsubmitted_counter_and_form_responses(runtime, tmp_path):
    """docs/semantics.md §7.4: each submission decrements the counter; at zero the nudge is
    cancelled and the formResponses branch fires, once, after the last form."""
    runtime.deploy(write_journey(tmp_path, PORTAL))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "nudge" for p in s.pending)
        )
        pushed = status.history[0].actionId
        await runtime.env.sleep(timedelta(days=1))
        await submit(runtime, handle, "push-forms", f"fr-{pushed}-0")
        await wait_for(runtime, handle, lambda s: any(h.stepId == "each-form" for h in s.history))
        assert runtime.ledger_rows("nudge")[0].status == "active"  # one form still open
        await submit(runtime, handle, "push-forms", f"fr-{pushed}-1")
        result = await handle.result()
    done = runtime.steps_done()
    assert done[:2] == ["push-forms", "each-form"]  # the first submission
    assert sorted(done[2:]) == ["all-forms", "each-form"]  # the last one: both branches
    assert result.state == "All done"
    (nudge,) = runtime.ledger_rows("nudge")
    assert (nudge.status, nudge.cancel_reason) == ("cancelled", 2)


async def test_forms_unsubmitted_fires_while_one_form_is_open(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, PORTAL))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "nudge" for p in s.pending)
        )
        await submit(runtime, handle, "push-forms", f"fr-{status.history[0].actionId}-0")
        await runtime.env.sleep(timedelta(days=3, minutes=1))
        await wait_for(runtime, handle, lambda s: any(h.stepId == "nudge" for h in s.history))
    assert runtime.steps_done() == ["push-forms", "each-form", "nudge"]
    assert runtime.ledger_rows("all-forms") == []


async def test_explicit_cancel_condition_on_a_delayed_step(runtime, tmp_path):
    """docs/semantics.md §7.5: "send in 2 days unless the form from step X is submitted"."""
    runtime.deploy(
        write_journey(
            tmp_path,
            """
journey: {id: intake, title: Intake}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: follow-up
    events:
      - type: afterAction
        info:
          automationStepId: send-intake
          delay: 2
          unit: Days
          cancelConditions: [{type: formResponse, info: {automationStepId: send-intake}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t1}}
  - id: unconditional
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 2, unit: Days}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t2}}
""",
        )
    )
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(runtime, handle, lambda s: len(s.pending) == 2)
        await runtime.env.sleep(timedelta(hours=5))
        await submit(runtime, handle, "send-intake", f"fr-{status.history[0].actionId}-0")
        await handle.result()
    assert runtime.steps_done() == ["send-intake", "unconditional"]
    (follow_up,) = runtime.ledger_rows("follow-up")
    assert (follow_up.status, follow_up.cancel_reason) == ("cancelled", 2)
