"""Temporal Cloud actions counted from recorded histories (tests/histories), each event of which
was checked by hand against Temporal's published definition (bench/actions.py)."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from bench.actions import cloud_actions

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def history(name: str, edit=None) -> WorkflowHistory:
    document = json.loads((HISTORIES / name).read_text())
    if edit is not None:
        edit(document["events"])
    return WorkflowHistory.from_json("actions-test", document)


def test_an_enrollment_waiting_for_a_trigger():
    actions = cloud_actions(
        history("care-plan-waiting-for-trigger-before-lean-history.json").events
    )
    assert actions == {
        "workflow_started": 1,
        "signal": 1,  # the `restart` signal of the signal-with-start this history was recorded with
        "activity_attempt": 3,  # load_plan, set_journey_state, update_enduser
        # events 19 and 24 (a patch marker and a local activity) came from one workflow task,
        # event 33 from the next
        "markers_of_a_workflow_task": 2,
        # seven upserts, one of which (event 20) sets only TemporalChangeVersion
        "search_attribute_upsert": 6,
    }
    assert sum(actions.values()) == 13


def test_the_same_enrollment_in_the_lean_shape():
    """docs/decisions.md D34: the plan and the membership are local activities, no patch markers,
    one upsert per workflow task."""
    actions = cloud_actions(
        history("care-plan-waiting-for-trigger-before-compact-history.json").events
    )
    assert actions == {
        "workflow_started": 1,
        "activity_attempt": 1,  # update_enduser
        # load_plan, set_journey_state and the first ledger write in one workflow task, the
        # second ledger write in the next
        "markers_of_a_workflow_task": 2,
        "search_attribute_upsert": 2,
    }


def test_the_same_enrollment_in_the_compact_shape():
    """docs/decisions.md D35: the plan comes with the input, the journey is joined by the first
    ledger write, and the start sets JourneyWaitingAt: the first workflow task upserts nothing."""
    actions = cloud_actions(
        history("care-plan-waiting-for-trigger-before-folded-history.json").events
    )
    assert actions == {
        "workflow_started": 1,
        "activity_attempt": 1,  # update_enduser
        # join_and_record in the first workflow task, the second ledger write in the last one
        "markers_of_a_workflow_task": 2,
        "search_attribute_upsert": 1,  # JourneyState and JourneyWaitingAt, when the step ran
    }


def test_the_same_enrollment_in_the_folded_shape():
    """docs/decisions.md D41: the first step's activity carries the join, so the first workflow
    task records no marker: four actions against a bare workflow's two."""
    actions = cloud_actions(history("care-plan-waiting-for-trigger.json").events)
    assert actions == {
        "workflow_started": 1,
        "activity_attempt": 1,  # update_enduser, which wrote the join before its side effect
        "markers_of_a_workflow_task": 1,  # the second ledger write
        "search_attribute_upsert": 1,  # JourneyState and JourneyWaitingAt, when the step ran
    }


def test_a_journey_with_timers_run_to_completion():
    actions = cloud_actions(history("onboarding-early-signal-before-lean-history.json").events)
    assert actions == {
        "workflow_started": 1,
        "signal": 1,
        "activity_attempt": 8,
        "timer_started": 2,
        "markers_of_a_workflow_task": 8,  # ten markers from eight workflow tasks
        "search_attribute_upsert": 22,  # of 24, two set only TemporalChangeVersion
    }


def test_every_attempt_of_a_retried_activity_counts():
    def third_attempt(events):
        started = next(e for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_STARTED")
        started["activityTaskStartedEventAttributes"]["attempt"] = 3

    actions = cloud_actions(
        history("care-plan-waiting-for-trigger-before-lean-history.json", third_attempt).events
    )
    assert actions["activity_attempt"] == 5
