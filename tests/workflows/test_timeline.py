"""The patient timeline (docs/operator-view.md §3) of a journey run in virtual time: the
office-hours deferral with its new due time and the moment its timer started, the A/B variant,
the enduser values a skipped step's conditions saw (read from the workflow history), and how the
run ended. JourneyWorkflow on the time-skipping server, the ledger on SQLite."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from services.timeline import patient_timeline
from store.trigger_decisions import TriggerDecisions
from tests.workflows.conftest import advance_to, close, next_weekday_at, write_journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = """
journey: {id: timeline, title: Timeline}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [started]}}
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delay: 2, unit: Days, officeHoursOnly: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
  - id: for-sam
    enduserConditions: {$and: [{condition: {fname: Sam}}]}
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [sam]}}
  - id: variant-a
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0, abTestCondition: A}}]
    action: {type: addEnduserTags, info: {tags: [a]}}
  - id: variant-b
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0, abTestCondition: B}}]
    action: {type: addEnduserTags, info: {tags: [b]}}
"""


async def test_timeline_shows_deferral_variant_conditions_and_outcome(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, JOURNEY))
    thursday = next_weekday_at(await runtime.env.get_current_time(), 3, 10)
    await advance_to(runtime.env, thursday)
    async with runtime.worker():
        await (await runtime.enroll("timeline")).result()
        decisions = TriggerDecisions(runtime.ledger.engine)
        timeline = await patient_timeline(
            runtime.client,
            runtime.plans,
            runtime.ledger,
            decisions,
            "timeline",
            runtime.enduser_id,
        )
    assert timeline.timezone == "America/New_York" and timeline.notes == []
    assert timeline.enrollment is not None and timeline.enrollment.status == "completed"
    entries = timeline.entries
    assert [e.kind for e in entries][0] == "enrolled" and entries[-1].kind == "closed"
    assert "enrollment completed" in entries[-1].text

    # due Saturday 10:00, deferred to Monday 09:00 New York
    [deferred] = [e for e in entries if e.kind == "deferred"]
    monday_nine = (thursday + timedelta(days=4)).replace(hour=9, minute=0)
    assert deferred.stepId == "reminder" and close(deferred.dueAt, monday_nine)
    # decided on Thursday, when its one timer was set (docs/decisions.md D26)
    assert close(deferred.at, thursday, timedelta(minutes=1))
    assert "deferred for office hours until" in deferred.text
    [reminder] = runtime.ledger_rows("reminder")
    assert reminder.did_delay_for_out_of_office
    reminder_kinds = [e.kind for e in entries if e.actionId == reminder.id]
    assert reminder_kinds == ["planned", "deferred", "done"]

    # the skipped step's conditions and what they saw (the recorded enduser is Pat)
    [conditions] = [e for e in entries if e.kind == "conditions"]
    assert conditions.stepId == "for-sam" and conditions.values == {"fname": "Pat"}
    assert conditions.source == "history" and "not met" in conditions.text
    [skipped] = [e for e in entries if e.kind == "skipped"]
    assert skipped.stepId == "for-sam"

    # one A/B variant chosen, shown with its label
    [variant] = [e for e in entries if e.kind == "ab-variant"]
    row = next(r for r in runtime.ledger_rows(variant.stepId))
    assert variant.text.endswith(f"A/B variant {row.ab_test_label}")
    assert row.ab_test_label in ("A", "B")

    # ordered by time, and every ledger action ends as the ledger says
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert all(e.at.tzinfo is not None for e in entries)
    for action in runtime.ledger_rows():
        ends = [e.kind for e in entries if e.actionId == action.id]
        assert ends[-1] == ("skipped" if action.skipped else "done"), action.automation_step_id
    assert timeline.enrollment.outcome is not None
    assert timeline.enrollment.closedAt is not None
    assert timeline.enrollment.closedAt.astimezone(UTC) >= monday_nine


async def test_without_temporal_the_ledger_and_decisions_are_shown_with_a_note(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, JOURNEY))
    async with runtime.worker():
        await (await runtime.enroll("timeline")).result()
    timeline = await patient_timeline(
        None,
        runtime.plans,
        runtime.ledger,
        TriggerDecisions(runtime.ledger.engine),
        "timeline",
        runtime.enduser_id,
        temporal_error="cannot connect to Temporal at localhost:1",
    )
    assert timeline.notes == [
        "Temporal not reachable (cannot connect to Temporal at localhost:1): ledger only"
    ]
    assert timeline.enrollment is None
    kinds = {e.kind for e in timeline.entries}
    assert "enrolled" not in kinds and "conditions" not in kinds  # those need Temporal
    actions = {r.id for r in runtime.ledger_rows()}
    assert {e.actionId for e in timeline.entries} == actions
