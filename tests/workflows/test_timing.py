"""When steps run: delays, office hours, day of month, date-relative delays (docs/semantics.md §5,
docs/decisions.md D4-D6), asserted in virtual time on the time-skipping server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.temporal_env import search_attributes
from tests.workflows.conftest import NEW_YORK, advance_to, close, next_weekday_at, write_journey
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

HEADER = """
journey: {id: timing, title: Timing}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [started]}}
"""


async def test_after_action_runs_exactly_its_delay_after_the_parent(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: later
    events: [{type: afterAction, info: {automationStepId: start, delay: 90, unit: Minutes}}]
    action: {type: addEnduserTags, info: {tags: [later]}}
""",
        )
    )
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (started,) = runtime.ran_at("start")
    (later,) = runtime.ran_at("later")
    # created when the parent finished (a few virtual ms after it started), due 90 min later
    row = runtime.ledger_rows("later")[0]
    created = row.created_at.replace(tzinfo=UTC)
    assert row.process_after == int((created + timedelta(minutes=90)).timestamp() * 1000)
    assert row.status == "finished"
    assert close(later, datetime.fromtimestamp(row.process_after / 1000, UTC))
    assert timedelta(minutes=90) <= later - started < timedelta(minutes=90, seconds=1)


async def test_office_hours_reminder_due_saturday_runs_monday_at_nine(runtime, tmp_path):
    """docs/semantics.md §5.3: a 2-day officeHoursOnly reminder due Saturday 10:00 runs Monday
    09:00 (NY)."""
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delay: 2, unit: Days, officeHoursOnly: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
""",
        )
    )
    thursday = next_weekday_at(await runtime.env.get_current_time(), 3, 10)
    await advance_to(runtime.env, thursday)
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (ran,) = runtime.ran_at("reminder")
    monday = thursday + timedelta(days=4)
    assert close(ran, monday.replace(hour=9, minute=0))
    row = runtime.ledger_rows("reminder")[0]
    assert row.did_delay_for_out_of_office is True


async def test_office_hours_action_in_hours_runs_at_its_time_without_the_flag(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delay: 1, unit: Hours, officeHoursOnly: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
""",
        )
    )
    tuesday = next_weekday_at(await runtime.env.get_current_time(), 1, 10)
    await advance_to(runtime.env, tuesday)
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (ran,) = runtime.ran_at("reminder")
    assert ran.astimezone(NEW_YORK).hour == 11
    assert runtime.ledger_rows("reminder")[0].did_delay_for_out_of_office is False


async def test_holiday_closure_defers_past_the_closure(runtime, tmp_path):
    organization_with_closure = """
organization:
  timezone: America/New_York
  officeHours:
    - {dayOfWeekStartingSundayIndexedByZero: 1, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 2, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 3, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 4, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 5, startTimeInMinutes: 540, endTimeInMinutes: 1020}
  outOfOfficeHours:
    - {from: "%s", to: "%s", autoreplyText: Closed}
"""
    monday = next_weekday_at(await runtime.env.get_current_time(), 0, 10)
    closed_from = monday + timedelta(days=1)  # Tuesday 10:00 ...
    closed_to = monday + timedelta(days=2, hours=3)  # ... to Wednesday 13:00
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delay: 1, unit: Days, officeHoursOnly: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
""",
            organization_with_closure % (closed_from.isoformat(), closed_to.isoformat()),
        )
    )
    await advance_to(runtime.env, monday)
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (ran,) = runtime.ran_at("reminder")
    assert close(ran, closed_to + timedelta(milliseconds=1))


async def test_use_enduser_timezone_defers_to_the_enduser_s_office_morning(runtime, tmp_path):
    """docs/decisions.md D4: with useEnduserTimezone the hours are read in the enduser's zone."""
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delayInMS: 0, officeHoursOnly: true, useEnduserTimezone: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
""",
        )
    )
    runtime.tellescope.enduser["timezone"] = "America/Los_Angeles"
    # Tuesday 10:00 in New York is 07:00 in Los Angeles: closed there until 09:00 Pacific.
    tuesday = next_weekday_at(await runtime.env.get_current_time(), 1, 10)
    await advance_to(runtime.env, tuesday)
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (ran,) = runtime.ran_at("reminder")
    assert close(ran, tuesday + timedelta(hours=2))  # 09:00 Pacific = 12:00 Eastern


async def test_day_of_month_runs_on_that_day_at_its_hour(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: monthly
    events:
      - type: afterAction
        info:
          automationStepId: start
          delayInMS: 0
          dayOfMonthCondition: {dayOfMonth: 15, hour: 14, minute: 30}
    action: {type: addEnduserTags, info: {tags: [monthly]}}
""",
        )
    )
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (started,) = runtime.ran_at("start")
    (ran,) = runtime.ran_at("monthly")
    local = ran.astimezone(NEW_YORK)
    assert (local.day, local.hour, local.minute) == (15, 14, 30)
    assert timedelta(0) < ran - started <= timedelta(days=31)


