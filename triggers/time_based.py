"""Time-based triggers (docs/semantics.md §9.3): who is a candidate now, and the scan a
schedule runs.

Each trigger's schedule starts `TimeTriggerScanWorkflow`, whose activity calls `scan`: find the
candidates in Tellescope, turn each into an IncomingEvent for that trigger only
(`forTriggerId`), and dispatch it like any other event (enduserCondition, journey scope,
oncePerEnduser, availability windows, throttle all apply). The event id names the period, so a
candidate fires once per period however often the scan runs (daily scans, a manual trigger of
the schedule, an overlapping backfill):

- On Birthday: `dateOfBirth` falls on today (the enduser's zone; 29 February counts on 28
  February outside leap years). Event id `birthday-{year}`.
- Has Not Engaged: created over `intervalInMS` ago, with no inbound SMS, email or chat and no
  portal activity (`lastActive`) since then. Event id `not-engaged-{now // intervalInMS}`.
- No Recent Appointment: has a matching appointment (titles / templateIds, not cancelled) and
  none starting after `now - intervalInMS`. Event id `no-recent-{latest appointment id}`.
- Form Group Incomplete: a form group instance (`groupId`) sent over `intervalInMS` ago still
  has an unsubmitted response. Event id `group-incomplete-{groupInstance}`.
- Vital Count: the enduser's vitals (enduser_observations, of the `units` when given) recorded
  in the last `periodInMS` number Less Than / Greater Than `comparison.value`, or lie Between
  its `{lower, upper}` (inclusive). Event id `vital-count-{now // periodInMS}` (periods shorter
  than the hourly scan count as an hour; docs/decisions.md D21).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.automated_action import JourneyContext
from rules.dates import epoch_ms, parse_any_date, parse_iso, parse_mdy
from rules.office_hours import zone_for_enduser
from tellescope.client import Record, TellescopeClient
from triggers.active import find_active
from triggers.dispatch import TriggerDeps, dispatch_event
from triggers.events import IncomingEvent
from triggers.models import ActiveTrigger, ScanReport, ScanRequest

SCANNED_TYPES = frozenset(
    {
        "On Birthday",
        "Has Not Engaged",
        "No Recent Appointment",
        "Form Group Incomplete",
        "Vital Count",
    }
)
HOUR_MS = 60 * 60 * 1000


@dataclass
class Candidate:
    enduser: Record
    eventId: str
    journeyContext: JourneyContext = field(default_factory=JourneyContext)
    record: Record = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _created(record: Record) -> datetime | None:
    value = record.get("createdAt")
    return parse_iso(value) if isinstance(value, str) else None


# --- pure candidate rules -----------------------------------------------------------------------


def birthday_today(date_of_birth: Any, today: date) -> bool:
    """`MM-DD-YYYY` (Tellescope's format; ISO dates accepted too) falls on `today`'s month-day;
    29 February birthdays are celebrated on 28 February outside leap years."""
    if not isinstance(date_of_birth, str):
        return False
    born = parse_mdy(date_of_birth.strip())
    if born is None:
        parsed = parse_any_date(date_of_birth)
        born = parsed.date() if parsed else None
    if born is None:
        return False
    month, day = born.month, born.day
    if (month, day) == (2, 29):
        try:
            date(today.year, 2, 29)
        except ValueError:
            day = 28
    return (today.month, today.day) == (month, day)


def local_today(enduser: Record, now: datetime, fallback_zone: str) -> date:
    return now.astimezone(ZoneInfo(zone_for_enduser(enduser, fallback_zone))).date()


def not_engaged_period(now: datetime, interval_ms: int) -> int:
    return epoch_ms(now) // max(interval_ms, 1)


def appointment_matches(
    event: Record, titles: list[str] | None, templates: list[str] | None
) -> bool:
    if event.get("cancelledAt"):
        return False
    if titles and event.get("title") not in titles:
        return False
    return not (templates and event.get("templateId") not in templates)


def enduser_attendees(event: Record) -> list[str]:
    return [
        a["id"]
        for a in event.get("attendees") or []
        if a.get("type", "enduser") == "enduser" and a.get("id")
    ]


def vital_count_matches(count: int, comparison: Any) -> bool:
    """`comparison` `{type: Less Than | Greater Than, value}` or `{type: Between, value: {lower,
    upper}}` (inclusive) holds for `count`; anything else never holds."""
    if not isinstance(comparison, dict):
        return False
    kind, value = comparison.get("type"), comparison.get("value")
    try:
        if kind == "Less Than":
            return count < float(value)
        if kind == "Greater Than":
            return count > float(value)
        if kind == "Between" and isinstance(value, dict):
            return float(value["lower"]) <= count <= float(value["upper"])
    except (TypeError, ValueError, KeyError):
        return False
    return False


def vital_count_period(now: datetime, period_ms: int) -> int:
    return epoch_ms(now) // max(period_ms, HOUR_MS)


def _reading_time(observation: Record) -> datetime | None:
    for name in ("timestamp", "recordedAt", "createdAt"):
        value = observation.get(name)
        moment = parse_iso(value) if isinstance(value, str) else None
        if moment is not None:
            return moment
    return None


# --- candidates (reads) -------------------------------------------------------------------------


async def _birthdays(trigger: ActiveTrigger, now: datetime, tellescope: TellescopeClient):
    found = []
    async for enduser in tellescope.iterate("endusers", {"dateOfBirth": {"_exists": True}}):
        today = local_today(enduser, now, trigger.organizationTimezone)
        if birthday_today(enduser.get("dateOfBirth"), today):
            found.append(Candidate(enduser=enduser, eventId=f"birthday-{today.year}"))
    return found


async def _not_engaged(trigger: ActiveTrigger, now: datetime, tellescope: TellescopeClient):
    interval = int(trigger.trigger.event.info.intervalInMS)
    cutoff = now - timedelta(milliseconds=interval)
    engaged: set[str] = set()
    for model in ("sms_messages", "emails"):
        async for message in tellescope.iterate(model, {"inbound": True}, created_from=cutoff):
            engaged.add(message.get("enduserId"))
    async for chat in tellescope.iterate("chats", created_from=cutoff):
        engaged.add(chat.get("senderId"))  # an enduser's own chats (user ids never match)
    period = not_engaged_period(now, interval)
    found = []
    async for enduser in tellescope.iterate("endusers"):
        created = _created(enduser)
        if enduser["id"] in engaged or created is None or created > cutoff:
            continue
        last_active = parse_any_date(enduser.get("lastActive"))
        if last_active is not None and last_active > cutoff:
            continue
        found.append(Candidate(enduser=enduser, eventId=f"not-engaged-{period}"))
    return found


async def _no_recent_appointment(
    trigger: ActiveTrigger, now: datetime, tellescope: TellescopeClient
):
    info = trigger.trigger.event.info
    cutoff_ms = epoch_ms(now - timedelta(milliseconds=int(info.intervalInMS)))
    latest: dict[str, Record] = {}
    async for event in tellescope.iterate("calendar_events"):
        if not appointment_matches(event, info.titles, info.templateIds):
            continue
        for enduser_id in enduser_attendees(event):
            known = latest.get(enduser_id)
            if known is None or (event.get("startTimeInMS") or 0) > (
                known.get("startTimeInMS") or 0
            ):
                latest[enduser_id] = event
    quiet = {e: ev for e, ev in latest.items() if (ev.get("startTimeInMS") or 0) < cutoff_ms}
    endusers = await tellescope.get_many("endusers", list(quiet))
    return [
        Candidate(
            enduser=enduser,
            eventId=f"no-recent-{quiet[enduser['id']]['id']}",
            journeyContext=JourneyContext(calendarEventId=quiet[enduser["id"]]["id"]),
            record=quiet[enduser["id"]],
        )
        for enduser in endusers
    ]


async def _form_group_incomplete(
    trigger: ActiveTrigger, now: datetime, tellescope: TellescopeClient
):
    info = trigger.trigger.event.info
    cutoff = now - timedelta(milliseconds=int(info.intervalInMS))
    instances: dict[tuple[str, str], list[Record]] = {}
    async for response in tellescope.iterate("form_responses", {"groupId": info.groupId}):
        key = (response.get("enduserId") or "", response.get("groupInstance") or "")
        if all(key):
            instances.setdefault(key, []).append(response)
    incomplete = {
        key: responses
        for key, responses in instances.items()
        if any(not r.get("submittedAt") for r in responses)
        and min((_created(r) or now) for r in responses) <= cutoff
    }
    endusers = {
        e["id"]: e for e in await tellescope.get_many("endusers", [k[0] for k in incomplete])
    }
    return [
        Candidate(
            enduser=endusers[enduser_id],
            eventId=f"group-incomplete-{instance}",
            journeyContext=JourneyContext(formGroupId=info.groupId),
            details={"groupId": info.groupId, "groupInstance": instance},
        )
        for (enduser_id, instance) in incomplete
        if enduser_id in endusers
    ]


async def _vital_count(trigger: ActiveTrigger, now: datetime, tellescope: TellescopeClient):
    info = trigger.trigger.event.info
    period = int(info.periodInMS)
    cutoff = now - timedelta(milliseconds=period)
    units = [u for u in info.units or [] if u]
    counts: dict[str, int] = {}
    async for observation in tellescope.iterate("enduser_observations", created_from=cutoff):
        enduser_id = observation.get("enduserId")
        unit = (observation.get("measurement") or {}).get("unit")
        taken = _reading_time(observation)
        if not enduser_id or (units and unit not in units) or taken is None:
            continue
        if cutoff <= taken <= now:
            counts[enduser_id] = counts.get(enduser_id, 0) + 1
    event_id = f"vital-count-{vital_count_period(now, period)}"
    if vital_count_matches(0, info.comparison):  # endusers without readings count too
        endusers = [e async for e in tellescope.iterate("endusers")]
    else:
        endusers = await tellescope.get_many("endusers", list(counts))
    return [
        Candidate(enduser=e, eventId=event_id, details={"count": counts.get(e["id"], 0)})
        for e in endusers
        if vital_count_matches(counts.get(e["id"], 0), info.comparison)
    ]


FINDERS: dict[str, Callable[..., Any]] = {
    "On Birthday": _birthdays,
    "Has Not Engaged": _not_engaged,
    "No Recent Appointment": _no_recent_appointment,
    "Form Group Incomplete": _form_group_incomplete,
    "Vital Count": _vital_count,
}


# --- the scan -----------------------------------------------------------------------------------


async def scan(
    req: ScanRequest, deps: TriggerDeps, *, heartbeat: Callable[..., None] | None = None
) -> ScanReport:
    report = ScanReport(triggerId=req.triggerId)
    trigger = find_active(deps.plans, req.triggerId)
    if trigger is None:
        report.note = "the trigger is no longer deployed"
        return report
    event_type = trigger.trigger.event.type
    finder = FINDERS.get(event_type)
    if finder is None:
        report.note = f'"{event_type}" has no candidate scan'
        return report
    if trigger.trigger.status != "Active" or trigger.trigger.archivedAt:
        report.note = f"the trigger is {trigger.trigger.status}"
        return report
    now = parse_iso(req.now)
    assert now is not None
    found = await finder(trigger, now, deps.tellescope)
    report.candidates = len(found)
    for index, candidate in enumerate(found):
        event = IncomingEvent(
            type=event_type,
            eventId=candidate.eventId,
            enduserId=candidate.enduser["id"],
            record=dict(candidate.record),
            journeyContext=candidate.journeyContext,
            occurredAt=now,
            details=candidate.details,
            forTriggerId=trigger.id,
        )
        dispatched = await dispatch_event(
            event, deps, enduser=candidate.enduser, triggers=[trigger], source="schedule", now=now
        )
        for firing in dispatched.firings:
            (report.started if firing.started else report.duplicates).append(firing.workflowId)
        if dispatched.evaluation is not None:
            for decision in dispatched.evaluation.decisions:
                if not decision.fire:
                    report.skipped[candidate.enduser["id"]] = decision.reason
        if heartbeat is not None and index % 20 == 0:
            heartbeat(index)
    return report
