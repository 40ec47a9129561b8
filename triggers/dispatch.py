"""Evaluate an event against the triggers in force and start the firings (docs/semantics.md §9.2).

    report = await dispatch_event(event, deps)              # POST /v1/events, webhooks
    report = await fire_trigger(trigger_id, enduser_id, ctx, deps)   # admin trigger-events

Each firing is its own workflow, started idempotently (see `triggers.workflows` for ids and the
throttle gate), so a duplicate event, a retried webhook or a concurrent scan never fires a trigger
twice. `dispatch_event` returns once the firings are started, not when they finish.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, TypeAdapter
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.lookups import upcoming_events
from models.automated_action import JourneyContext
from models.triggers import AutomationTriggerAction
from store.ledger import Ledger
from store.plans import PlanStore
from store.trigger_decisions import DecisionRecord, TriggerDecisions
from tellescope.client import TellescopeClient
from tellescope.errors import TellescopeRejected
from triggers.active import active_triggers, find_active
from triggers.evaluate import candidates, evaluate
from triggers.events import IncomingEvent
from triggers.models import (
    ActiveTrigger,
    DispatchReport,
    Evaluation,
    FireReport,
    FiringInput,
    FiringResult,
    FiringSource,
    StartedFiring,
    firing_workflow_id,
    throttle_workflow_id,
)
from triggers.workflows import TriggerFiringWorkflow
from workflows import search_attributes as sa

_ACTION = TypeAdapter(AutomationTriggerAction)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Longer than an add endpoint takes from writing a key to starting its run (one start RPC).
MEMBERSHIP_GRACE = timedelta(seconds=2)


@dataclass
class TriggerDeps:
    """What the trigger engine needs from its host (API process or worker)."""

    client: Client
    plans: PlanStore
    ledger: Ledger
    task_queue: str
    tellescope: TellescopeClient
    now: Callable[[], datetime] = field(default=_utc_now)
    # Told every evaluation (the trigger firing/skip counters, docs/metrics.md §3): the API
    # counts with its registry, the worker (time-based scans) with the activity's meter.
    on_evaluation: Callable[[Evaluation], None] | None = None
    # Where every decision is recorded (docs/operator-view.md §2); None: nowhere (benchmarks).
    decisions: TriggerDecisions | None = None
    # How long an added `enduser.journeys` key with no run waits for the add endpoint's start
    # before it counts as a client's add (triggers/intake.py, docs/decisions.md D46).
    membership_grace: timedelta = MEMBERSHIP_GRACE


# --- dispatch -----------------------------------------------------------------------------------


async def dispatch_event(
    event: IncomingEvent,
    deps: TriggerDeps,
    *,
    enduser: Mapping[str, Any] | None = None,
    triggers: Sequence[ActiveTrigger] | None = None,
    source: FiringSource = "event",
    now: datetime | None = None,
) -> DispatchReport:
    """Evaluate `event` against the active triggers (or `triggers`) and start a firing for each
    trigger that fires. The enduser is read from Tellescope unless given (the intake passes the
    enduser record of an enduser webhook: the state right after the direct update). `now`
    defaults to `deps.now()` (a scan passes its own)."""
    report = DispatchReport(eventType=event.type, eventId=event.eventId, enduserId=event.enduserId)
    relevant = candidates(event, triggers if triggers is not None else active_triggers(deps.plans))
    if not relevant:
        report.ignored = f'no deployed trigger listens for "{event.type}"'
        return report
    if enduser is None:
        try:
            enduser = await deps.tellescope.get("endusers", event.enduserId)
        except TellescopeRejected as error:
            if error.status != 404:
                raise
            report.ignored = f"unknown enduser {event.enduserId}"
            return report
    now = now or deps.now()
    by_id = {t.id: t for t in relevant}
    # `__upcomingEvents__` leaves count the enduser's upcoming appointments
    # (docs/semantics.md §10.1): read once per evaluation, only when a condition counts them.
    upcoming = None
    if any(t.reads_upcoming_events for t in relevant):
        upcoming = await upcoming_events(deps.tellescope, event.enduserId, now)
    evaluation = evaluate(event, relevant, enduser=enduser, now=now, upcoming_events=upcoming)
    # Only triggers about to fire need their throttle gates looked up.
    about_to_fire = [by_id[d.triggerId] for d in evaluation.firing]
    last_fired = await recent_firings(deps.client, about_to_fire, event.enduserId, now)
    if last_fired:
        evaluation = evaluate(
            event,
            relevant,
            enduser=enduser,
            now=now,
            last_fired=last_fired,
            upcoming_events=upcoming,
        )
    report.evaluation = evaluation
    if deps.on_evaluation is not None:
        deps.on_evaluation(evaluation)
    for decision in report.evaluation.firing:
        report.firings.append(
            await start_firing(
                deps,
                by_id[decision.triggerId],
                enduser_id=event.enduserId,
                event_id=event.eventId,
                event_type=event.type,
                journey_context=event.journeyContext,
                source=source,
            )
        )
    await record_decisions(deps, event, report, now, source)
    return report


async def record_decisions(
    deps: TriggerDeps,
    event: IncomingEvent,
    report: DispatchReport,
    now: datetime,
    source: FiringSource,
) -> None:
    """Store the evaluation's decisions once the firings are started. A failure here fails the
    delivery, whose claim is then released (the retry starts nothing twice, by workflow id, and
    records the decisions): a processed webhook always has its decisions stored."""
    if deps.decisions is None or report.evaluation is None:
        return
    started = {firing.triggerId: firing.workflowId for firing in report.firings}
    records = [
        DecisionRecord(
            trigger_id=decision.triggerId,
            title=decision.title,
            enduser_id=event.enduserId,
            event_id=event.eventId,
            event_type=event.type,
            fired=decision.fire,
            decided_at=now,
            stage=decision.stage,
            reason=decision.reason,
            values_seen=decision.values,
            source=source,
            firing_workflow_id=started.get(decision.triggerId),
        )
        for decision in report.evaluation.decisions
    ]
    await asyncio.to_thread(deps.decisions.record, records)


async def recent_firings(
    client: Client, triggers: Sequence[ActiveTrigger], enduser_id: str, now: datetime
) -> dict[str, datetime]:
    """Triggers whose throttle gate for this enduser is held (a firing less than a minute ago),
    with the gate's start. A pre-check that saves starting firings bound to be throttled: the
    firing workflow's own gate is what decides."""
    gated = [t for t in triggers if t.trigger.status == "Active" and not t.trigger.oncePerEnduser]

    async def started(trigger: ActiveTrigger) -> datetime | None:
        since = await running_since(client, throttle_workflow_id(trigger.id, enduser_id))
        # The server's clock may differ from ours (and the test server's is virtual): a running
        # gate means "less than a minute ago" whatever the clocks say.
        return None if since is None else min(since, now)

    found = await asyncio.gather(*(started(t) for t in gated))
    return {t.id: at for t, at in zip(gated, found, strict=True) if at is not None}


