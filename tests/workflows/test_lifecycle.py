"""Enrollment lifecycle (docs/semantics.md §3, §8.5): idempotent enroll, restart, removal by
API, automation and incoming communication, journey-control actions, membership mirroring,
continue-as-new."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from models.runtime import (
    ActionRequest,
    CarriedJoin,
    EnrollmentInput,
    IncomingMessage,
    RemoveRequest,
)
from tests.temporal_env import next_run_id
from tests.workflows.conftest import close, write_journey
from tests.workflows.test_forms import wait_for
from workflows import starter
from workflows.journey import JourneyWorkflow
from workflows.patches import HISTORY_SHAPE_COMPACT, HISTORY_SHAPE_FOLDED

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT_AND_CHILD = """
journey: {id: restart, title: Restart, onIncomingEnduserCommunication: %s}
steps:
  - id: root
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Root}}
  - id: child
    events: [{type: afterAction, info: {automationStepId: root, delayInMS: 100000000}}]
    action: {type: setEnduserStatus, info: {status: Delayed Step}}
"""


async def next_run(runtime, handle):
    """The run that replaced `handle`'s run (restart continues as new under the same id)."""
    with runtime.env.auto_time_skipping_disabled():
        for _ in range(200):
            run_id = await next_run_id(runtime.client, handle.id, handle.result_run_id)
            if run_id is not None:
                return runtime.client.get_workflow_handle(handle.id, run_id=run_id)
            await runtime.env.sleep(timedelta(milliseconds=50))
    raise AssertionError("the enrollment did not restart")


def statuses(runtime, step):
    return sorted(row.status for row in runtime.ledger_rows(step))


async def test_enroll_is_idempotent_without_restart(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        first = await runtime.enroll("restart")
        await wait_for(runtime, first, lambda s: bool(s.pending))
        row = runtime.plans.current("restart")
        from models.runtime import EnrollmentInput

        again = await starter.enroll(
            runtime.client,
            EnrollmentInput(
                journeyId="restart",
                planVersion=row.version,
                enduserId=runtime.enduser_id,
                tellescopeJourneyId=row.tellescope_journey_id,
            ),
            task_queue=runtime.task_queue,
            restart=False,
        )
        assert again.result_run_id == first.result_run_id  # the same run: nothing restarted
        await wait_for(runtime, first, lambda s: bool(s.pending))
    assert runtime.steps_done() == ["root"]


async def test_restart_cancels_pending_and_starts_again(runtime, tmp_path):
    """docs/semantics.md §3.3 (Tellescope's addToJourneyTests): root finished x2, child
    cancelled x1 with reason 1 (Restarted in Journey), child active x1."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        handle = await runtime.enroll("restart")
        await wait_for(runtime, handle, lambda s: any(p.stepId == "child" for p in s.pending))
        await runtime.enroll("restart")  # restart=True by default: signal-with-start `restart`
        fresh = await next_run(runtime, handle)
        status = await wait_for(runtime, fresh, lambda s: s.state == "Root" and bool(s.pending))
    assert [h.stepId for h in status.history] == ["root"]
    assert statuses(runtime, "root") == ["finished", "finished"]
    assert statuses(runtime, "child") == ["active", "cancelled"]
    cancelled = next(r for r in runtime.ledger_rows("child") if r.status == "cancelled")
    assert cancelled.cancel_reason == 1
    assert status.state == "Root"


async def test_remove_cancels_pending_and_leaves_no_timer(runtime, tmp_path):
    """docs/semantics.md §3.5: removal while waiting leaves no pending timer and marks
    pending actions cancelled with the right reason (0 = removed by user/API); membership
    is unset."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        handle = await runtime.enroll("restart")
        await wait_for(runtime, handle, lambda s: any(p.stepId == "child" for p in s.pending))
        assert await starter.remove(
            runtime.client,
            "restart",
            runtime.enduser_id,
            RemoveRequest(cancelReason=0, cancelledBy="user-7"),
        )
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.outcome == "removed" and result.cancelled == 1
    (child,) = runtime.ledger_rows("child")
    assert (child.status, child.cancel_reason, child.cancelled_by) == ("cancelled", 0, "user-7")
    started = sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED)
    ended = sum(
        1
        for e in history.events
        if e.event_type in (EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_CANCELED)
    )
    assert started == ended == 1  # the child's timer was cancelled, none left behind
    journey_id = runtime.plans.current("restart").tellescope_journey_id
    assert runtime.tellescope.journey_states[-1] == (journey_id, None)
    assert journey_id not in runtime.tellescope.enduser["journeys"]
    assert not await starter.remove(runtime.client, "restart", "nobody", RemoveRequest())


