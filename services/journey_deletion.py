"""Deleting a journey (docs/semantics.md §2.2): `DELETE /v1/journeys/{journeyId}`,
`journeys delete`, and Tellescope's own journey-deleted webhook (triggers.intake).

As Tellescope does on delete: every running enrollment is removed with cancel reason 5 (its
pending actions cancelled, `cancelledBy` the one deleting), the journey's triggers stop (no
version of it is current any more: `triggers.active` reads current versions), and
`enduser.journeys[J]` is unset for that journey only. The store keeps its versions and records
one `delete` deployment event; the journey no longer resolves (404) until deployed again.
A second delete finds no current version: NotFound (docs/decisions.md D16).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from temporalio.service import RPCError

from activities.enduser import write_journey_state
from models.automated_action import CancelReason
from models.runtime import JourneyStateUpdate, RemoveRequest
from services.deployments import ScheduleSync, sync_schedules
from services.enrollments import bounded, listed_endusers, remove_many
from services.errors import NotFound
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore
from tellescope.client import TellescopeClient
from tellescope.errors import TellescopeRejected

log = logging.getLogger("journeys.services.journey_deletion")


@dataclass
class DeletedJourney:
    journeyId: str
    version: str
    tellescopeJourneyId: str
    removed: list[str] = field(default_factory=list)  # endusers whose enrollment was removed
    unset: list[str] = field(default_factory=list)  # endusers whose journeys[J] was unset here
    # deleted | gone (already deleted in Tellescope) | skipped (offline, or the webhook path)
    tellescope: str = "skipped"  # or `failed: ...` (the record is left; delete it by hand)
    failed: list[str] = field(default_factory=list)  # endusers whose removal Temporal failed
    schedules: ScheduleSync | None = None


async def _members(tellescope: TellescopeClient | None, record_id: str) -> list[str]:
    """Endusers whose `journeys` has the journey's key, as Tellescope holds them."""
    if tellescope is None:
        return []
    try:
        found = await tellescope.find_all("endusers", {f"journeys.{record_id}": {"_exists": True}})
    except TellescopeRejected:  # the filter refused: the ledger and visibility remain
        log.warning("reading the endusers of journey %s failed", record_id, exc_info=True)
        return []
    return [
        e["id"] for e in found if isinstance(e.get("journeys"), dict) and record_id in e["journeys"]
    ]


async def delete_journey(
    plans: PlanStore,
    journey_ref: str,
    *,
    by: str,
    client: Any,
    ledger: Ledger | None,
    tellescope: TellescopeClient | None,
    task_queue: str,
    delete_record: bool = True,
    concurrency: int = 32,
) -> DeletedJourney:
    """Delete a deployed journey named by its readable or Tellescope id (NotFound when no version
    of it is current). `delete_record=False` leaves the Tellescope journey record alone (the
    webhook path: Tellescope deleted it). `client` None: Temporal unreachable, nothing removed."""
    try:
        row = plans.resolve(journey_ref)
    except PlanNotFound:
        raise NotFound(
            f'Could not find a journey "{journey_ref}"', {"journeyId": journey_ref}
        ) from None
    journey_id, record_id = row.journey_id, row.tellescope_journey_id
    # Members first: deleting the Tellescope record unsets every enduser's key.
    members = await _members(tellescope, record_id)
    version = plans.delete(journey_id, by=by)
    if version is None:  # a concurrent delete won
        raise NotFound(f'Could not find a journey "{journey_ref}"', {"journeyId": journey_ref})
    result = DeletedJourney(journey_id, version, record_id)
    result.schedules = await sync_schedules(client, plans, task_queue)
    candidates = list(members)
    if ledger is not None:
        candidates += ledger.endusers_with_active(journey_id)
    if client is not None:
        candidates += await listed_endusers(client, journey_id)
        failures: dict[str, RPCError] = {}
        removed = await remove_many(
            client,
            journey_id,
            candidates,
            RemoveRequest(cancelReason=int(CancelReason.JOURNEY_DELETED), cancelledBy=by),
            concurrency=concurrency,
            failures=failures,
        )
        result.removed = [e for e, ok in removed.items() if ok]
        result.failed = list(failures)
    if tellescope is not None:
        # The removed enrollments unset their key themselves; this covers the others (a journey
        # that ended keeps its key in Tellescope) and does not wait for them.
        async def unset(enduser_id: str) -> bool:
            try:
                update = JourneyStateUpdate(enduserId=enduser_id, journeyId=record_id, state=None)
                await write_journey_state(tellescope, update)
            except TellescopeRejected:
                log.warning("unsetting journeys[%s] of %s failed", record_id, enduser_id)
                return False
            return True

        done = await bounded(members, 8, unset)
        result.unset = [e for e, ok in zip(members, done, strict=True) if ok]
        if delete_record:
            try:
                await tellescope.delete("journeys", record_id)
                result.tellescope = "deleted"
            except TellescopeRejected as error:
                # the journey is deleted here either way; say what Tellescope answered
                result.tellescope = "gone" if error.status in (400, 404) else f"failed: {error}"
    return result
