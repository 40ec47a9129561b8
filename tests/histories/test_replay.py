"""Replay the recorded histories of every example journey against the current workflow code
(docs/temporal.md §4). A change that would make running enrollments nondeterministic fails here:
put it behind `workflow.patched("<change>")` instead (see tests/histories/record.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import worker
from workflows.journey import JourneyWorkflow
from workflows.patches import (
    HISTORY_SHAPE_COMPACT,
    HISTORY_SHAPE_FOLDED,
    HISTORY_SHAPE_LEAN,
    IN_LEAN_SHAPE,
    PATCH_BACKGROUND_ERRORS,
    PATCH_DUE_AT_OFFICE_HOURS,
    PATCH_EARLY_OUTCOMES,
    PATCH_FULL_STEP_CONDITIONS,
    PATCH_LEDGER_FIELDS,
    PATCH_MIGRATE_VERSION,
    PATCH_OWN_EVENTS_ONLY,
    PATCH_PAUSE_RESUME,
    PATCH_REMOVED_BEFORE_START,
    PATCH_SIGNALS_WAIT_FOR_PLAN,
)

HISTORIES = sorted(Path(__file__).parent.glob("*.json"))


def test_every_example_journey_has_recorded_histories():
    journeys = {p.stem.split("-")[0] for p in HISTORIES}
    assert journeys >= {"onboarding", "post", "lab", "re", "care", "no"}
    assert len(HISTORIES) >= 12


# The worker's runners: unsandboxed (its default, docs/decisions.md D40) and, with
# WORKFLOW_SANDBOX, the sandbox with the workflow modules passed through (D33); and the strict
# sandbox, which re-imports the workflow module and rejects restricted calls on every path replayed.
RUNNERS = {
    "worker": UnsandboxedWorkflowRunner,
    "worker-sandbox": worker.sandboxed_workflow_runner,
    "strict": SandboxedWorkflowRunner,
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path, runner: str):
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(
        workflows=[JourneyWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=RUNNERS[runner](),
    )
    await replayer.replay_workflow(history)  # raises on nondeterminism


def history_input(path: Path) -> dict:
    """The run's EnrollmentInput, from its start event, as JSON."""
    started = json.loads(path.read_text())["events"][0]
    payload = started["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    return json.loads(base64.b64decode(payload["data"]))


def history_shape(path: Path) -> int | None:
    """The run's `historyShape` (workflows/patches.py)."""
    return history_input(path).get("historyShape")


def marker_data(events: list[dict], name: str, detail: str) -> list[dict]:
    """The decoded `detail` payload of every marker called `name` (core_patch, core_local_activity)."""
    found = []
    for event in events:
        marker = event.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == name:
            payload = marker["details"][detail]["payloads"][0]
            found.append(json.loads(base64.b64decode(payload["data"])))
    return found


def patches_in(path: Path) -> set[str]:
    """The workflow.patched ids in force in a recorded history: its patch markers, and in a
    lean-shape (or compact) run the patches it has without markers."""
    lean = history_shape(path) in (HISTORY_SHAPE_LEAN, HISTORY_SHAPE_COMPACT, HISTORY_SHAPE_FOLDED)
    ids = set(IN_LEAN_SHAPE) if lean else set()
    events = json.loads(path.read_text())["events"]
    return ids | {data["id"] for data in marker_data(events, "core_patch", "patch-data")}


def test_early_signals_are_recorded_on_both_sides_of_their_patch():
    """A form submitted with the start (before the plan loads): the run recorded before the
    patch buffered it, the one after waited in its handler; both replay above."""
    before = Path(__file__).parent / "onboarding-early-signal-before-signals-wait-for-plan.json"
    after = Path(__file__).parent / "onboarding-early-signal.json"
    assert PATCH_SIGNALS_WAIT_FOR_PLAN not in patches_in(before)
    assert PATCH_SIGNALS_WAIT_FOR_PLAN in patches_in(after)


def test_early_outcomes_are_recorded_on_both_sides_of_their_patch():
    """A call's outcome delivered before the call step finished: dropped by the run recorded
    before the patch (it waits, terminated), kept and routed after it (Voicemail, completed)."""
    here = Path(__file__).parent
    before = here / "calls-early-outcome-before-early-outcomes.json"
    after = here / "calls-early-outcome.json"
    assert PATCH_EARLY_OUTCOMES not in patches_in(before)
    assert PATCH_EARLY_OUTCOMES in patches_in(after)
    closing = json.loads(after.read_text())["events"][-1]["eventType"]
    assert closing == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


def test_foreign_events_are_recorded_on_the_own_events_path():
    """Events for records the run did not create: the run recorded after the patch ignored them
    (the older histories, which took the old path, replay above)."""
    here = Path(__file__).parent
    assert PATCH_OWN_EVENTS_ONLY in patches_in(here / "onboarding-foreign-events.json")
    assert PATCH_OWN_EVENTS_ONLY not in patches_in(
        here / "onboarding-completed-before-lean-history.json"
    )


def test_step_conditions_are_recorded_on_their_patch():
    here = Path(__file__).parent
    assert PATCH_FULL_STEP_CONDITIONS in patches_in(here / "step-conditions-completed.json")


def test_background_errors_are_recorded_on_their_patch():
    here = Path(__file__).parent
    assert PATCH_BACKGROUND_ERRORS in patches_in(here / "lab-results-background-error.json")
    assert PATCH_BACKGROUND_ERRORS not in patches_in(
        here / "lab-results-completed-before-lean-history.json"
    )


def test_ledger_fields_are_recorded_on_both_sides_of_their_patch():
    """Form counters and foreground ticket closes: before the patch (no extra ledger writes)
    and after it."""
    here = Path(__file__).parent
    for name in ("re-engagement-ledger-fields-re-engaged", "post-visit-ledger-fields-no-answer"):
        assert PATCH_LEDGER_FIELDS in patches_in(here / f"{name}.json")
    for name in ("re-engagement-re-engaged", "post-visit-no-answer"):
        assert PATCH_LEDGER_FIELDS not in patches_in(here / f"{name}-before-lean-history.json")


def test_removals_before_the_start_are_recorded_on_both_sides_of_their_patch():
    """A removal delivered with the start: before the patch the journey started and was wound
    down at once, after it the run ends without starting; both replay above."""
    here = Path(__file__).parent
    before = here / "onboarding-removed-before-start-before-removed-before-start.json"
    after = here / "onboarding-removed-before-start.json"
    assert PATCH_REMOVED_BEFORE_START not in patches_in(before)
    assert PATCH_REMOVED_BEFORE_START in patches_in(after)


def test_pauses_are_recorded_on_their_patch():
    """A paused enrollment whose timer fired while paused, and the same after its resume
    (docs/decisions.md D28); every older history (no pause) replays above on the old path."""
    here = Path(__file__).parent
    for name in ("onboarding-paused", "onboarding-resumed"):
        assert PATCH_PAUSE_RESUME in patches_in(here / f"{name}.json")
    assert PATCH_PAUSE_RESUME not in patches_in(
        here / "onboarding-completed-before-lean-history.json"
    )


def test_migrations_are_recorded_on_their_patch():
    """The run that took a migration (docs/decisions.md D29) and the first run on its target
    version (continued as new with the moved state); older histories replay above unchanged."""
    here = Path(__file__).parent
    assert PATCH_MIGRATE_VERSION in patches_in(here / "onboarding-migrated.json")
    target = json.loads((here / "onboarding-migrated-target.json").read_text())
    started = target["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started.get("continuedExecutionRunId")  # continued from the migrated run
    assert PATCH_MIGRATE_VERSION not in patches_in(
        here / "onboarding-completed-before-lean-history.json"
    )


def test_office_hours_deferral_is_recorded_on_both_sides_of_its_patch():
    """docs/decisions.md D26: the run recorded after the patch defers when its timer is set (one
    timer, to Monday's opening, already in the waiting history); histories recorded before it
    (every other one, whose office-hours steps defer when the timer fires) replay above."""
    here = Path(__file__).parent
    waiting = here / "office-hours-deferred-waiting.json"
    assert PATCH_DUE_AT_OFFICE_HOURS in patches_in(waiting)
    assert PATCH_DUE_AT_OFFICE_HOURS in patches_in(here / "office-hours-deferred-completed.json")
    assert PATCH_DUE_AT_OFFICE_HOURS not in patches_in(
        here / "onboarding-completed-before-lean-history.json"
    )
    events = json.loads(waiting.read_text())["events"]
    kinds = [event["eventType"] for event in events]
    assert kinds.count("EVENT_TYPE_TIMER_STARTED") == 1
    assert "EVENT_TYPE_TIMER_FIRED" not in kinds
    before = here / "office-hours-deferred-before-due-at-office-hours-completed.json"
    assert PATCH_DUE_AT_OFFICE_HOURS not in patches_in(before)
    kinds = [event["eventType"] for event in json.loads(before.read_text())["events"]]
    assert kinds.count("EVENT_TYPE_TIMER_STARTED") == 2  # to Sunday, then to Monday's opening


def local_activities(events: list[dict]) -> list[str]:
    """The activity types of a history's local-activity markers."""
    return [data["activity_type"] for data in marker_data(events, "core_local_activity", "data")]


def activity_inputs(events: list[dict]) -> list[dict]:
    """The decoded input of every activity a history scheduled, in order."""
    return [
        json.loads(
            base64.b64decode(
                e["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]["data"]
            )
        )
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    ]


def test_every_scenario_is_recorded_in_all_four_history_shapes():
    """docs/decisions.md D34, D35, D41: every scenario is recorded in the folded shape (the first
    step that performs at once carries the journey's join), and before it in the compact shape
    (`-before-folded-history`: the plan in the input, the join by the first ledger write), the
    lean shape (`-before-compact-history`: plan and membership by local activities, no patch
    markers) and the first shape (`-before-lean-history`); all replay above. A parked
    enrollment's history on the time-skipping server: 33 events, then 19, 16, now 15."""
    here = Path(__file__).parent
    current = sorted(p for p in HISTORIES if "-before-" not in p.name)
    assert len(current) >= 25
    for path in current:
        assert history_shape(path) == HISTORY_SHAPE_FOLDED, path.name
        events = json.loads(path.read_text())["events"]
        markers = [
            e["markerRecordedEventAttributes"]["markerName"]
            for e in events
            if "markerRecordedEventAttributes" in e
        ]
        assert "core_patch" not in markers, path.name
        inputs = activity_inputs(events)
        activities = [
            e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            for e in events
            if "activityTaskScheduledEventAttributes" in e
        ]
        local = local_activities(events)
        assert "set_journey_state" not in activities, path.name
        assert "load_plan" not in local, path.name
        if "migrated" not in path.name:  # a migration's target plan is loaded by an activity
            assert "load_plan" not in activities, path.name
        if inputs and history_input(path).get("resume") is None:
            # the run started its journey, and its first step performed at once: that step's
            # activity carried the join, so no ledger marker came before it
            assert "joinFirst" in inputs[0], path.name
            assert inputs[0]["joinFirst"]["membership"]["state"] == "", path.name
            first_activity = next(
                i for i, e in enumerate(events) if "activityTaskScheduledEventAttributes" in e
            )
            assert "MARKER_RECORDED" not in str(
                [e["eventType"] for e in events[:first_activity]]
            ), path.name
        compact = here / f"{path.stem}-before-folded-history.json"
        assert compact.exists() and history_shape(compact) == HISTORY_SHAPE_COMPACT, compact.name
        compact_events = json.loads(compact.read_text())["events"]
        assert all("joinFirst" not in each for each in activity_inputs(compact_events))
        if local_activities(compact_events) and history_input(compact).get("resume") is None:
            assert local_activities(compact_events)[0] == "join_and_record", compact.name
        lean = here / f"{path.stem}-before-compact-history.json"
        assert lean.exists() and history_shape(lean) == HISTORY_SHAPE_LEAN, lean.name
        assert "load_plan" in local_activities(json.loads(lean.read_text())["events"]), lean.name
        first = here / f"{path.stem}-before-lean-history.json"
        assert first.exists() and history_shape(first) is None, first.name
    parked = json.loads((here / "care-plan-waiting-for-trigger.json").read_text())["events"]
    parked_compact = here / "care-plan-waiting-for-trigger-before-folded-history.json"
    parked_lean = here / "care-plan-waiting-for-trigger-before-compact-history.json"
    parked_first = here / "care-plan-waiting-for-trigger-before-lean-history.json"
    assert len(parked) == len(json.loads(parked_compact.read_text())["events"]) - 1
    assert len(parked) < len(json.loads(parked_lean.read_text())["events"])
    assert len(parked) < len(json.loads(parked_first.read_text())["events"]) * 0.6