@pytest.mark.parametrize(("setting", "removed"), [("Remove", True), ('""', False)])
async def test_incoming_message_removes_only_when_the_journey_says_so(
    runtime, tmp_path, setting, removed
):
    """docs/semantics.md §3.7: reason 3 (Incoming Communication) when
    onIncomingEnduserCommunication=Remove."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % setting))
    async with runtime.worker():
        handle = await runtime.enroll("restart")
        await wait_for(runtime, handle, lambda s: any(p.stepId == "child" for p in s.pending))
        await handle.signal(JourneyWorkflow.incoming_message, IncomingMessage(channel="SMS"))
        if removed:
            result = await handle.result()
            assert result.outcome == "removed"
            assert runtime.ledger_rows("child")[0].cancel_reason == 3
        else:
            status = await wait_for(runtime, handle, lambda s: bool(s.pending))
            assert not status.removed and runtime.ledger_rows("child")[0].status == "active"


JOURNEY_A = """
journey: {id: alpha, title: Alpha}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addToJourney, info: {journeyId: beta}}
  - id: later
    events: [{type: afterAction, info: {automationStepId: start, delay: 1, unit: Days}}]
    action: {type: %s, info: %s}
"""
JOURNEY_B = """
journey: {id: beta, title: Beta}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: In beta}}
  - id: wait
    events: [{type: afterAction, info: {automationStepId: hello, delay: 10, unit: Days}}]
    action: {type: setEnduserStatus, info: {status: Beta done}}
"""


async def run_alpha_and_beta(runtime, tmp_path, action: str, info: str):
    (tmp_path / "a").mkdir()
    write_journey(tmp_path / "a", JOURNEY_A % (action, info))
    (tmp_path / "a" / "beta.yaml").write_text(JOURNEY_B)
    runtime.deploy(tmp_path / "a")
    async with runtime.worker():
        alpha = await runtime.enroll("alpha")
        beta = runtime.client.get_workflow_handle_for(
            JourneyWorkflow.run, f"journey:beta:{runtime.enduser_id}"
        )
        runtime.handles.append(beta)
        alpha_result = await alpha.result()
        beta_result = await beta.result()
    return alpha_result, beta_result


async def test_add_to_journey_then_remove_from_journey(runtime, tmp_path):
    alpha, beta = await run_alpha_and_beta(
        runtime, tmp_path, "removeFromJourney", "{journeyId: beta}"
    )
    assert alpha.outcome == "completed"
    assert beta.outcome == "removed" and beta.state == "In beta"
    (wait,) = runtime.ledger_rows("wait")
    assert (wait.status, wait.cancel_reason) == ("cancelled", 4)  # removed by automation


async def test_remove_from_all_journeys_includes_the_current_one(runtime, tmp_path):
    alpha, beta = await run_alpha_and_beta(runtime, tmp_path, "removeFromAllJourneys", "{}")
    assert beta.outcome == "removed" and alpha.outcome == "removed"
    assert runtime.ledger_rows("later")[0].status == "finished"


async def test_add_to_unknown_journey_is_the_step_s_error(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            """
journey: {id: alpha, title: Alpha}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addToJourney, info: {journeyId: 64f0000000000000000000ff}}
""",
        )
    )
    async with runtime.worker():
        result = await (await runtime.enroll("alpha")).result()
    assert result.errors == 1
    assert "is not deployed" in runtime.ledger_rows("start")[0].error_message


async def test_membership_is_mirrored_to_the_enduser(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        handle = await runtime.enroll("restart")
        await wait_for(runtime, handle, lambda s: s.state == "Root")
    journey_id = runtime.plans.current("restart").tellescope_journey_id
    assert runtime.tellescope.journey_states == [(journey_id, "")]  # joined with state ""
    assert runtime.tellescope.enduser["journeys"] == {journey_id: "Root"}


async def test_start_at_step(runtime, tmp_path):
    """docs/semantics.md §12.1: automationStepId starts the enrollment at that step instead of
    the roots."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        result = await (await runtime.enroll("restart", startAtStepId="child")).result()
    assert runtime.steps_done() == ["child"]
    assert result.state == "Delayed Step"


