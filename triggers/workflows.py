"""The trigger workflows: one firing, the per-(trigger, enduser) throttle gate, and the scan a
time-based trigger's schedule starts.

TriggerFiringWorkflow, id `trigger:{triggerId}:{enduserId}:{eventId}` (`oncePerEnduser`:
`trigger:{triggerId}:{enduserId}`), started with id-reuse policy ALLOW_DUPLICATE_FAILED_ONLY and
the default conflict policy (fail): the same event can start its firing only once, and a firing
that completed can never run again (one that failed may be retried by a redelivery; its side
effects are idempotent by the firing's key). It:

1. takes the throttle gate (docs/decisions.md D7): an activity starts the workflow
   `trigger-throttle:{triggerId}:{enduserId}`, which just sleeps a minute. If that gate is
   already running, another firing of this trigger for this enduser happened less than a minute
   ago: this one ends as `throttled` without acting. Temporal's id uniqueness makes the check
   atomic: two concurrent firings cannot both take the gate. (A top-level workflow started by an
   activity, not an abandoned child: the gate outlives the firing, and the time-skipping test
   server stops skipping time once an abandoned child completes after its parent.)
2. performs the action: Move To Step signals the enrollment `journey:{journeyId}:{enduserId}`
   directly from the workflow (exactly once); every other action runs as one activity
   (`perform_trigger_action`), idempotent by the firing's key.
3. appends the trigger's id to `enduser.triggerIds` (`record_trigger_fired`).

Imports only temporalio, the stdlib and passed-through pure models (workflow sandbox rules).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.runtime import TriggerFired, enrollment_workflow_id
    from rules.dates import iso_utc
    from triggers.models import (
        FiringInput,
        FiringResult,
        ScanInput,
        ScanReport,
        ScanRequest,
        ThrottleInput,
        TriggerActionOutcome,
        TriggerActionRequest,
        TriggerFiredMark,
        trigger_action_id,
    )

ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
    non_retryable_error_types=["NotConfigured", "TellescopeRejected"],
)
ACTION_TIMEOUT = timedelta(seconds=60)
SCAN_TIMEOUT = timedelta(minutes=30)
SCAN_HEARTBEAT = timedelta(minutes=2)


@workflow.defn(name="ThrottleGateWorkflow")
class ThrottleGateWorkflow:
    """Held for a minute after a firing: while it runs, no other firing of the same trigger for
    the same enduser may act (its id, `trigger-throttle:{trigger}:{enduser}`, is taken)."""

    @workflow.run
    async def run(self, inp: ThrottleInput) -> None:
        workflow.set_current_details(
            f"Throttling trigger `{inp.triggerId}` for enduser `{inp.enduserId}`"
            f" after firing `{inp.firingId}`"
        )
        await workflow.sleep(
            timedelta(seconds=inp.seconds), summary=f"throttle gate {inp.seconds}s"
        )


@workflow.defn(name="TriggerFiringWorkflow")
class TriggerFiringWorkflow:
    @workflow.run
    async def run(self, inp: FiringInput) -> FiringResult:
        firing_id = workflow.info().workflow_id
        action_type = inp.action.type

        def result(outcome: str, detail: str) -> FiringResult:
            workflow.set_current_details(f"**{outcome}**: {detail}")
            return FiringResult(
                outcome=outcome,
                triggerId=inp.triggerId,
                enduserId=inp.enduserId,
                actionType=action_type,
                detail=detail,
            )

        if inp.throttle and not await self._take_gate(inp, firing_id):
            return result("throttled", "fired for this enduser less than a minute ago")

        if action_type == "Move To Step":
            if not inp.scopeJourneyId:
                raise ApplicationError(
                    f'trigger "{inp.triggerId}": Move To Step needs a journey-scoped trigger',
                    type="TellescopeRejected",
                    non_retryable=True,
                )
            target = enrollment_workflow_id(inp.scopeJourneyId, inp.enduserId)
            try:
                await workflow.get_external_workflow_handle(target).signal(
                    "trigger_fired",
                    TriggerFired(triggerId=inp.triggerId, journeyContext=inp.journeyContext),
                )
            except ApplicationError as error:
                return result("not-enrolled", f"no running enrollment {target}: {error.message}")
            detail = f"signalled trigger_fired to {target}"
        else:
            outcome = await workflow.execute_activity(
                "perform_trigger_action",
                TriggerActionRequest(
                    automatedActionId=trigger_action_id(firing_id),
                    firingId=firing_id,
                    firingStartedAt=iso_utc(workflow.info().start_time),
                    triggerId=inp.triggerId,
                    enduserId=inp.enduserId,
                    action=inp.action,
                    journeyContext=inp.journeyContext,
                    scopeJourneyId=inp.scopeJourneyId,
                    scopeTellescopeJourneyId=inp.scopeTellescopeJourneyId,
                    organizationTimezone=inp.organizationTimezone,
                    now=iso_utc(workflow.now()),
                ),
                result_type=TriggerActionOutcome,
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=f"{inp.triggerId}: {action_type}",
            )
            detail = outcome.detail
        if inp.recordTriggerId:
            await workflow.execute_activity(
                "record_trigger_fired",
                TriggerFiredMark(enduserId=inp.enduserId, triggerId=inp.triggerId),
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=f"{inp.triggerId}: enduser.triggerIds",
            )
        return result("fired", detail)

    async def _take_gate(self, inp: FiringInput, firing_id: str) -> bool:
        return await workflow.execute_activity(
            "take_throttle_gate",
            ThrottleInput(triggerId=inp.triggerId, enduserId=inp.enduserId, firingId=firing_id),
            result_type=bool,
            start_to_close_timeout=ACTION_TIMEOUT,
            retry_policy=ACTION_RETRY,
            summary=f"{inp.triggerId}: throttle gate",
        )


@workflow.defn(name="TimeTriggerScanWorkflow")
class TimeTriggerScanWorkflow:
    """What a time-based trigger's schedule starts: one activity finds the candidates in
    Tellescope and starts their firings (idempotent per candidate and period, see
    `triggers.time_based`)."""

    @workflow.run
    async def run(self, inp: ScanInput) -> ScanReport:
        now = inp.asOf or iso_utc(workflow.now())
        workflow.set_current_details(f"Scanning candidates of trigger `{inp.triggerId}` at {now}")
        report = await workflow.execute_activity(
            "scan_time_trigger",
            ScanRequest(
                triggerId=inp.triggerId,
                definedIn=inp.definedIn,
                now=now,
                scanWorkflowId=workflow.info().workflow_id,
            ),
            result_type=ScanReport,
            start_to_close_timeout=SCAN_TIMEOUT,
            heartbeat_timeout=SCAN_HEARTBEAT,
            retry_policy=ACTION_RETRY,
            summary=f"scan {inp.triggerId}",
        )
        workflow.set_current_details(
            f"Trigger `{inp.triggerId}`: {report.candidates} candidate(s),"
            f" {len(report.started)} firing(s) started, {len(report.duplicates)} already fired"
        )
        return report
