"""A minimal workflow that performs one action the way JourneyWorkflow does (activity by family
name, pydantic payloads, retries with backoff), so tests can watch Temporal itself retry an
activity against the sandbox. Lives in an importable module: the workflow sandbox re-imports it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.runtime import ActionOutcome, ActionRequest, family_of

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=5
)


@workflow.defn
class PerformAction:
    @workflow.run
    async def run(self, request: ActionRequest) -> ActionOutcome:
        return await workflow.execute_activity(
            family_of(request.action.type),
            request,
            result_type=ActionOutcome,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
