"""Schedule sync on the dev server (the time-skipping server has no Schedules): one schedule per
active time-based trigger, updated when the trigger's timing changes, deleted when it goes."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import ScheduleActionStartWorkflow

from compiler import compile_paths
from store.db import create_tables, get_engine
from store.plans import PlanStore
from tests.temporal_env import start_dev_server
from triggers.models import ScanInput
from triggers.schedules import sync_schedules

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORGANIZATION = "organization: {name: Clinic, timezone: America/Chicago}\n"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev():
    env = await start_dev_server()
    yield env
    await env.shutdown()


def journey(triggers: str) -> str:
    return textwrap.dedent(
        """
        journey: {id: reminders, title: Reminders}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
        """
    ) + textwrap.indent(textwrap.dedent(triggers), "  ")


BIRTHDAY = """
- id: birthday
  title: Birthday
  status: Active
  event: {type: On Birthday, info: {minutes: %d}}
  action: {type: Add Tags, info: {tags: [birthday]}}
"""
QUIET = """
- id: quiet
  title: Quiet
  status: %s
  availabilityTimezone: America/Los_Angeles
  event: {type: Has Not Engaged, info: {intervalInMS: 7776000000}}
  action: {type: Add Tags, info: {tags: [quiet]}}
"""
HOURLY = """
- id: forms-pending
  title: Forms pending
  status: Active
  event: {type: Form Group Incomplete, info: {groupId: g1, intervalInMS: 3600000}}
  action: {type: Add Tags, info: {tags: [pending]}}
"""
VITALS = """
- id: vitals
  title: Vitals
  status: Active
  event: {type: Vital Count, info: {minutes: 5, comparison: {type: Less Than, value: 1}, periodInMS: 1}}
  action: {type: Add Tags, info: {tags: [vitals]}}
"""
FIELD = """
- id: not-time-based
  title: Field
  status: Active
  event: {type: Field Equals, info: {field: a, value: b}}
  action: {type: Add Tags, info: {tags: [a]}}
"""


def deploy(plans: PlanStore, folder: Path, triggers: str) -> None:
    src = folder / uuid.uuid4().hex[:8]
    src.mkdir()
    (src / "organization.yaml").write_text(ORGANIZATION)
    (src / "reminders.yaml").write_text(journey(triggers))
    for plan in compile_paths([src]).plans:
        plans.save(plan)


async def schedule_ids(client) -> set[str]:
    return {s.id async for s in await client.list_schedules() if s.id.startswith("trigger-scan:")}


async def test_sync_creates_updates_and_deletes_schedules(dev, tmp_path) -> None:
    client = dev.client
    plans = PlanStore(get_engine(f"sqlite:///{tmp_path}/journeys.db"))
    create_tables(plans.engine)
    task_queue = "journeys-test"

    deploy(plans, tmp_path, BIRTHDAY % 540 + QUIET % "Active" + HOURLY + VITALS + FIELD)
    report = await sync_schedules(client, plans, task_queue)
    assert sorted(report.created) == [
        "trigger-scan:birthday",
        "trigger-scan:forms-pending",
        "trigger-scan:quiet",
        "trigger-scan:vitals",
    ]
    assert report.unsupported == {}

    birthday = await client.get_schedule_handle("trigger-scan:birthday").describe()
    spec = birthday.schedule.spec
    assert spec.time_zone_name == "America/Chicago"  # the organisation's zone
    [calendar] = spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(9, 9)]
    assert [(r.start, r.end) for r in calendar.minute] == [(0, 0)]
    action = birthday.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "TimeTriggerScanWorkflow" and action.task_queue == task_queue
    [arg] = await dev.client.data_converter.decode(action.args, [ScanInput])
    assert arg == ScanInput(triggerId="birthday", definedIn="reminders")

    quiet = await client.get_schedule_handle("trigger-scan:quiet").describe()
    assert quiet.schedule.spec.time_zone_name == "America/Los_Angeles"  # the trigger's zone
    assert [(r.start, r.end) for r in quiet.schedule.spec.calendars[0].hour] == [(9, 9)]
    hourly = await client.get_schedule_handle("trigger-scan:forms-pending").describe()
    assert [i.every.total_seconds() for i in hourly.schedule.spec.intervals] == [3600]
    vitals = await client.get_schedule_handle("trigger-scan:vitals").describe()
    assert [i.every.total_seconds() for i in vitals.schedule.spec.intervals] == [3600]

    again = await sync_schedules(client, plans, task_queue)
    assert (again.created, again.updated, again.deleted) == ([], [], [])
    assert sorted(again.unchanged) == sorted(report.created)

    # a new version: the birthday scan moves to 07:30, "quiet" is switched off, one is removed
    deploy(plans, tmp_path, BIRTHDAY % 450 + QUIET % "Inactive" + FIELD)
    changed = await sync_schedules(client, plans, task_queue)
    assert changed.updated == ["trigger-scan:birthday"]
    assert sorted(changed.deleted) == [
        "trigger-scan:forms-pending",
        "trigger-scan:quiet",
        "trigger-scan:vitals",
    ]
    moved = await client.get_schedule_handle("trigger-scan:birthday").describe()
    [calendar] = moved.schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(7, 7)]
    assert [(r.start, r.end) for r in calendar.minute] == [(30, 30)]
    assert await schedule_ids(client) == {"trigger-scan:birthday"}
