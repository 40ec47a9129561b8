"""The triggers in force: every trigger of the current version of every deployed journey.

A trigger lives in the YAML file of a journey and is deployed with it, so deploying a new version
of that journey replaces its triggers, and rolling back restores them. Inactive and archived
triggers are returned too: the evaluator reports them as skipped, which keeps "why did my trigger
not fire?" answerable.
"""

from __future__ import annotations

from models.plan import OBJECT_ID, JourneyPlan
from store.plans import JourneyHead, PlanStore
from store.tables import JourneyVersionRow
from triggers.models import ActiveTrigger

_PLANS: dict[tuple[str, str], JourneyPlan] = {}
_PLANS_KEPT = 256
# active_triggers per (database, current versions): the triggers follow from the current
# versions alone, and building them (plan rows decoded, one ActiveTrigger per trigger) was most
# of the time an event took against 1,000 triggers (BENCHMARKS.md). A deploy or rollback changes
# the current versions, so the key changes with it.
_ACTIVE: dict[tuple[str, tuple[JourneyHead, ...]], list[ActiveTrigger]] = {}
_ACTIVE_KEPT = 16
# journeys_by_step per (database, stored versions), for the same reason: routing a webhook's
# signal by step id decoded every stored version's plan per webhook. Versions are immutable, so
# the map changes only when a version is stored or deleted, which changes the key.
_BY_STEP: dict[tuple[str, tuple[JourneyHead, ...]], dict[str, str]] = {}
_BY_STEP_KEPT = 16


def plan_of(row: JourneyVersionRow) -> JourneyPlan:
    """Plans are immutable per (journey, version): parse each one once per process."""
    key = (row.journey_id, row.version)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        plan = _PLANS[key] = JourneyPlan.model_validate(row.plan)
    return plan


def _head_plan(plans: PlanStore, head: JourneyHead) -> JourneyPlan:
    key = (head.journey_id, head.version)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        plan = _PLANS[key] = plans.get(head.journey_id, head.version)
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
    """Every trigger of every current plan, in deployment order then file order (the current
    versions read at most once per HEAD_TTL_SECONDS, `PlanStore.recent_current_heads`; the
    triggers are built once per set of current versions)."""
    heads = tuple(plans.recent_current_heads())
    key = (str(plans.engine.url), heads)
    cached = _ACTIVE.get(key)
    if cached is None:
        cached = _build_active(plans, heads)
        if len(_ACTIVE) >= _ACTIVE_KEPT:
            _ACTIVE.clear()
        _ACTIVE[key] = cached
    return list(cached)


def _build_active(plans: PlanStore, heads: tuple[JourneyHead, ...]) -> list[ActiveTrigger]:
    ids = {head.journey_id: head.tellescope_journey_id for head in heads}
    found: list[ActiveTrigger] = []
    for row in heads:
        plan = _head_plan(plans, row)
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


def journeys_by_step(plans: PlanStore, *, recent: bool = False) -> dict[str, str]:
    """Step id (Tellescope's, or the readable one) -> the readable id of the journey holding it,
    over every stored version, so that enrollments on older versions are found too (one light
    read of the stored versions; the map is built once per set of them). A Tellescope step id
    maps to the journey of its latest version; readable step ids to their first."""
    heads = tuple(plans.recent_version_heads(fresh=not recent))
    key = (str(plans.engine.url), heads)
    cached = _BY_STEP.get(key)
    if cached is None:
        cached = {}
        for head in heads:
            plan = _head_plan(plans, head)
            for step_id in plan.tellescopeStepIds.values():
                cached[step_id] = head.journey_id
            for step_id in plan.steps:
                cached.setdefault(step_id, head.journey_id)
        if len(_BY_STEP) >= _BY_STEP_KEPT:
            _BY_STEP.clear()
        _BY_STEP[key] = cached
    return cached


def journey_for_step(plans: PlanStore, step_id: str) -> str | None:
    """The readable id of the journey holding the step: from the stored versions as read within
    HEAD_TTL_SECONDS (`PlanStore.recent_version_heads`), and for a step they do not hold, as
    read now (a version stored since, by this process or another, routes at once)."""
    journey = journeys_by_step(plans, recent=True).get(step_id)
    return journey if journey is not None else journeys_by_step(plans).get(step_id)


def warm_trigger_caches(plans: PlanStore) -> None:
    """Build what every event and webhook reads (the triggers in force, the step routing) before
    the first one arrives, so a process can freeze them with its start-up heap."""
    active_triggers(plans)
    journeys_by_step(plans)


def find_active(plans: PlanStore, trigger_id: str) -> ActiveTrigger | None:
    return next((t for t in active_triggers(plans) if t.id == trigger_id), None)
