"""Temporal Schedules for time-based triggers: one schedule per trigger, `trigger-scan:{id}`.

    report = await sync_schedules(client, plans, task_queue)      # after every deploy

Each schedule starts `TimeTriggerScanWorkflow` for its trigger (`triggers.time_based` finds the
candidates). When it runs, in the trigger's `availabilityTimezone`, else the organisation's zone:

- On Birthday: every day at `minutes` past local midnight;
- Has Not Engaged, No Recent Appointment, Form Group Incomplete: every day at 09:00 local, or
  every hour when the trigger's `intervalInMS` is shorter than a day;
- Vital Count: every day at `minutes` past local midnight, or every hour when its `periodInMS`
  is shorter than a day (docs/decisions.md D21).

Overlapping runs are skipped and a run missed by less than an hour is caught up. A schedule's
note holds a fingerprint of its definition, so a sync updates only the schedules whose trigger
changed, creates the missing ones and deletes those whose trigger is gone, inactive or archived.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from models.triggers import TIME_BASED_TRIGGER_EVENT_TYPES
from store.plans import PlanStore
from triggers.active import active_triggers, plan_of
from triggers.models import (
    SCAN_SCHEDULE_PREFIX,
    ActiveTrigger,
    ScanInput,
    SyncReport,
    scan_schedule_id,
)
from triggers.time_based import SCANNED_TYPES
from triggers.workflows import TimeTriggerScanWorkflow

DAY_MS = 24 * 60 * 60 * 1000
DAILY_SCAN_MINUTE = 9 * 60  # 09:00 local: patient-facing actions at a friendly hour
NOTE_PREFIX = "journey-engine time-based trigger"


def schedule_timing(trigger: ActiveTrigger) -> dict:
    """When the trigger's scan runs: `{zone, minuteOfDay}` (daily) or `{zone, everyMinutes}`."""
    definition = trigger.trigger
    zone = definition.availabilityTimezone or trigger.organizationTimezone
    info = definition.event.info
    if definition.event.type == "On Birthday":
        return {"zone": zone, "minuteOfDay": min(max(int(info.minutes), 0), 24 * 60 - 1)}
    if definition.event.type == "Vital Count":
        if int(info.periodInMS) < DAY_MS:
            return {"zone": zone, "everyMinutes": 60}
        return {"zone": zone, "minuteOfDay": min(max(int(info.minutes), 0), 24 * 60 - 1)}
    if int(getattr(info, "intervalInMS", DAY_MS)) < DAY_MS:
        return {"zone": zone, "everyMinutes": 60}
    return {"zone": zone, "minuteOfDay": DAILY_SCAN_MINUTE}


def fingerprint(trigger: ActiveTrigger, task_queue: str) -> str:
    definition = {
        "trigger": trigger.id,
        "definedIn": trigger.definedIn,
        "type": trigger.trigger.event.type,
        "timing": schedule_timing(trigger),
        "taskQueue": task_queue,
    }
    text = json.dumps(definition, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def note_for(trigger: ActiveTrigger, task_queue: str) -> str:
    return f"{NOTE_PREFIX} {trigger.id} [{fingerprint(trigger, task_queue)}]"


def build_schedule(trigger: ActiveTrigger, task_queue: str) -> Schedule:
    timing = schedule_timing(trigger)
    if "everyMinutes" in timing:
        spec = ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(minutes=timing["everyMinutes"]))],
            time_zone_name=timing["zone"],
        )
    else:
        hour, minute = divmod(timing["minuteOfDay"], 60)
        spec = ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(hour)],
                    minute=[ScheduleRange(minute)],
                    second=[ScheduleRange(0)],
                    comment=f"{trigger.trigger.event.type} scan",
                )
            ],
            time_zone_name=timing["zone"],
        )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            TimeTriggerScanWorkflow.run,
            ScanInput(triggerId=trigger.id, definedIn=trigger.definedIn),
            id=f"trigger-scan-run:{trigger.id}",
            task_queue=task_queue,
            static_summary=f"Scan for time-based trigger {trigger.id}",
        ),
        spec=spec,
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)
        ),
        state=ScheduleState(note=note_for(trigger, task_queue)),
    )


def scheduled_triggers(triggers: list[ActiveTrigger]) -> tuple[dict[str, ActiveTrigger], dict]:
    """The triggers that get a schedule, and the time-based ones that cannot (with why)."""
    wanted: dict[str, ActiveTrigger] = {}
    unsupported: dict[str, str] = {}
    for trigger in triggers:
        kind = trigger.trigger.event.type
        if kind not in TIME_BASED_TRIGGER_EVENT_TYPES:
            continue
        if kind not in SCANNED_TYPES:
            unsupported[trigger.id] = f'"{kind}" has no candidate scan (not supported)'
            continue
        if trigger.trigger.status != "Active" or trigger.trigger.archivedAt:
            continue
        wanted[scan_schedule_id(trigger.id)] = trigger
    return wanted, unsupported


async def sync_schedules(client: Client, plans: PlanStore, task_queue: str) -> SyncReport:
    """Make the `trigger-scan:*` schedules match the time-based triggers deployed now."""
    wanted, unsupported = scheduled_triggers(active_triggers(plans))
    report = SyncReport(unsupported=unsupported)
    for schedule_id, trigger in wanted.items():
        schedule = build_schedule(trigger, task_queue)
        handle = client.get_schedule_handle(schedule_id)
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            try:
                await client.create_schedule(schedule_id, schedule)
            except ScheduleAlreadyRunningError:  # created concurrently by another deploy
                pass
            report.created.append(schedule_id)
            continue
        if description.schedule.state.note == schedule.state.note:
            report.unchanged.append(schedule_id)
            continue

        def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=new)

        await handle.update(replace)
        report.updated.append(schedule_id)
    # Stale schedules: those listed (visibility may lag behind a recent create) and those of
    # every time-based trigger any stored version ever had.
    stale = {scan_schedule_id(t) for t in historical_time_based(plans)}
    async for listed in await client.list_schedules():
        if listed.id.startswith(f"{SCAN_SCHEDULE_PREFIX}:"):
            stale.add(listed.id)
    for schedule_id in sorted(stale - set(wanted)):
        try:
            await client.get_schedule_handle(schedule_id).delete()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        report.deleted.append(schedule_id)
    return report


def historical_time_based(plans: PlanStore) -> set[str]:
    return {
        trigger.id
        for row in plans.versions()
        for trigger in plan_of(row).triggers
        if trigger.id and trigger.event.type in TIME_BASED_TRIGGER_EVENT_TYPES
    }
