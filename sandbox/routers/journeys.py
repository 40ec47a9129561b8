"""Journey membership and states.

    DELETE /v1/journey/:id/states             {states}               → {updated}
    POST   /v1/add-endusers-to-journey        {enduserIds, journeyId} → {}
    POST   /v1/remove-endusers-from-journey   {enduserIds, journeyId} → {}

The sandbox runs no automations: adding writes `enduser.journeys[journeyId] = ""` (as Tellescope
does), removing unsets the key; each fires the endusers update webhook a journey engine acts on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.behaviour.endusers import remove_from_journey, set_journey_state
from sandbox.behaviour.journeys import delete_states
from sandbox.errors import invalid_field, missing_field
from sandbox.ids import is_object_id
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_caller)], tags=["journeys"])


@router.delete("/v1/journey/{journey_id}/states")
async def delete_journey_states(journey_id: str, request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    updated = delete_states(sandbox.records, caller, journey_id, body.get("states"))
    return {"updated": updated}


def _membership_args(body: dict[str, Any]) -> tuple[list[str], str]:
    if body.get("enduserIds") is None:
        raise missing_field("enduserIds")
    if body.get("journeyId") is None:
        raise missing_field("journeyId")
    ids = body["enduserIds"]
    if not isinstance(ids, list) or not all(is_object_id(i) for i in ids):
        raise invalid_field("enduserIds", "Invalid id")
    if len(ids) > 1000:
        raise invalid_field("enduserIds", "Arrays should not contain more than 1000 elements")
    return ids, body["journeyId"]


@router.post("/v1/add-endusers-to-journey")
async def add_endusers(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    enduser_ids, journey_id = _membership_args(await body_without_key(request))
    sandbox.records.get("journeys", journey_id)
    for enduser_id in enduser_ids:
        sandbox.records.get("endusers", enduser_id)
    for enduser_id in enduser_ids:
        set_journey_state(sandbox.records, caller, enduser_id, journey_id, "")
    return {}


@router.post("/v1/remove-endusers-from-journey")
async def remove_endusers(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    enduser_ids, journey_id = _membership_args(await body_without_key(request))
    for enduser_id in enduser_ids:
        if sandbox.store.exists("endusers", enduser_id):
            remove_from_journey(sandbox.records, caller, enduser_id, journey_id)
    return {}


@router.post("/v1/waitlists/grant-access")
async def grant_access_from_waitlist(request: Request, caller: CallerDep) -> Any:
    """`{id, count}` → `{waitlist}`: the first `count` endusers of the waitlist join its journey
    (`journeys[journeyId] = ""`, as add-endusers-to-journey) and leave the waitlist."""
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    for name in ("id", "count"):
        if body.get(name) is None:
            raise missing_field(name)
    count = body["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise invalid_field("count", f"Expecting a non-negative number but got {count}")
    waitlist = sandbox.records.get("waitlists", body["id"])
    waiting = list(waitlist.get("enduserIds") or [])
    granted, remaining = waiting[:count], waiting[count:]
    for enduser_id in granted:
        if sandbox.store.exists("endusers", enduser_id):
            set_journey_state(sandbox.records, caller, enduser_id, waitlist["journeyId"], "")
    updated = sandbox.records.update(
        caller, "waitlists", waitlist["id"], {"enduserIds": remaining}, replace_object_fields=True
    )
    return {"waitlist": sandbox.records.present("waitlists", updated)}
