"""Temporal Cloud actions of one workflow history: what a run would be billed on Temporal Cloud.

The rules are Temporal's published definition of an action, "Temporal Cloud Actions"
(https://docs.temporal.io/cloud/actions, source: temporalio/documentation,
docs/evaluate/temporal-cloud/actions.mdx), applied to the events a history holds:

- workflow started: one (client start, continue-as-new); a child workflow's start is two, counted
  on its parent (the start and the child's execution), not again in the child's own history;
- activity started or retried: one per attempt (the started event carries the attempt number;
  an activity scheduled but not yet started has cost nothing yet);
- local activities: every RecordMarker command of one workflow task counts as one action together
  ("Temporal Cloud counts all RecordMarkers from each Workflow Task as one action"): local-activity
  markers, and the SDK's patch markers with them;
- timer started: one each;
- search attribute upsert: one per UpsertWorkflowSearchAttributes command, except those that only
  set `TemporalChangeVersion` (the SDK's versioning attribute, exempt); attributes given at start
  are free;
- signal: one per signal received (from a client or another workflow; counted where it lands so a
  workflow-to-workflow signal is not counted twice). Signal-with-start is one action in all,
  which a history cannot tell from a start followed by a signal: such histories count one more;
- update accepted, workflow options updated, Nexus operation scheduled or cancel requested: one
  each.

Not in a history, so not counted: queries, activity heartbeats, rejected updates, workflow task
heartbeats of long local activities, resets, schedules, exports. Temporal calls its own history-
based figure an estimate for the same reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

VERSION_ATTRIBUTE = "TemporalChangeVersion"

# Event types that are one action each.
ONE_EACH = {
    EventType.EVENT_TYPE_TIMER_STARTED: "timer_started",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED: "options_updated",
    EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED: "nexus",
    EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED: "nexus",
}


def cloud_actions(events: Iterable[HistoryEvent]) -> Counter[str]:
    """The actions of one history, by kind (`sum(...values())` is the total)."""
    actions: Counter[str] = Counter()
    task = 0  # the workflow task whose commands the events that follow came from
    task_with_markers = -1
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task = event.event_id
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.workflow_execution_started_event_attributes
            if not started.HasField("parent_workflow_execution"):
                actions["workflow_started"] += 1
        elif kind in ONE_EACH:
            actions[ONE_EACH[kind]] += 1
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            actions["activity_attempt"] += max(
                1, event.activity_task_started_event_attributes.attempt
            )
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            if task != task_with_markers:
                actions["markers_of_a_workflow_task"] += 1
                task_with_markers = task
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            if set(fields.indexed_fields) - {VERSION_ATTRIBUTE}:
                actions["search_attribute_upsert"] += 1
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            actions["child_workflow"] += 2
    return actions
