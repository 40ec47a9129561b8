"""Pausing and resuming enrollments (docs/decisions.md D28): one enduser's enrollment, or a
journey's running enrollments in batches (services.pausing does the work)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from api.deps import ApiKeyDep, StateDep, StoreDep, TemporalDep
from api.schemas import (
    EnduserId,
    PauseEnrollmentResponse,
    PauseJourneyRequest,
    PauseJourneyResponse,
)
from services import pausing
from services.journeys import resolve_journey

router = APIRouter(prefix="/v1", tags=["enrollments"])

JourneyPath = Annotated[
    str, Path(min_length=1, max_length=200, description="Readable or Tellescope journey id")
]
Verb = Annotated[Literal["pause", "resume"], Path(description="pause or resume")]


@router.post(
    "/journeys/{journeyId}/enrollments/{enduserId}/{action}",
    response_model=PauseEnrollmentResponse,
    summary="Pause or resume one enrollment (docs/decisions.md D28)",
    description="While paused, due steps wait (events are still applied); on resume the"
    " journey's `onResume` runs (`runOverdue`, default) or skips (`skipOverdue`) the steps that"
    " fell due meanwhile. Repeating it changes nothing. 404 when the enduser has no running"
    " enrollment in the journey.",
)
async def pause_enrollment(
    journeyId: JourneyPath,
    enduserId: Annotated[EnduserId, Path()],
    action: Verb,
    store: StoreDep,
    temporal: TemporalDep,
    key: ApiKeyDep,
) -> PauseEnrollmentResponse:
    row = resolve_journey(store.plans, journeyId)
    await pausing.pause_enrollment(
        temporal, row.journey_id, enduserId, action, by=f"api-key {key.name or key.id}"
    )
    return PauseEnrollmentResponse(journeyId=row.journey_id, enduserId=enduserId, action=action)


@router.post(
    "/journeys/{journeyId}/{action}",
    response_model=PauseJourneyResponse,
    summary="Pause or resume every running enrollment of a journey, in batches",
    description="The journey's running enrollments (or `enduserIds`) receive the signal"
    " `batchSize` at a time; `failed` lists those Temporal did not take (send the request"
    " again: it is idempotent). docs/decisions.md D28.",
)
async def pause_journey(
    journeyId: JourneyPath,
    action: Verb,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    key: ApiKeyDep,
    body: PauseJourneyRequest | None = None,
) -> PauseJourneyResponse:
    row = resolve_journey(store.plans, journeyId)
    request = body or PauseJourneyRequest()
    report = await pausing.pause_journey(
        temporal,
        store.ledger,
        row.journey_id,
        action,
        by=f"api-key {key.name or key.id}",
        endusers=request.enduserIds,
        batch_size=request.batchSize,
        concurrency=state.settings.bulk_concurrency,
    )
    return PauseJourneyResponse.model_validate(vars(report))