async def running_since(client: Client, workflow_id: str) -> datetime | None:
    """When the workflow's current run started, if it is running (else None). Reads the raw
    description: the SDK's `describe()` also decodes search attributes, which fails on the
    time-skipping test server's datetime attributes."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        description = await client.workflow_service.describe_workflow_execution(request)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    info = description.workflow_execution_info
    if info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        return None
    return info.start_time.ToDatetime(tzinfo=UTC)


def firing_attributes(enduser_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(sa.ENDUSER_ID, enduser_id)])


async def start_firing(
    deps: TriggerDeps,
    trigger: ActiveTrigger,
    *,
    enduser_id: str,
    event_id: str,
    event_type: str | None,
    journey_context: JourneyContext,
    source: FiringSource,
    action: AutomationTriggerAction | None = None,
) -> StartedFiring:
    """Start the firing workflow; a firing that already exists (same event, or a completed
    `oncePerEnduser` firing) is reported, not repeated."""
    definition = trigger.trigger
    admin = source == "admin"
    workflow_id = firing_workflow_id(
        trigger.id, enduser_id, event_id, once=bool(definition.oncePerEnduser) and not admin
    )
    inp = FiringInput(
        triggerId=trigger.id,
        title=definition.title,
        action=action or definition.action,
        enduserId=enduser_id,
        eventId=event_id,
        eventType=event_type,
        source=source,
        journeyContext=journey_context,
        scopeJourneyId=trigger.scopeJourneyId,
        scopeTellescopeJourneyId=trigger.scopeTellescopeJourneyId,
        organizationTimezone=trigger.organizationTimezone,
        throttle=not admin,
        recordTriggerId=True,
    )
    return await _start(deps, inp, workflow_id)


async def _start(deps: TriggerDeps, inp: FiringInput, workflow_id: str) -> StartedFiring:
    try:
        await deps.client.start_workflow(
            TriggerFiringWorkflow.run,
            inp,
            id=workflow_id,
            task_queue=deps.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=firing_attributes(inp.enduserId),
            static_summary=(
                f"Trigger {inp.triggerId}: {inp.action.type} for enduser {inp.enduserId}"
            ),
            static_details=(
                f"**Trigger** `{inp.triggerId}` ({inp.title})\n\n"
                f"**Action** {inp.action.type}\n\n**Enduser** `{inp.enduserId}`\n\n"
                f"**Event** {inp.eventType or '(none)'} `{inp.eventId}`\n\n**Source** {inp.source}"
            ),
        )
    except WorkflowAlreadyStartedError:
        return StartedFiring(
            triggerId=inp.triggerId,
            workflowId=workflow_id,
            started=False,
            detail="already fired (duplicate event or oncePerEnduser)",
        )
    return StartedFiring(triggerId=inp.triggerId, workflowId=workflow_id, started=True)


# --- admin endpoint -----------------------------------------------------------------------------


async def fire_trigger(
    trigger_id: str,
    enduser_id: str,
    journey_context: JourneyContext | BaseModel | Mapping[str, Any] | None,
    deps: TriggerDeps,
    *,
    inline_action: AutomationTriggerAction | Mapping[str, Any] | None = None,
    wait: bool = False,
) -> FireReport:
    """`POST /v1/automation-triggers/trigger-events` (docs/semantics.md §9.5): run the trigger's
    action for the enduser without evaluating its event, conditions, throttle or
    oncePerEnduser. With `inline_action`, that action runs instead (the trigger id may then be a
    placeholder). Raises LookupError for an unknown trigger without an inline action, and pydantic's
    ValidationError for an invalid inline action or context."""
    trigger = find_active(deps.plans, trigger_id)
    action = None
    if inline_action is not None:
        action = (
            inline_action
            if not isinstance(inline_action, Mapping)
            else _ACTION.validate_python(dict(inline_action))
        )
    if trigger is None and action is None:
        raise LookupError(f'no deployed trigger "{trigger_id}"')
    if isinstance(journey_context, JourneyContext):
        context = journey_context
    elif isinstance(journey_context, BaseModel):
        context = JourneyContext.model_validate(journey_context.model_dump(exclude_none=True))
    else:
        context = JourneyContext.model_validate(dict(journey_context or {}))
    event_id = f"admin-{uuid.uuid4().hex[:20]}"
    workflow_id = firing_workflow_id(trigger_id, enduser_id, event_id)
    if trigger is not None:
        inp = FiringInput(
            triggerId=trigger_id,
            title=trigger.trigger.title,
            action=action or trigger.trigger.action,
            enduserId=enduser_id,
            eventId=event_id,
            source="admin",
            journeyContext=context,
            scopeJourneyId=trigger.scopeJourneyId,
            scopeTellescopeJourneyId=trigger.scopeTellescopeJourneyId,
            organizationTimezone=trigger.organizationTimezone,
            throttle=False,
        )
    else:
        assert action is not None
        inp = FiringInput(
            triggerId=trigger_id,
            title="inline action",
            action=action,
            enduserId=enduser_id,
            eventId=event_id,
            source="admin",
            journeyContext=context,
            throttle=False,
            recordTriggerId=False,  # a placeholder id is not a trigger the enduser fired
        )
    await _start(deps, inp, workflow_id)
    report = FireReport(triggerId=trigger_id, enduserId=enduser_id, workflowId=workflow_id)
    if wait:
        handle = deps.client.get_workflow_handle(workflow_id, result_type=FiringResult)
        report.result = await handle.result()
    return report