LONG = """
journey: {id: long, title: Long}
steps:
  - id: s0
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [s0]}}
""" + "".join(
    f"""
  - id: s{i}
    events: [{{type: afterAction, info: {{automationStepId: s{i - 1}, delay: {i}, unit: Hours}}}}]
    action: {{type: addEnduserTags, info: {{tags: [s{i}]}}}}
  - id: side{i}
    events: [{{type: afterAction, info: {{automationStepId: s{i - 1}, delay: 3, unit: Days}}}}]
    action: {{type: addEnduserTags, info: {{tags: [side{i}]}}}}
"""
    for i in range(1, 13)
)


async def test_continue_as_new_carries_pending_timers_exactly(runtime, tmp_path):
    """docs/temporal.md §5: the run rolls over at step boundaries and every pending due time is
    kept to the millisecond (side branches span several runs)."""
    runtime.deploy(write_journey(tmp_path, LONG))
    async with runtime.worker():
        handle = await runtime.enroll("long", continueAsNewAfterEvents=60)
        result = await handle.result()
        first_run = runtime.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        history = await first_run.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert result.outcome == "completed" and result.finished == 25
    assert sorted(runtime.steps_done()) == sorted(
        ["s0"] + [f"s{i}" for i in range(1, 13)] + [f"side{i}" for i in range(1, 13)]
    )
    rows = {row.automation_step_id: row for row in runtime.ledger_rows()}
    for step, row in rows.items():
        (ran,) = runtime.ran_at(step)
        due = row.process_after / 1000
        assert close(ran, ran.fromtimestamp(due, ran.tzinfo)), step
        if step.startswith("side"):
            parent = rows[f"s{int(step[4:]) - 1}"]
            assert row.process_after - int(parent.updated_at.timestamp() * 1000) in range(
                3 * 86_400_000 - 1000, 3 * 86_400_000 + 1000
            )


async def test_removal_after_completion_is_ignored_safely(runtime, tmp_path):
    """docs/decisions.md D8: events for an ended enrollment are ignored, never executed."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    async with runtime.worker():
        handle = await runtime.enroll("restart")
        await handle.result()
    assert (
        await starter.remove(runtime.client, "restart", runtime.enduser_id, RemoveRequest())
        is False
    )


async def test_a_run_resumes_from_the_continue_as_new_input_of_an_older_engine(runtime, tmp_path):
    """The state a run of an earlier engine version handed to continue-as-new (its JSON shape,
    without the fields added later) loads into the state model; its pending action runs at its
    due time and its counts carry on."""
    runtime.deploy(write_journey(tmp_path, ROOT_AND_CHILD % '""'))
    now = await runtime.env.get_current_time()
    due = now + timedelta(hours=1)
    old_resume = {
        "state": "Root",
        "actions": [
            {
                "id": "0000000000000000000000a1",
                "stepId": "child",
                "eventIndex": 0,
                "createdAt": int(now.timestamp() * 1000),
                "processAfter": int(due.timestamp() * 1000),
                "scheduled": True,
                "parked": False,
                "didDelayForOutOfOffice": False,
                "journeyContext": {},
                "cancelConditions": [],
                "inheritable": [],
                "abTestLabel": None,
            }
        ],
        "forms": {},
        "submissions": {},
        "tickets": {},
        "closedTickets": {},
        "history": [
            {
                "at": now.isoformat(),
                "actionId": "0000000000000000000000b2",
                "stepId": "root",
                "status": "finished",
                "detail": "",
            }
        ],
        "counts": {"finished": 1, "cancelled": 0, "error": 0},
    }
    async with runtime.worker():
        handle = await runtime.enroll("restart", resume=old_resume)
        result = await handle.result()
        status = await handle.query(JourneyWorkflow.status)
    assert (result.outcome, result.state, result.finished) == ("completed", "Delayed Step", 2)
    assert runtime.steps_done() == ["child"]
    (ran,) = runtime.ran_at("child")
    # At its due time, an hour after the old run handed it over: a few seconds' slack, because
    # this first task of the new run replays the restored state and a loaded CI machine took
    # 1.5 s of the server's (real-time) clock for it once.
    assert close(ran, due, timedelta(seconds=5))
    assert [h.stepId for h in status.history if h.status == "finished"] == ["root", "child"]


PARKED = """
journey: {id: parked, title: Parked}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Greeted}}
  - id: released
    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: go}}]
    action: {type: addEnduserTags, info: {tags: [released]}}
