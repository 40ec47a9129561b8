"""Outcomes of calls and AI conversations, delivered by a provider or its glue
(docs/handlers.md §3): the production path of onCallOutcome and onAIConversationOutcome."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StoreDep, TemporalDep
from api.schemas import StepOutcomeRequest, StepOutcomeResponse
from services.step_outcomes import deliver_outcome

router = APIRouter(prefix="/v1", tags=["outcomes"])


@router.post(
    "/step-outcomes",
    response_model=StepOutcomeResponse,
    summary="Deliver a call's or AI conversation's outcome to its enrollment",
    description="docs/handlers.md §3. Signals the enrollment; its onCallOutcome /"
    " onAIConversationOutcome branch for `outcome` runs (kept until the step finishes when it"
    " comes earlier; ignored for a step that already had its outcome). 404 when the journey,"
    " the automated action or the running enrollment is unknown; 422 naming the JSON path"
    " when malformed.",
)
async def post_step_outcome(
    body: StepOutcomeRequest, store: StoreDep, temporal: TemporalDep
) -> StepOutcomeResponse:
    delivered = await deliver_outcome(
        temporal,
        store.plans,
        store.ledger,
        journey_ref=body.journeyId,
        enduser_id=body.enduserId,
        automated_action_id=body.automatedActionId,
        step_ref=body.stepId,
        outcome=body.outcome,
    )
    return StepOutcomeResponse(**vars(delivered))
