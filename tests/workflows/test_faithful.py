"""What deploys is what runs: events are matched only to records this run created,
and constructs that used to be accepted and then ignored behave as Tellescope's do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.runtime import TicketClosed
from tests.workflows.conftest import write_journey
from tests.workflows.test_forms import INTAKE, PORTAL, _current, submit, wait_for
from tests.workflows.test_lifecycle import next_run
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_form_sent_before_a_restart_does_not_drive_the_new_run(runtime, tmp_path):
    """docs/semantics.md §3.3 and docs/decisions.md D8: after a restart, submitting the form the previous
    run sent neither cancels the new run's reminder nor runs its formResponse branch."""
    runtime.deploy(write_journey(tmp_path, INTAKE))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "reminder" for p in s.pending)
        )
        old_form = f"fr-{status.history[0].actionId}-0"
        await runtime.enroll("intake")  # restart
        fresh = await next_run(runtime, handle)
        status = await wait_for(
            runtime, fresh, lambda s: any(p.stepId == "reminder" for p in s.pending)
        )
        new_form = f"fr-{status.history[0].actionId}-0"
        assert new_form != old_form
        await submit(runtime, fresh, "send-intake", old_form)
        with runtime.env.auto_time_skipping_disabled():
            await runtime.env.sleep(timedelta(seconds=1))
        status = await fresh.query(JourneyWorkflow.status)
        assert any(p.stepId == "reminder" for p in status.pending)
        assert runtime.steps_done() == ["send-intake", "send-intake"]
        # The form this run sent still counts.
        await submit(runtime, fresh, "send-intake", new_form)
        await wait_for(runtime, fresh, lambda s: any(h.stepId == "thanks" for h in s.history))
        await runtime.env.sleep(timedelta(hours=1, minutes=1))
        status = await wait_for(runtime, fresh, lambda s: not s.pending and not s.waitingFor)
        assert status.ignored == [f"form response {old_form} of send-intake: not sent by this run"]
    assert runtime.steps_done() == ["send-intake", "send-intake", "thanks", "after-thanks"]
    assert status.state == "Submitted"


TICKETS = """
journey: {id: tickets, title: Tickets}
steps:
  - id: call
    events: [{type: onJourneyStart, info: {}}]
    action: {type: createTicket, info: {title: Call, assignmentStrategy: {type: default, info: {}}, defaultAssignee: u1}}
  - id: called
    events: [{type: ticketCompleted, info: {automationStepId: call}}]
    action: {type: setEnduserStatus, info: {status: Called}}
"""


async def close_ticket(runtime, handle, ticket_id: str) -> None:
    plan = runtime.plans.get(
        runtime.plans.current("tickets").journey_id, runtime.plans.current("tickets").version
    )
    await handle.signal(
        JourneyWorkflow.ticket_closed,
        TicketClosed(ticketId=ticket_id, automationStepId=plan.tellescopeStepIds["call"]),
    )


async def test_a_foreign_ticket_close_is_ignored_and_reported(runtime, tmp_path):
    """A ticket carrying the step id but created outside this run (by hand, or by the run a
    restart replaced) fires nothing and is reported, instead of waiting forever."""
    runtime.deploy(write_journey(tmp_path, TICKETS))
    async with runtime.worker():
        handle = await runtime.enroll("tickets")
        status = await wait_for(runtime, handle, lambda s: bool(s.waitingFor))
        await close_ticket(runtime, handle, "ticket-made-by-hand")
        status = await wait_for(runtime, handle, lambda s: bool(s.ignored))
        assert "ticket-made-by-hand" in status.ignored[0]
        assert status.waitingFor and status.waitingFor[0].startswith("ticket ")
        own = status.waitingFor[0].split()[1]
        await close_ticket(runtime, handle, own)
        result = await handle.result()
    assert runtime.steps_done() == ["call", "called"]
    assert result.state == "Called"


AT_STATE = """
journey: {id: states, title: States}
steps:
  - id: root
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Active}}
  - id: while-active
    events: [{type: afterAction, info: {automationStepId: root, delay: 1, unit: Hours}}]
    conditions: [{type: atJourneyState, info: {journeyId: states, state: Active}}]
    action: {type: addEnduserTags, info: {tags: [active]}}
  - id: while-paused
    events: [{type: afterAction, info: {automationStepId: root, delay: 1, unit: Hours}}]
    conditions: [{type: atJourneyState, info: {journeyId: states, state: Paused}}]
    action: {type: addEnduserTags, info: {tags: [paused]}}
  - id: after-paused
    events: [{type: afterAction, info: {automationStepId: while-paused, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [after-paused]}}
"""