triggers:
  - id: go
    title: Release
    status: Active
    journeyId: parked
    event: {type: Tag Added, info: {tag: go}}
    action: {type: Move To Step, info: {}}
"""


def local_activities(history) -> list[str]:
    return [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


def activity_inputs(history) -> list[dict]:
    return [
        json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_the_folded_shape_joins_the_journey_on_the_first_steps_activity(runtime, tmp_path):
    """docs/decisions.md D41 (and D35 before it): the start carries the plan and
    JourneyWaitingAt; the first step's activity carries the join and the first ledger rows,
    written before its side effect (its state wins over the join's ""), so the first workflow
    task records no marker and no upsert."""
    runtime.deploy(write_journey(tmp_path, PARKED))
    async with runtime.worker():
        handle = await runtime.enroll("parked")
        await wait_for(runtime, handle, lambda s: bool(s.pending) and s.state == "Greeted")
        history = await handle.fetch_history()
        described = await handle.describe()
    started = history.events[0].workflow_execution_started_event_attributes
    inp = json.loads(started.input.payloads[0].data)
    assert inp["historyShape"] == HISTORY_SHAPE_FOLDED
    assert inp["plan"]["version"] == inp["planVersion"] and inp["plan"]["triggers"] == []
    assert local_activities(history) == ["record_ledger"]  # the second ledger write only
    (first_step,) = activity_inputs(history)
    journey_id = runtime.plans.current("parked").tellescope_journey_id
    carried = first_step["joinFirst"]
    assert carried["membership"]["journeyId"] == journey_id
    # the row of the step the request performs, without what the request already says
    (row,) = carried["entries"]
    assert not {"id", "automationStepId", "action", "enduserId", "workflowId"} & set(row)
    batch = CarriedJoin.model_validate(carried).batch(
        ActionRequest.model_validate(first_step), handle.id
    )
    assert [(e.automationStepId, e.status, e.enduserId) for e in batch.entries] == [
        ("hello", "active", runtime.enduser_id)
    ]
    kinds = [e.event_type for e in history.events]
    # No marker before the step's activity (the time-skipping server adds workflow tasks of its
    # own, so the event count is checked on the dev server: tests/bench/test_actions.py).
    assert kinds.index(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) < kinds.index(
        EventType.EVENT_TYPE_MARKER_RECORDED
    )
    assert kinds.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) == 1
    assert runtime.tellescope.journey_states == [(journey_id, "")]  # written once
    assert runtime.tellescope.enduser["journeys"] == {journey_id: "Greeted"}
    statuses = {r.automation_step_id: r.status for r in runtime.ledger_rows()}
    assert statuses == {"hello": "finished", "released": "active"}
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert attributes["JourneyWaitingAt"] == ["released"]
    assert attributes["JourneyState"] == "Greeted"
    assert "NextActionAt" not in attributes  # waiting for a trigger, not a time
    await handle.terminate("test finished")


async def test_a_compact_shape_run_still_joins_with_its_first_ledger_write(runtime, tmp_path):
    """Runs started before the folded shape (D35's compact shape) keep their way of joining:
    one `join_and_record` marker before the step's activity, which carries no join."""
    runtime.deploy(write_journey(tmp_path, PARKED))
    row = runtime.plans.current("parked")
    plan = runtime.plans.enrollment_plan("parked", row.version)
    async with runtime.worker():
        handle = await runtime.enroll("parked", historyShape=HISTORY_SHAPE_COMPACT, plan=plan)
        await wait_for(runtime, handle, lambda s: bool(s.pending) and s.state == "Greeted")
        history = await handle.fetch_history()
    assert local_activities(history) == ["join_and_record", "record_ledger"]
    assert all("joinFirst" not in each for each in activity_inputs(history))
    kinds = [e.event_type for e in history.events]
    # The join's marker comes before the step's activity is scheduled. (Whether both land in the
    # first workflow task depends on how fast the local activity runs: a slow one makes the
    # worker complete that task early and finish in the next.)
    assert kinds.index(EventType.EVENT_TYPE_MARKER_RECORDED) < kinds.index(
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    journey_id = row.tellescope_journey_id
    assert runtime.tellescope.journey_states[0] == (journey_id, "")
    assert runtime.tellescope.enduser["journeys"] == {journey_id: "Greeted"}
    await handle.terminate("test finished")


FIRST_STEP_FAILS = """
journey: {id: failing-first, title: Failing first}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [hello]}}
  - id: other-root
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [other]}}
"""


async def test_a_failed_first_step_leaves_the_join_to_the_ledger_writer(runtime, tmp_path):
    """D41: the first step's activity wrote the join, then failed; the workflow cannot tell
    whether the join was written, so its ledger writer writes it again (idempotent). The other
    root performs only once the join is known written."""
    runtime.deploy(write_journey(tmp_path, FIRST_STEP_FAILS))
    runtime.tellescope.failing_steps["hello"] = "Tellescope says no"
    async with runtime.worker():
        handle = await runtime.enroll("failing-first")
        result = await handle.result()
        history = await handle.fetch_history()
    assert (result.errors, result.finished) == (1, 1)
    journey_id = runtime.plans.current("failing-first").tellescope_journey_id
    carried = [each for each in activity_inputs(history) if "joinFirst" in each]
    assert [each["stepName"] for each in carried] == ["hello"]
    assert "join_and_record" in local_activities(history)
    # joined by the failed step's attempt, then again by the ledger writer
    assert runtime.tellescope.journey_states == [(journey_id, ""), (journey_id, "")]
    assert runtime.steps_done() == ["other-root"]  # after the join, never before
    statuses = {r.automation_step_id: r.status for r in runtime.ledger_rows()}
    assert statuses == {"hello": "error", "other-root": "finished"}


async def test_a_worker_without_the_interceptor_still_joins_after_the_step(runtime, tmp_path):
    """D41: a worker built without JoinFirst runs the step without writing the join; the
    outcome says so and the workflow writes it with its next ledger write (late, not lost)."""
    runtime.deploy(write_journey(tmp_path, PARKED))
    async with runtime.worker(join_first=False):
        handle = await runtime.enroll("parked")
        await wait_for(runtime, handle, lambda s: bool(s.pending) and s.state == "Greeted")
        history = await handle.fetch_history()
    journey_id = runtime.plans.current("parked").tellescope_journey_id
    assert local_activities(history) == ["join_and_record"]
    assert runtime.tellescope.journey_states == [(journey_id, "")]
    statuses = {r.automation_step_id: r.status for r in runtime.ledger_rows()}
    assert statuses == {"hello": "finished", "released": "active"}
    await handle.terminate("test finished")


async def test_the_starter_refuses_a_plan_of_another_version(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, PARKED))
    row = runtime.plans.current("parked")
    plan = runtime.plans.enrollment_plan("parked", row.version)
    inp = EnrollmentInput(
        journeyId="parked",
        planVersion="0" * 12,
        enduserId=runtime.enduser_id,
        tellescopeJourneyId=row.tellescope_journey_id,
    )
    with pytest.raises(ValueError, match="is not the enrollment's parked@000000000000"):
        await starter.enroll(runtime.client, inp, task_queue=runtime.task_queue, plan=plan)
