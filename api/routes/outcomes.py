"""Outcomes of calls and AI conversations, delivered by a provider or its glue
(docs/handlers.md §3): the production path of onCallOutcome and onAIConversationOutcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from api.deps import StoreDep, TemporalDep
from api.schemas import EnduserId, JourneyRef
from services.step_outcomes import deliver_outcome

router = APIRouter(prefix="/v1", tags=["outcomes"])

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StepOutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    journeyId: JourneyRef  # readable or Tellescope journey id
    enduserId: EnduserId
    # Which step's outcome: the AutomatedAction the handler was given, or the step (readable or
    # Tellescope id). Exactly one.
    automatedActionId: Text | None = None
    stepId: Text | None = None
    outcome: Text


class StepOutcomeResponse(BaseModel):
    journeyId: str
    enduserId: str
    stepId: str  # readable
    outcome: str
    workflowId: str
    delivered: bool = True


@router.post(
    "/step-outcomes",
    response_model=StepOutcomeResponse,
    summary="Deliver a call's or AI conversation's outcome to its enrollment",
    description="docs/handlers.md §3. Signals the enrollment; its onCallOutcome /"
    " onAIConversationOutcome branch for `outcome` runs (an outcome for a step that is not"
    " waiting for one is ignored by the enrollment). 404 when the journey, the automated action"
    " or the running enrollment is unknown; 422 naming the JSON path when malformed.",
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