@pytest.mark.parametrize(
    ("anchor_offset", "before", "skip", "expected"),
    [
        (timedelta(days=10), True, False, timedelta(days=7)),  # 3 days before a date 10 days out
        (timedelta(days=10), False, False, timedelta(days=13)),  # 3 days after it
        (timedelta(days=1), True, True, None),  # due 2 days ago and skipIfDelayPassed: skipped
        (timedelta(days=1), True, False, timedelta(0)),  # due in the past, not skipped: now
    ],
    ids=["before-anchor", "after-anchor", "passed-and-skipped", "passed-runs-now"],
)
async def test_field_condition_delay_counts_from_the_enduser_date(
    runtime, tmp_path, anchor_offset, before, skip, expected
):
    """docs/decisions.md D6: due = date -/+ delayInMS; skipIfDelayPassed skips a due time in
    the past."""
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + f"""
  - id: pre-surgery
    events:
      - type: afterAction
        info:
          automationStepId: start
          delay: 3
          unit: Days
          fieldCondition: {{field: surgeryDate, before: {str(before).lower()}}}
          skipIfDelayPassed: {str(skip).lower()}
    action: {{type: addEnduserTags, info: {{tags: [prepared]}}}}
  - id: after-pre-surgery
    events: [{{type: afterAction, info: {{automationStepId: pre-surgery, delayInMS: 0}}}}]
    action: {{type: addEnduserTags, info: {{tags: [next]}}}}
""",
        )
    )
    now = await runtime.env.get_current_time()
    runtime.tellescope.anchors["surgeryDate"] = (now + anchor_offset).astimezone(UTC).isoformat()
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    (started,) = runtime.ran_at("start")
    if expected is None:
        assert runtime.ran_at("pre-surgery") == [] and runtime.ran_at("after-pre-surgery") == []
        row = runtime.ledger_rows("pre-surgery")[0]
        assert (row.status, row.skipped) == ("finished", "delay passed")
    else:
        (ran,) = runtime.ran_at("pre-surgery")
        assert abs((ran - started) - expected) < timedelta(seconds=5)
        assert len(runtime.ran_at("after-pre-surgery")) == 1


