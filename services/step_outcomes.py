"""Deliver the outcome of a call or AI conversation to its enrollment (docs/handlers.md §3).

A handler that started a call (`started(reference)`) hands the provider the ids of its
`HandlerRequest`; when the call ends, the provider (or the operator's glue) posts
`{journeyId, enduserId, automatedActionId | stepId, outcome}` and this signals the enrollment's
`step_outcome`, whose onCallOutcome / onAIConversationOutcome branch for that outcome runs
(docs/semantics.md §4.3). Every check runs before the signal: bad input changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.runtime import StepOutcome, enrollment_workflow_id
from services.errors import InvalidInput, NotFound
from services.journeys import plan_of, resolve_journey, resolve_step
from store.ledger import Ledger
from store.plans import PlanStore


@dataclass(frozen=True)
class DeliveredOutcome:
    journeyId: str
    enduserId: str
    stepId: str
    outcome: str
    workflowId: str


async def deliver_outcome(
    client: Client,
    plans: PlanStore,
    ledger: Ledger,
    *,
    journey_ref: str,
    enduser_id: str,
    automated_action_id: str | None,
    step_ref: str | None,
    outcome: str,
) -> DeliveredOutcome:
    if (automated_action_id is None) == (step_ref is None):
        raise InvalidInput(
            "Error parsing request: give exactly one of automatedActionId and stepId",
            path="automatedActionId" if automated_action_id is not None else "stepId",
        )
    head = resolve_journey(plans, journey_ref)
    if automated_action_id is not None:
        row = ledger.get(automated_action_id)
        # The enrolled enduser, or the related contact the call went to (docs/semantics.md §8.4).
        endusers = {row.enduser_id, row.acting_enduser_id} if row is not None else set()
        if row is None or row.journey_id != head.journey_id or enduser_id not in endusers:
            raise NotFound(
                f'Could not find automated action "{automated_action_id}" of enduser'
                f' "{enduser_id}" in journey "{head.journey_id}"',
                {"path": "automatedActionId"},
            )
        step_id = row.automation_step_id
        enduser_id = row.enduser_id  # whose enrollment it is
    else:
        step_id = resolve_step(plan_of(plans, head), step_ref, path="stepId")
    workflow_id = enrollment_workflow_id(head.journey_id, enduser_id)
    try:
        await client.get_workflow_handle(workflow_id).signal(
            "step_outcome", StepOutcome(automationStepId=step_id, outcome=outcome)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:  # never enrolled, or the journey ended
            raise NotFound(
                f'enduser "{enduser_id}" has no running enrollment in journey "{head.journey_id}"',
                {"journeyId": head.journey_id, "enduserId": enduser_id},
            ) from None
        raise
    return DeliveredOutcome(head.journey_id, enduser_id, step_id, outcome, workflow_id)
