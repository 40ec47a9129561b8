"""AdHocActionWorkflow: one AutomatedAction created through the API (`POST /v1/automated-action`,
docs/semantics.md §6.2), outside any journey plan.

Workflow id `automated-action:{id}` (models.runtime.adhoc_workflow_id), so a retried create never
runs the action twice. It waits for `processAfter` on a durable timer racing a `cancel` signal,
performs the action through the same activity family JourneyWorkflow uses (the action id is the
idempotency key of the side effect), and writes each transition to the ledger through the
`record_ledger` local activity. A failure is the action's `error` (with its message) and a
BackgroundError, as in a journey; no children: a standalone action has no step graph.

Deterministic: time from `workflow.now()`, no I/O of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.runtime import (
        ActionOutcome,
        ActionRequest,
        AdHocActionInput,
        AdHocCancel,
        BackgroundErrorRequest,
        LedgerBatch,
        family_of,
    )
    from rules.dates import from_epoch_ms
    from workflows.journey import ACTION_RETRY, LOOKUP_TIMEOUT, _failure_message
    from workflows.projection import LOCAL_TIMEOUT

AdHocStatus = Literal["active", "finished", "cancelled", "error"]


@workflow.defn(name="AdHocActionWorkflow")
class AdHocActionWorkflow:
    @workflow.init
    def __init__(self, inp: AdHocActionInput) -> None:
        self.inp = inp
        self.cancel_request: AdHocCancel | None = None
        self.performing = False
        self.status: AdHocStatus = "active"

    @workflow.run
    async def run(self, inp: AdHocActionInput) -> str:
        entry = inp.entry
        label = f"{inp.action.type} due {from_epoch_ms(entry.processAfter).isoformat()}"
        remaining = from_epoch_ms(entry.processAfter) - workflow.now()
        if remaining > timedelta(0) and self.cancel_request is None:
            try:
                await workflow.wait_condition(
                    lambda: self.cancel_request is not None,
                    timeout=remaining,
                    timeout_summary=label,
                )
            except TimeoutError:
                pass
        if self.cancel_request is not None:
            await self._write(
                "cancelled",
                cancelReason=self.cancel_request.cancelReason,
                cancelledBy=self.cancel_request.cancelledBy,
                detail="cancelled before it was due",
            )
            return "cancelled"
        self.performing = True
        if entry.isNOP:  # done in the foreground: recorded, not executed (docs/semantics.md §6.1)
            await self._write("finished", detail="isNOP: not executed")
            return "finished"
        try:
            outcome = await self._execute()
        except ActivityError as error:
            message = _failure_message(error)
            await self._write("error", errorMessage=message, detail=message)
            await self._report_background_error(message)
            return "error"
        await self._write("finished", detail=outcome.detail)
        return "finished"

    @workflow.signal
    def cancel(self, request: AdHocCancel) -> None:
        """Cancel while waiting; ignored once the action is being performed: once processing,
        it completes (docs/semantics.md §6.2)."""
        if not self.performing and self.cancel_request is None:
            self.cancel_request = request

    @workflow.query
    def current_status(self) -> str:
        return self.status

    async def _execute(self) -> ActionOutcome:
        entry, action = self.inp.entry, self.inp.action
        request = ActionRequest(
            automatedActionId=entry.id,
            enduserId=entry.enduserId,
            journeyId=entry.tellescopeJourneyId,
            automationStepId=entry.tellescopeStepId,
            stepName=entry.automationStepId,
            action=action,
            journeyContext=self.inp.journeyContext,
            organizationTimezone=self.inp.organizationTimezone,
            now=workflow.now().isoformat(),
        )
        result: ActionOutcome = await workflow.execute_activity(
            family_of(action.type),
            request,
            result_type=ActionOutcome,
            start_to_close_timeout=timedelta(seconds=self.inp.stepTimeoutSeconds),
            retry_policy=ACTION_RETRY,
            activity_id=entry.id,
            summary=f"automated action {entry.id}: {action.type}",
        )
        return result

    async def _report_background_error(self, message: str) -> None:
        entry = self.inp.entry
        request = BackgroundErrorRequest(
            automatedActionId=entry.id,
            enduserId=entry.enduserId,
            journeyId=entry.tellescopeJourneyId,
            automationStepId=entry.tellescopeStepId,
            stepName=entry.automationStepId,
            actionType=self.inp.action.type,
            message=message,
        )
        try:
            await workflow.execute_activity(
                "record_background_error",
                request,
                result_type=str,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary="report the error",
            )
        except ActivityError as error:
            workflow.logger.warning("BackgroundError not recorded: %s", _failure_message(error))

    async def _write(self, status: AdHocStatus, **fields: Any) -> None:
        self.status = status
        entry = self.inp.entry.model_copy(
            update={"status": status, "at": workflow.now().isoformat(), **fields}
        )
        await workflow.execute_local_activity(
            "record_ledger",
            LedgerBatch(entries=[entry]),
            start_to_close_timeout=LOCAL_TIMEOUT,
            summary=f"ledger: {status}",
        )


__all__ = ["AdHocActionWorkflow"]
