"""Which triggers fire for an event: the evaluation pipeline of docs/semantics.md §9.2 with
docs/decisions.md D7.

Per trigger, in order, the first stage that fails decides the skip reason:

1. `status`: only Active, non-archived triggers of the event's type (others of that type are
   reported as skipped; triggers of other types are not reported at all);
2. `event`: the event-specific `info` filters (`triggers.filters`), including Form Submitted
   answer conditions;
3. `enduserCondition` against the enduser (docs/semantics.md §10.1);
4. `journey`: a trigger scoped to a journey (`journeyId`) fires only for endusers currently in it
   (`enduser.journeys` has the journey's Tellescope id, or the caller knows of a running
   enrollment);
5. `oncePerEnduser`: the trigger's id is already in `enduser.triggerIds`;
6. `availability`: outside every `weeklyAvailabilities` window (in `availabilityTimezone`, else
   the organisation's zone) the event is dropped;
7. `throttle`: the trigger fired for this enduser less than a minute ago (`last_fired`).

Pure and deterministic: no I/O, no clock; the caller passes the enduser, `now`, the triggers and
what it knows of running enrollments and recent firings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from models.organization import Organization
from rules.conditions import condition_values, matches
from rules.office_hours import is_open
from triggers.events import IncomingEvent
from triggers.filters import FilterContext, event_filter
from triggers.models import (
    THROTTLE_SECONDS,
    ActiveTrigger,
    Decision,
    Evaluation,
    Stage,
    trigger_record_id,
)

THROTTLE = timedelta(seconds=THROTTLE_SECONDS)


def in_journey(
    trigger: ActiveTrigger, enduser: Mapping[str, Any], enrolled: Collection[str] = ()
) -> bool:
    """Membership as Tellescope defines it (the journey's key is in `enduser.journeys`), or a
    running enrollment the caller knows of."""
    journeys = enduser.get("journeys") or {}
    keys = {trigger.scopeTellescopeJourneyId, trigger.scopeJourneyId, trigger.trigger.journeyId}
    keys.discard(None)
    if any(key in journeys for key in keys):
        return True
    return trigger.scopeJourneyId in enrolled if trigger.scopeJourneyId else False


def already_fired(trigger: ActiveTrigger, enduser: Mapping[str, Any]) -> bool:
    fired = enduser.get("triggerIds") or []
    return trigger_record_id(trigger.id) in fired or trigger.id in fired


def availability_zone(trigger: ActiveTrigger) -> str:
    return trigger.trigger.availabilityTimezone or trigger.organizationTimezone


def available(trigger: ActiveTrigger, now: datetime) -> bool:
    """Inside one of the trigger's weekly windows (no windows: always)."""
    windows = trigger.trigger.weeklyAvailabilities or []
    if not windows:
        return True
    zone = availability_zone(trigger)
    return is_open(now, Organization(timezone=zone, officeHours=windows), zone)


def decide(
    event: IncomingEvent,
    trigger: ActiveTrigger,
    *,
    enduser: Mapping[str, Any],
    now: datetime,
    enrolled: Collection[str] = (),
    last_fired: Mapping[str, datetime] | None = None,
    upcoming_events: Sequence[Mapping[str, Any]] | None = None,
) -> Decision:
    definition = trigger.trigger
    if definition.status != "Active":
        return _skipped(trigger, "status", f"trigger is {definition.status}")
    if definition.archivedAt:
        return _skipped(trigger, "status", "trigger is archived")
    ctx = FilterContext(enduser=enduser, now=now, conditions=definition.event.conditions)
    reason = event_filter(definition.event, event, ctx)
    if reason:
        return _skipped(trigger, "event", reason)
    # From here on the decision says what the enduserCondition read (docs/operator-view.md §2).
    seen = (
        condition_values(enduser, definition.enduserCondition, trigger.condition_keys)
        if definition.enduserCondition
        else None
    )
    if definition.enduserCondition and not matches(
        enduser,
        definition.enduserCondition,
        now=now,
        upcoming_events=upcoming_events,
        ignore_upcoming_events=upcoming_events is None,
    ):
        return _skipped(
            trigger,
            "enduserCondition",
            "the enduser does not meet the trigger's enduserCondition",
            seen,
        )
    if definition.journeyId and not in_journey(trigger, enduser, enrolled):
        return _skipped(
            trigger, "journey", f"the enduser is not in journey {definition.journeyId}", seen
        )
    if definition.oncePerEnduser and already_fired(trigger, enduser):
        return _skipped(
            trigger, "oncePerEnduser", "already fired for this enduser (oncePerEnduser)", seen
        )
    if not available(trigger, now):
        zone = availability_zone(trigger)
        return _skipped(
            trigger, "availability", f"outside the trigger's weekly availability ({zone})", seen
        )
    last = (last_fired or {}).get(trigger.id)
    if last is not None and not definition.oncePerEnduser and now - last < THROTTLE:
        reason = f"fired for this enduser at {last.isoformat()} (< 1 minute ago)"
        return _skipped(trigger, "throttle", reason, seen)
    return Decision(
        triggerId=trigger.id, title=definition.title, fire=True, stage=None, reason="", values=seen
    )


# A decision not to fire that read no enduser values is the same every time its trigger is
# skipped for the same reason, and most of an event's decisions are such (1,000 triggers, most for
# another form): each is built once and shared (Decision is frozen). Building them per event was a
# third of evaluating 1,000 triggers (BENCHMARKS.md). Cleared when full, so it stays bounded.
_SHARED_SKIPS: dict[tuple[str, str, str, str], Decision] = {}
SHARED_SKIPS_MAX = 100_000


def _skipped(
    trigger: ActiveTrigger, stage: Stage, reason: str, values: dict[str, Any] | None = None
) -> Decision:
    """A decision not to fire."""
    title = trigger.trigger.title
    if values is None:
        key = (trigger.id, title, stage, reason)
        shared = _SHARED_SKIPS.get(key)
        if shared is None:
            if len(_SHARED_SKIPS) >= SHARED_SKIPS_MAX:
                _SHARED_SKIPS.clear()
            shared = _SHARED_SKIPS[key] = Decision(
                triggerId=trigger.id, title=title, fire=False, stage=stage, reason=reason
            )
        return shared
    return Decision(
        triggerId=trigger.id, title=title, fire=False, stage=stage, reason=reason, values=values
    )


def evaluate(
    event: IncomingEvent,
    triggers: Sequence[ActiveTrigger],
    *,
    enduser: Mapping[str, Any],
    now: datetime,
    enrolled: Collection[str] = (),
    last_fired: Mapping[str, datetime] | None = None,
    upcoming_events: Sequence[Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Decide every trigger of the event's type (or only `event.forTriggerId`)."""
    decisions = [
        decide(
            event,
            trigger,
            enduser=enduser,
            now=now,
            enrolled=enrolled,
            last_fired=last_fired,
            upcoming_events=upcoming_events,
        )
        for trigger in candidates(event, triggers)
    ]
    return Evaluation(
        eventType=event.type, eventId=event.eventId, enduserId=event.enduserId, decisions=decisions
    )


def candidates(event: IncomingEvent, triggers: Sequence[ActiveTrigger]) -> list[ActiveTrigger]:
    """The triggers an event is evaluated against: its type, and its trigger if it names one."""
    return [
        t
        for t in triggers
        if t.trigger.event.type == event.type
        and (event.forTriggerId is None or t.id == event.forTriggerId)
    ]
