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


ENROLLMENT_DESCRIPTION = (
    "While paused, due steps wait (events are still applied); on resume the journey's"
    " `onResume` runs (`runOverdue`, default) or skips (`skipOverdue`) the steps that fell due"
    " meanwhile. Repeating it changes nothing. 404 when the enduser has no running enrollment"
    " in the journey. docs/decisions.md D28."
)
JOURNEY_DESCRIPTION = (
    "The journey's running enrollments (or `enduserIds`) receive the signal `batchSize` at a"
    " time; `failed` lists those Temporal did not take (send the request again: it is"
    " idempotent). docs/decisions.md D28."
)


async def _one(
    journey_ref: str,
    enduser_id: str,
    action: Literal["pause", "resume"],
    store: StoreDep,
    temporal: TemporalDep,
    key: ApiKeyDep,
) -> PauseEnrollmentResponse:
    row = resolve_journey(store.plans, journey_ref)
    by = f"api-key {key.name or key.id}"
    await pausing.pause_enrollment(temporal, row.journey_id, enduser_id, action, by=by)
    return PauseEnrollmentResponse(journeyId=row.journey_id, enduserId=enduser_id, action=action)


async def _journey(
    journey_ref: str,
    action: Literal["pause", "resume"],
    body: PauseJourneyRequest | None,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    key: ApiKeyDep,
) -> PauseJourneyResponse:
    row = resolve_journey(store.plans, journey_ref)
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


EnduserPath = Annotated[EnduserId, Path()]


@router.post(
    "/journeys/{journeyId}/enrollments/{enduserId}/pause",
    response_model=PauseEnrollmentResponse,
    summary="Pause one enrollment: its due steps wait until resumed",
    description=ENROLLMENT_DESCRIPTION,
)
async def pause_enrollment(
    journeyId: JourneyPath,
    enduserId: EnduserPath,
    store: StoreDep,
    temporal: TemporalDep,
    key: ApiKeyDep,
) -> PauseEnrollmentResponse:
    return await _one(journeyId, enduserId, "pause", store, temporal, key)


@router.post(
    "/journeys/{journeyId}/enrollments/{enduserId}/resume",
    response_model=PauseEnrollmentResponse,
    summary="Resume one paused enrollment",
    description=ENROLLMENT_DESCRIPTION,
)
async def resume_enrollment(
    journeyId: JourneyPath,
    enduserId: EnduserPath,
    store: StoreDep,
    temporal: TemporalDep,
    key: ApiKeyDep,
) -> PauseEnrollmentResponse:
    return await _one(journeyId, enduserId, "resume", store, temporal, key)


@router.post(
    "/journeys/{journeyId}/pause",
    response_model=PauseJourneyResponse,
    summary="Pause every running enrollment of a journey, in batches",
    description=JOURNEY_DESCRIPTION,
)
async def pause_journey(
    journeyId: JourneyPath,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    key: ApiKeyDep,
    body: PauseJourneyRequest | None = None,
) -> PauseJourneyResponse:
    return await _journey(journeyId, "pause", body, store, temporal, state, key)


@router.post(
    "/journeys/{journeyId}/resume",
    response_model=PauseJourneyResponse,
    summary="Resume every paused enrollment of a journey, in batches",
    description=JOURNEY_DESCRIPTION,
)
async def resume_journey(
    journeyId: JourneyPath,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    key: ApiKeyDep,
    body: PauseJourneyRequest | None = None,
) -> PauseJourneyResponse:
    return await _journey(journeyId, "resume", body, store, temporal, state, key)
