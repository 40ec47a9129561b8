"""Trigger decisions counted in the worker (docs/metrics.md §3): `TriggerDeps.on_evaluation`
of the worker's trigger engine, which evaluates the time-based scans. The API counts the
events it dispatches with its own registry (api/metrics.py), under the same names."""

from __future__ import annotations

from temporalio import activity

from triggers.models import Evaluation

TRIGGER_FIRINGS = "journeys_trigger_firings_total"
TRIGGER_SKIPS = "journeys_trigger_skips_total"


def count_trigger_decisions(evaluation: Evaluation) -> None:
    """TriggerDeps.on_evaluation in the worker: the evaluations of time-based scans (an
    activity; a retried scan evaluates, and counts, again). Outside an activity: nothing."""
    if not activity.in_activity():
        return
    meter = activity.metric_meter()
    fired = meter.create_counter(TRIGGER_FIRINGS, "trigger evaluations that fired")
    skipped = meter.create_counter(TRIGGER_SKIPS, "trigger evaluations that did not fire")
    for decision in evaluation.decisions:
        if decision.fire:
            fired.add(1, {"trigger": decision.triggerId})
        else:
            skipped.add(1, {"trigger": decision.triggerId, "reason": decision.stage or "unknown"})
