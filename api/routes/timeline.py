"""A patient's timeline in one journey, as JSON (docs/operator-view.md §3): what happened, when,
and why, from the ledger, the Temporal history and the trigger decisions
(`services.timeline`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from api.deps import StateDep
from api.schemas import EnduserId
from api.state import AppState, TemporalUnavailable
from services.timeline import Timeline, patient_timeline
from store.plans import PlanNotFound

router = APIRouter(prefix="/v1", tags=["enrollments"])


def journey_id_of(state: AppState, journey_ref: str) -> str:
    """The readable id of a deployed journey (readable or Tellescope id); a journey deleted since
    is looked up by the id given (its ledger rows remain)."""
    try:
        return state.store.plans.resolve_head(journey_ref).journey_id
    except PlanNotFound:
        return journey_ref


async def build_timeline(state: AppState, journey_ref: str, enduser_id: str) -> Timeline:
    """The timeline; without Temporal (unreachable) from the ledger and decisions, with a note."""
    journey_id = await run_in_threadpool(journey_id_of, state, journey_ref)
    client, reason = None, None
    try:
        client = await state.temporal_client()
    except TemporalUnavailable as error:
        reason = str(error)
    store = state.store
    return await patient_timeline(
        client,
        store.plans,
        store.ledger,
        store.decisions,
        journey_id,
        enduser_id,
        temporal_error=reason,
    )


@router.get(
    "/journeys/{journeyId}/enrollments/{enduserId}/timeline",
    response_model=Timeline,
    summary="One patient's timeline in a journey: steps, deferrals, conditions, trigger decisions",
    description="Every action of the enrollment (every run) as the ledger has it, the enduser"
    " fields its conditions read (from the Temporal history), how the latest run ended, and every"
    " trigger decision about the enduser (fired or not, and why). docs/operator-view.md §3.",
)
async def timeline(
    journeyId: Annotated[str, Path(min_length=1, max_length=200)],
    enduserId: Annotated[EnduserId, Path()],
    state: StateDep,
) -> Timeline:
    return await build_timeline(state, journeyId, enduserId)
