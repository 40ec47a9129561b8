"""The folded history shape's join, written by the worker before a step's side effect.

An enrollment's first bookkeeping is to join its journey (`enduser.journeys[J]` in Tellescope)
and write its first ledger rows, and no step may act before that is written. In the compact shape
a local activity, `join_and_record`, did it: one more marker in every history and one more round
trip through the worker in the first workflow task. In the folded shape (docs/decisions.md D41)
the first step that performs at once carries the batch on its own request
(`ActionRequest.joinFirst`), and this interceptor writes it before the activity runs, so the
order (join, then side effect) is the same and the history has one event fewer.

The write is idempotent (`join_then_record`), so a retried attempt repeats it harmlessly; the
outcome says it was written (`ActionOutcome.joinedJourney`). Tellescope answers the membership
write with the enduser, which the action then reads instead of asking again
(`activities.run.answered_enduser`). A worker built without this interceptor leaves the flag
unset, and the workflow then writes the batch itself, late, and logs a warning: a misconfigured
worker costs ordering, never the join.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.engine import JoinJourney, join_then_record
from activities.run import answered_enduser
from models.runtime import ActionOutcome, ActionRequest
from store.ledger import Ledger


class JoinFirst(Interceptor):
    """Every JourneyWorkflow worker registers it: `Worker(..., interceptors=[JoinFirst(...)])`,
    with the ledger and the membership write (`TellescopeActivities.write_membership`, or a
    simulation's `set_journey_state`)."""

    def __init__(self, ledger: Ledger, join_journey: JoinJourney) -> None:
        self.ledger = ledger
        self.join_journey = join_journey

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _JoinFirstInbound(next, self)


class _JoinFirstInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, owner: JoinFirst) -> None:
        super().__init__(next)
        self.owner = owner

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        request = input.args[0] if input.args else None
        if not isinstance(request, ActionRequest) or request.joinFirst is None:
            return await self.next.execute_activity(input)
        batch = request.joinFirst.batch(request, activity.info().workflow_id)
        answered = await join_then_record(self.owner.ledger, self.owner.join_journey, batch)
        token = answered_enduser.set(answered if isinstance(answered, dict) else None)
        try:
            outcome = await self.next.execute_activity(input)
        finally:
            answered_enduser.reset(token)
        if isinstance(outcome, ActionOutcome):
            outcome = outcome.model_copy(update={"joinedJourney": True})
        return outcome