async def test_at_journey_state_condition_skips_the_step(runtime, tmp_path):
    """docs/semantics.md §4.1: a step with the deprecated `conditions: [atJourneyState]` runs
    only while the enduser's state in that journey is the one named; otherwise it is skipped
    (finished, no side effect, no children), like false enduserConditions
    (docs/decisions.md D2)."""
    runtime.deploy(write_journey(tmp_path, AT_STATE))
    async with runtime.worker():
        result = await (await runtime.enroll("states")).result()
    assert sorted(runtime.steps_done()) == ["root", "while-active"]
    (paused,) = runtime.ledger_rows("while-paused")
    assert (paused.status, paused.skipped) == ("finished", "journey state")
    assert runtime.ledger_rows("after-paused") == []
    assert result.state == "Active"


UPCOMING = """
journey: {id: upcoming, title: Upcoming}
steps:
  - id: has-appointment
    events: [{type: onJourneyStart, info: {}}]
    enduserConditions: {condition: {__upcomingEvents__: {$gt: "0", $templateIds: [visit]}}}
    action: {type: addEnduserTags, info: {tags: [booked]}}
  - id: no-appointment
    events: [{type: onJourneyStart, info: {}}]
    enduserConditions: {condition: {__upcomingEvents__: {$lt: "1", $templateIds: [visit]}}}
    action: {type: addEnduserTags, info: {tags: [unbooked]}}
"""


async def test_upcoming_events_condition_sees_the_enduser_s_appointments(runtime, tmp_path):
    """docs/semantics.md §10.1 rule 2: `__upcomingEvents__` counts the enduser's upcoming
    appointments, read once when the step's conditions are evaluated."""
    runtime.deploy(write_journey(tmp_path, UPCOMING))
    now = await runtime.env.get_current_time()
    runtime.tellescope.calendar_events = [
        {
            "id": "ev1",
            "templateId": "visit",
            "startTimeInMS": int(now.timestamp() * 1000) + 86_400_000,
        },
        {
            "id": "ev0",
            "templateId": "visit",
            "startTimeInMS": int(now.timestamp() * 1000) - 86_400_000,
        },
    ]
    async with runtime.worker():
        await (await runtime.enroll("upcoming")).result()
    assert runtime.steps_done() == ["has-appointment"]
    (skipped,) = runtime.ledger_rows("no-appointment")
    assert skipped.skipped == "conditions"


SWITCH = """
journey: {id: family, title: Family}
steps:
  - id: to-parent
    events: [{type: onJourneyStart, info: {}}]
    action: {type: switchToRelatedContact, info: {type: Parent}}
  - id: tag-parent
    events: [{type: afterAction, info: {automationStepId: to-parent, delay: 1, unit: Hours}}]
    enduserConditions: {condition: {fname: Dana}}
    action: {type: addEnduserTags, info: {tags: [guardian]}}
  - id: then-state
    events: [{type: afterAction, info: {automationStepId: tag-parent, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [still-parent]}}
  - id: child-again
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [child]}}
"""


async def test_switch_to_related_contact_acts_on_the_parent_for_the_rest_of_the_branch(
    runtime, tmp_path
):
    """docs/semantics.md §8.4: a child with relationship Parent; after switchToRelatedContact
    the following steps of that branch (conditions included) act on the parent; other branches
    still act on the enrolled enduser."""
    runtime.deploy(write_journey(tmp_path, SWITCH))
    runtime.tellescope.enduser["relationships"] = [{"type": "Parent", "id": "parent-1"}]
    runtime.tellescope.related["parent-1"] = {"id": "parent-1", "fname": "Dana"}
    async with runtime.worker():
        await (await runtime.enroll("family")).result()
    acting = {e.step: e.enduserId for e in runtime.tellescope.effects}
    assert acting == {
        "to-parent": runtime.enduser_id,
        "tag-parent": "parent-1",
        "then-state": "parent-1",
        "child-again": runtime.enduser_id,
    }
    assert runtime.tellescope.related["parent-1"]["tags"] == ["guardian", "still-parent"]
    assert runtime.tellescope.enduser["tags"] == ["child"]
    (row,) = runtime.ledger_rows("tag-parent")
    assert row.acting_enduser_id == "parent-1"


async def test_switch_without_a_related_contact_is_the_step_s_error(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, SWITCH))
    async with runtime.worker():
        result = await (await runtime.enroll("family")).result()
    (row,) = runtime.ledger_rows("to-parent")
    assert row.status == "error" and "Parent" in row.error_message
    assert result.errors == 1
    assert runtime.ledger_rows("tag-parent") == []


FAILING = """
journey: {id: failing, title: Failing}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: missing}}
  - id: on-error
    events: [{type: onError, info: {automationStepId: send-intake}}]
    action: {type: addEnduserTags, info: {tags: [failed]}}
"""


