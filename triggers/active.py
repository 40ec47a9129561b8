"""The triggers in force: every trigger of the current version of every deployed journey.

A trigger lives in the YAML file of a journey and is deployed with it, so deploying a new version
of that journey replaces its triggers, and rolling back restores them. Inactive and archived
triggers are returned too: the evaluator reports them as skipped, which keeps "why did my trigger
not fire?" answerable.
"""

from __future__ import annotations

from models.plan import OBJECT_ID, JourneyPlan
from store.plans import PlanStore
from store.tables import JourneyVersionRow
from triggers.models import ActiveTrigger

_PLANS: dict[tuple[str, str], JourneyPlan] = {}
_PLANS_KEPT = 256


def plan_of(row: JourneyVersionRow) -> JourneyPlan:
    """Plans are immutable per (journey, version): parse each one once per process."""
    key = (row.journey_id, row.version)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        plan = _PLANS[key] = JourneyPlan.model_validate(row.plan)
    return plan


def current_rows(plans: PlanStore) -> list[JourneyVersionRow]:
    return [row for row in plans.versions() if row.is_current]


def journey_ids(rows: list[JourneyVersionRow]) -> dict[str, str]:
    """Readable journey id -> the Tellescope journey id its enrollments write into
    `enduser.journeys`."""
    return {row.journey_id: row.tellescope_journey_id for row in rows}


def readable_journey_id(journey_id: str, ids: dict[str, str]) -> str | None:
    """A journey reference (readable id, or the Tellescope id of a deployed journey) as the
    readable id; None when no deployed journey goes by it."""
    if journey_id in ids:
        return journey_id
    for readable, tellescope in ids.items():
        if tellescope == journey_id:
            return readable
    return None


def tellescope_journey_id(journey_id: str, ids: dict[str, str]) -> str | None:
    readable = readable_journey_id(journey_id, ids)
    if readable is not None:
        return ids[readable]
    return journey_id if OBJECT_ID.match(journey_id) else None


def active_triggers(plans: PlanStore) -> list[ActiveTrigger]:
    """Every trigger of every current plan, in deployment order then file order."""
    rows = current_rows(plans)
    ids = journey_ids(rows)
    found: list[ActiveTrigger] = []
    for row in rows:
        plan = plan_of(row)
        for trigger in plan.triggers:
            if trigger.id is None:
                continue
            scope = trigger.journeyId
            found.append(
                ActiveTrigger(
                    trigger=trigger,
                    definedIn=row.journey_id,
                    planVersion=row.version,
                    organizationTimezone=plan.organization.timezone,
                    scopeJourneyId=(readable_journey_id(scope, ids) or scope) if scope else None,
                    scopeTellescopeJourneyId=tellescope_journey_id(scope, ids) if scope else None,
                )
            )
    return found


def find_active(plans: PlanStore, trigger_id: str) -> ActiveTrigger | None:
    return next((t for t in active_triggers(plans) if t.id == trigger_id), None)
