"""The Tellescope Journey record behind each deployed journey.

Tellescope keys `enduser.journeys` by journey record id, and refuses keys naming no journey, so
every deployed journey needs a record: created on its first deploy (title, states, defaultState,
description), updated on later deploys and rollbacks, and adopted when a journey with the same
(unique) title already exists, e.g. after the engine's database was reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.plan import OBJECT_ID, JourneyPlan
from services.errors import Conflict
from tellescope.client import TellescopeClient
from tellescope.errors import TellescopeRejected


@dataclass
class JourneyRecordSync:
    record_id: str
    action: str  # created | updated | adopted | recreated


def journey_fields(plan: JourneyPlan) -> dict[str, Any]:
    journey = plan.journey
    fields: dict[str, Any] = {"title": journey.title}
    if journey.states:
        fields["states"] = [state.to_json() for state in journey.states]
    if journey.defaultState:
        fields["defaultState"] = journey.defaultState
    if journey.description is not None:
        fields["description"] = journey.description
    return fields


async def _exists(tellescope: TellescopeClient, record_id: str) -> bool:
    try:
        await tellescope.get("journeys", record_id)
    except TellescopeRejected as error:
        if error.status in (400, 404):
            return False
        raise
    return True


async def _update(tellescope: TellescopeClient, record_id: str, plan: JourneyPlan) -> None:
    await tellescope.update("journeys", record_id, journey_fields(plan), replace_object_fields=True)


class JourneyRecordConflict(Conflict):
    """The record Tellescope has under this title belongs to another of our journeys."""


async def sync_journey_record(
    tellescope: TellescopeClient,
    plan: JourneyPlan,
    known_id: str | None,
    taken: dict[str, str] | None = None,
) -> JourneyRecordSync:
    """Make sure Tellescope has this journey's record, with this version's title and states;
    returns its id. `known_id` is the record earlier versions used; `taken` maps record ids
    already used by other journeys to those journeys (never adopted twice)."""
    taken = taken or {}
    if known_id and await _exists(tellescope, known_id):
        await _update(tellescope, known_id, plan)
        return JourneyRecordSync(known_id, "updated")
    if OBJECT_ID.match(plan.journeyId) and await _exists(tellescope, plan.journeyId):
        # imported from Tellescope: the readable id is the record id
        await _update(tellescope, plan.journeyId, plan)
        return JourneyRecordSync(plan.journeyId, "updated")
    same_title = await tellescope.list("journeys", {"title": plan.journey.title}, limit=1)
    if same_title:
        record_id = same_title[0]["id"]
        owner = taken.get(record_id)
        if owner is not None and owner != plan.journeyId:
            raise JourneyRecordConflict(
                f'journey "{plan.journeyId}": title "{plan.journey.title}" is already the'
                f' Tellescope journey of "{owner}" (titles are unique in Tellescope)'
            )
        await _update(tellescope, record_id, plan)
        return JourneyRecordSync(record_id, "adopted")
    created = await tellescope.create("journeys", journey_fields(plan))
    return JourneyRecordSync(created["id"], "recreated" if known_id else "created")