async def test_a_failed_step_leaves_one_background_error(runtime, tmp_path):
    """docs/semantics.md §4.4: an action that fails gets status error and a BackgroundError
    {title, message, journeyId, automationStepId, enduserId} is created in Tellescope."""
    runtime.deploy(write_journey(tmp_path, FAILING))
    runtime.tellescope.failing_steps["send-intake"] = "form missing does not exist"
    async with runtime.worker():
        await (await runtime.enroll("failing")).result()
    plan = runtime.plans.get(*_current(runtime, "failing"))
    (error,) = runtime.tellescope.background_errors
    (row,) = runtime.ledger_rows("send-intake")
    assert error.automatedActionId == row.id
    assert error.message == "form missing does not exist"
    assert error.enduserId == runtime.enduser_id
    assert error.journeyId == plan.tellescopeJourneyId
    assert error.automationStepId == plan.tellescopeStepIds["send-intake"]
    assert runtime.steps_done() == ["on-error"]


async def test_forms_unsubmitted_ledger_row_counts_down(runtime, tmp_path):
    """docs/semantics.md §7.4: the formsUnsubmitted action's `formResponses` cancel condition
    carries `unsubmittedFormCount`, decremented in place as forms come in (2 -> 1 -> 0)."""
    runtime.deploy(write_journey(tmp_path, PORTAL))
    async with runtime.worker():
        handle = await runtime.enroll("intake")
        status = await wait_for(
            runtime, handle, lambda s: any(p.stepId == "nudge" for p in s.pending)
        )
        pushed = status.history[0].actionId
        await wait_for(runtime, handle, lambda s: bool(runtime.ledger_rows("nudge")))
        assert runtime.ledger_rows("nudge")[0].unsubmitted_form_count == 2
        await submit(runtime, handle, "push-forms", f"fr-{pushed}-0")
        await wait_for(runtime, handle, lambda s: any(h.stepId == "each-form" for h in s.history))
        await wait_for(
            runtime, handle, lambda s: runtime.ledger_rows("nudge")[0].unsubmitted_form_count == 1
        )
        (nudge,) = runtime.ledger_rows("nudge")
        assert nudge.status == "active"
        assert nudge.cancel_conditions == [
            {"type": "formResponses", "stepId": "push-forms", "unsubmittedFormCount": 1}
        ]
        await submit(runtime, handle, "push-forms", f"fr-{pushed}-1")
        await handle.result()
    (nudge,) = runtime.ledger_rows("nudge")
    assert (nudge.status, nudge.unsubmitted_form_count) == ("cancelled", 0)


async def test_a_ticket_closed_in_the_foreground_records_a_nop_action(runtime, tmp_path):
    """docs/semantics.md §6.1, §8.3: the close itself was done in the foreground; the ledger
    records it as an isNOP action of the ticket's step (nothing re-executed)."""
    runtime.deploy(write_journey(tmp_path, TICKETS))
    async with runtime.worker():
        handle = await runtime.enroll("tickets")
        status = await wait_for(runtime, handle, lambda s: bool(s.waitingFor))
        ticket = status.waitingFor[0].split()[1]
        await close_ticket(runtime, handle, ticket)
        await handle.result()
    rows = runtime.ledger_rows("call")
    assert sorted((r.status, r.is_nop) for r in rows) == [("finished", False), ("finished", True)]
    nop = next(r for r in rows if r.is_nop)
    assert ticket in nop.detail
    assert runtime.steps_done() == ["call", "called"]  # the ticket was created once


SETTERS = """
journey: {id: setters, title: Setters}
steps:
  - id: set
    events: [{type: onJourneyStart, info: {}}]
    action:
      type: setEnduserFields
      info:
        fields:
          - {name: Greeting, type: Custom Value, value: "Hello {{enduser.fname}}"}
          - {name: Visits, type: Increment Number}
          - {name: timezone, type: Custom Value, value: America/Chicago}
          - {name: Since, type: Date Difference, dateDifferenceOptions: {date1: Start, date2: 01-25-2024}}
  - id: tag
    events: [{type: afterAction, info: {automationStepId: set, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: ["{{enduser.Greeting}}"]}}
"""


async def test_the_recording_stand_in_writes_what_production_writes(runtime, tmp_path):
    """The stand-in runs production's setters and merge fields, instead of
    writing the raw values of the YAML."""
    runtime.deploy(write_journey(tmp_path, SETTERS))
    runtime.tellescope.enduser["fields"] = {"Visits": 2, "Start": "2024-01-15T10:00:00Z"}
    async with runtime.worker():
        await (await runtime.enroll("setters")).result()
    enduser = runtime.tellescope.enduser
    assert enduser["fields"]["Greeting"] == "Hello Pat"
    assert enduser["fields"]["Visits"] == 3
    assert enduser["fields"]["Since"] == 10
    assert enduser["timezone"] == "America/Chicago"  # a built-in: set at the top level
    assert enduser["tags"] == ["Hello Pat"]
