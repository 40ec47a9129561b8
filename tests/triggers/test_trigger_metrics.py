"""The worker's trigger counters (triggers/metrics.py, docs/metrics.md §3): fired and skipped
decisions by trigger and stage, through the activity's meter; nothing outside an activity."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from tests.store.test_ledger_metrics import _Recorder
from triggers.metrics import count_trigger_decisions
from triggers.models import Decision, Evaluation

EVALUATION = Evaluation(
    eventType="Appointment Reminder",
    eventId="e",
    enduserId="64f000000000000000000c01",
    decisions=[
        Decision(triggerId="remind", title="r", fire=True),
        Decision(triggerId="vip", title="v", fire=False, stage="enduserCondition", reason="x"),
    ],
)


def test_decisions_are_counted_in_an_activity():
    meter = _Recorder()
    environment = ActivityEnvironment()
    environment.metric_meter = meter  # type: ignore[assignment]
    environment.run(count_trigger_decisions, EVALUATION)
    assert meter.added == [
        ("journeys_trigger_firings_total", {"trigger": "remind"}),
        ("journeys_trigger_skips_total", {"trigger": "vip", "reason": "enduserCondition"}),
    ]


def test_outside_an_activity_nothing_is_counted():
    count_trigger_decisions(EVALUATION)  # no activity context: no error, nothing recorded
