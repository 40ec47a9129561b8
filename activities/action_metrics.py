"""Action counters of the worker (docs/metrics.md §2), counted where every AutomatedAction
transition is committed: the `record_ledger` local activity.

Only the status changes the database write actually made are counted
(`Ledger.record_transitions`): a retried batch whose first attempt committed, a replayed
workflow that writes its rows again, or a late duplicate write count nothing. Labels are the
journey and step ids, the cancel reason and the error class: never an enduser id.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio import activity
from temporalio.common import MetricMeter

from models.automated_action import CancelReason
from store.ledger import Transition

FINISHED = "journeys_actions_finished_total"
CANCELLED = "journeys_actions_cancelled_total"
ERRORED = "journeys_actions_errored_total"


def cancel_reason_label(value: int | None) -> str:
    try:
        return CancelReason(value).name.lower() if value is not None else "unknown"
    except ValueError:
        return "unknown"


def count_transitions(transitions: Iterable[Transition], meter: MetricMeter | None = None) -> None:
    transitions = [t for t in transitions if t.entry.status != "active"]
    if not transitions:
        return
    meter = meter or activity.metric_meter()
    finished = meter.create_counter(FINISHED, "actions that finished (skipped ones included)")
    cancelled = meter.create_counter(CANCELLED, "actions cancelled before they ran")
    errored = meter.create_counter(ERRORED, "actions that failed")
    for transition in transitions:
        entry = transition.entry
        labels = {"journey": entry.journeyId, "step": entry.automationStepId}
        if entry.status == "finished":
            finished.add(1, labels)
        elif entry.status == "cancelled":
            cancelled.add(1, {**labels, "reason": cancel_reason_label(entry.cancelReason)})
        elif entry.status == "error":
            errored.add(1, {**labels, "error_class": entry.errorClass or "unknown"})
