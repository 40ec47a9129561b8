"""Checks the routes share: the journey, step and endusers a request names must exist (NotFound,
InvalidInput otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from models.plan import JourneyPlan
from services.enrollments import read_endusers
from services.errors import InvalidInput, NotFound
from store.plans import JourneyHead, PlanNotFound, PlanStore
from tellescope.client import Record, TellescopeClient


def resolve_journey(plans: PlanStore, journey_ref: str) -> JourneyHead:
    try:
        return plans.resolve_head(journey_ref)
    except PlanNotFound:
        message = f'Could not find a journey "{journey_ref}"'
        raise NotFound(message, {"journeyId": journey_ref}) from None


@lru_cache(maxsize=256)
def _plan(journey_id: str, version: str, plans: PlanStore) -> JourneyPlan:
    return plans.get(journey_id, version)


def plan_of(plans: PlanStore, row: JourneyHead) -> JourneyPlan:
    """Versions are immutable, so compiled plans are cached by (journey, version)."""
    return _plan(row.journey_id, row.version, plans)


def resolve_step(plan: JourneyPlan, step_ref: str | None, path: str = "automationStepId"):
    """A readable step id for a readable or Tellescope step id; InvalidInput naming `path`
    otherwise."""
    if step_ref is None:
        return None
    found = plan.step_id(step_ref)
    if found is None:
        raise InvalidInput(
            f'Error parsing field {path}: journey "{plan.journeyId}" has no step "{step_ref}"',
            path=path,
        )
    return found


async def require_endusers(
    tellescope: TellescopeClient, enduser_ids: Sequence[str]
) -> dict[str, Record | None]:
    """Each enduser's record as Tellescope holds it; NotFound (nothing done) when any enduser
    does not exist."""
    found = await read_endusers(tellescope, enduser_ids)
    missing = [i for i, record in found.items() if record is None]
    if missing:
        raise NotFound(
            "Could not find a record for the given id(s): "
            + ", ".join(missing[:10])
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""),
            {"enduserIds": missing},
        )
    return found