async def test_siblings_run_as_parallel_branches(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: slow
    events: [{type: afterAction, info: {automationStepId: start, delay: 3, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [slow]}}
  - id: fast
    events: [{type: afterAction, info: {automationStepId: start, delay: 1, unit: Hours}}]
    action: {type: addEnduserTags, info: {tags: [fast]}}
  - id: after-fast
    events: [{type: afterAction, info: {automationStepId: fast, delay: 1, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [after-fast]}}
""",
        )
    )
    async with runtime.worker():
        await (await runtime.enroll("timing")).result()
    assert runtime.steps_done() == ["start", "fast", "after-fast", "slow"]
    (started,) = runtime.ran_at("start")
    after_fast = runtime.ran_at("after-fast")[0] - started
    slow = runtime.ran_at("slow")[0] - started
    assert timedelta(days=1, hours=1) <= after_fast < timedelta(days=1, hours=1, seconds=1)
    assert timedelta(days=3) <= slow < timedelta(days=3, seconds=1)


async def test_status_query_and_search_attributes(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: waiting
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0}}]
    action: {type: setEnduserStatus, info: {status: Waiting}}
  - id: later
    events: [{type: afterAction, info: {automationStepId: waiting, delay: 2, unit: Days}}]
    action: {type: setEnduserStatus, info: {status: Done}}
""",
        )
    )
    async with runtime.worker():
        handle = await runtime.enroll("timing")
        with runtime.env.auto_time_skipping_disabled():
            status = None
            for _ in range(50):
                status = await handle.query(JourneyWorkflow.status)
                if status.pending and status.pending[0].stepId == "later":
                    break
                await runtime.env.sleep(timedelta(milliseconds=100))
            (pending,) = status.pending
            assert (pending.stepId, pending.eventType, pending.waitingFor) == (
                "later",
                "afterAction",
                "time",
            )
            assert status.state == "Waiting"
            assert [h.stepId for h in status.history] == ["start", "waiting"]
            described = await handle.describe()
        attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
        assert attributes["JourneyId"] == "timing"
        assert attributes["EnduserId"] == runtime.enduser_id
        assert attributes["JourneyVersion"] == runtime.plans.current("timing").version
        assert attributes["JourneyState"] == "Waiting"
        assert attributes["NextActionAt"] == datetime.fromisoformat(pending.dueAt)
        assert attributes["JourneyWaitingAt"] == ["later"]  # everyone waiting at a step
        assert "JourneyFailedSteps" not in attributes  # no step failed
        result = await handle.result()
        after = await search_attributes(runtime.client, handle.id)
    assert result.state == "Done"
    assert "JourneyWaitingAt" not in after and "NextActionAt" not in after  # nothing pending


async def test_due_time_shows_the_office_hours_deferral_before_the_timer_fires(runtime, tmp_path):
    """docs/decisions.md D26: a step due Sunday 08:25 UTC, office hours Mon-Fri 09:00-17:00 ET.
    Before the timer fires, the ledger's processAfter, the status query's dueAt, NextActionAt,
    the Temporal UI's current details and the timer's summary all say Monday 09:00 ET; it runs
    then, after one timer (not one to Sunday and a second to Monday)."""
    runtime.deploy(
        write_journey(
            tmp_path,
            HEADER
            + """
  - id: reminder
    events:
      - type: afterAction
        info: {automationStepId: start, delay: 1, unit: Days, officeHoursOnly: true}
    action: {type: addEnduserTags, info: {tags: [reminded]}}
""",
        )
    )
    now = (await runtime.env.get_current_time()).astimezone(UTC)
    saturday = (now + timedelta(days=(5 - now.weekday()) % 7 + 7)).replace(
        hour=8, minute=25, second=0, microsecond=0
    )
    await advance_to(runtime.env, saturday)
    monday_nine = datetime.combine(
        (saturday + timedelta(days=2)).date(), datetime.min.time().replace(hour=9), NEW_YORK
    )
    async with runtime.worker():
        handle = await runtime.enroll("timing")
        with runtime.env.auto_time_skipping_disabled():
            pending = None
            for _ in range(100):
                status = await handle.query(JourneyWorkflow.status)
                if status.pending and status.pending[0].stepId == "reminder":
                    (pending,) = status.pending
                    rows = runtime.ledger_rows("reminder")
                    if rows and rows[0].did_delay_for_out_of_office:
                        break
                await runtime.env.sleep(timedelta(milliseconds=100))
            assert pending is not None
            assert datetime.fromisoformat(pending.dueAt) == monday_nine
            attributes = await search_attributes(runtime.client, handle.id)
            assert datetime.fromisoformat(attributes["NextActionAt"]) == monday_nine
            metadata = await handle.query("__temporal_workflow_metadata")
            assert f"at {monday_nine.astimezone(UTC).isoformat()}" in metadata.current_details
            (row,) = runtime.ledger_rows("reminder")
            assert row.status == "active" and row.did_delay_for_out_of_office is True
            assert row.process_after == int(monday_nine.timestamp() * 1000)
            assert not runtime.ran_at("reminder")  # still Saturday: nothing has fired yet
        await handle.result()
    (ran,) = runtime.ran_at("reminder")
    assert close(ran, monday_nine)
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    assert len(timers) == 1
    (timer,) = timers
    fired_after = timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    assert close(saturday + fired_after, monday_nine, timedelta(seconds=2))
    (summary,) = runtime.client.data_converter.payload_converter.from_payloads(
        [timer.user_metadata.summary]
    )
    assert summary == f"reminder: addEnduserTags due {monday_nine.astimezone(UTC).isoformat()}"
