"""Starting, restarting and removing enrollments from outside a workflow (API, CLI, activities).

Enroll = start `journey:{journeyId}:{enduserId}`: a new run starts the journey; a running one
receives `restart` (docs/semantics.md §3.3), or nothing when the caller asked not to restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.automated_action import JourneyContext
from models.enrollment import EnrollmentResult
from models.plan import JourneyPlan
from models.runtime import (
    EnrollmentInput,
    PauseRequest,
    RemoveRequest,
    RestartRequest,
    ResumeRequest,
    enrollment_workflow_id,
)
from workflows import search_attributes as sa
from workflows.journey import JourneyWorkflow
from workflows.patches import HISTORY_SHAPE_FOLDED, HISTORY_SHAPE_LEAN


def enrollment_attributes(inp: EnrollmentInput) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.JOURNEY_ID, inp.journeyId),
        SearchAttributePair(sa.JOURNEY_VERSION, inp.planVersion),
        SearchAttributePair(sa.ENDUSER_ID, inp.enduserId),
    ]
    waiting = starting_steps(inp.plan, inp.startAtStepId) if inp.plan is not None else []
    if waiting:
        # What the run's first workflow task would upsert: set at start, it costs no event.
        pairs.append(SearchAttributePair(sa.WAITING_AT, waiting))
    return TypedSearchAttributes(pairs)


def starting_steps(plan: JourneyPlan, start_at: str | None) -> list[str]:
    """The steps a new run creates its first actions for (JourneyWorkflow._start_journey):
    `start_at` (a step id or its Tellescope id), else the roots."""
    if start_at is None:
        return sorted(plan.roots)
    step_id = plan.step_id(start_at)
    return [step_id] if step_id is not None else []


# Starts tried before falling back to signal-with-start when running enrollments keep ending
# between our start and our restart signal (see `enroll`).
RESTART_ATTEMPTS = 3


@dataclass(frozen=True)
class Enrolled:
    handle: WorkflowHandle[JourneyWorkflow, EnrollmentResult]
    started: bool  # a new run started (else a running one was restarted, or left as it was)


async def enroll(
    client: Client,
    inp: EnrollmentInput,
    *,
    task_queue: str,
    restart: bool = True,
    plan: JourneyPlan | None = None,
) -> WorkflowHandle[JourneyWorkflow, EnrollmentResult]:
    """`enroll_run`'s handle: the enrollment's run."""
    return (await enroll_run(client, inp, task_queue=task_queue, restart=restart, plan=plan)).handle


async def enroll_run(
    client: Client,
    inp: EnrollmentInput,
    *,
    task_queue: str,
    restart: bool = True,
    start_delay: timedelta | None = None,
    plan: JourneyPlan | None = None,
) -> Enrolled:
    """Start the enrollment, or (when running) restart it if `restart`, else leave it as is.

    Restarting starts with id conflict policy FAIL and signals `restart` only when that finds a
    running enrollment (one that ends meanwhile is started anew). Signal-with-start did this in
    one call, but made the server record and deliver a `restart` signal to every new enrollment,
    which ignores it: about a tenth of the server's CPU per enrollment (BENCHMARKS.md). The
    handle of a restarted enrollment is the running run's (no start response). Leaving a running
    enrollment as it is starts with FAIL too, so whether a run started is known (the start
    response's `started` flag is not public).

    `plan` (inp.planVersion's, `PlanStore.enrollment_plan`) makes a new run record the folded
    history shape (workflows/patches.py): the plan travels in the input instead of being loaded.
    Without it the run records the lean shape."""
    if inp.historyShape is None:  # every new enrollment records the lean or folded shape
        if plan is not None:
            if plan.version != inp.planVersion or plan.journeyId != inp.journeyId:
                raise ValueError(
                    f"plan {plan.journeyId}@{plan.version} is not the enrollment's "
                    f"{inp.journeyId}@{inp.planVersion}"
                )
            update: dict[str, Any] = {"historyShape": HISTORY_SHAPE_FOLDED, "plan": plan}
        else:
            update = {"historyShape": HISTORY_SHAPE_LEAN}
        inp = inp.model_copy(update=update)
    workflow_id = enrollment_workflow_id(inp.journeyId, inp.enduserId)
    request = RestartRequest(journeyContext=inp.journeyContext, startAtStepId=inp.startAtStepId)

    async def start(
        policy: WorkflowIDConflictPolicy,
        signal: RestartRequest | None = None,
        delay: timedelta | None = None,
    ) -> WorkflowHandle[JourneyWorkflow, EnrollmentResult]:
        return await client.start_workflow(
            JourneyWorkflow.run,
            inp,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=policy,
            search_attributes=enrollment_attributes(inp),
            static_summary=f"Journey {inp.journeyId} for enduser {inp.enduserId}",
            static_details=(
                f"**Journey** `{inp.journeyId}` version `{inp.planVersion}`\n\n"
                f"**Enduser** `{inp.enduserId}`\n\n**Source** {inp.source}"
            ),
            start_signal="restart" if signal is not None else None,
            start_signal_args=[signal] if signal is not None else [],
            start_delay=delay,
        )

    if start_delay is not None:
        # A scheduled start: the run exists at once and does nothing until the delay is over
        # (durable: Temporal holds the schedule). An enrollment running, or already scheduled,
        # is left as it is: the same workflow id cannot hold both (docs/decisions.md D18).
        try:
            return Enrolled(
                await start(WorkflowIDConflictPolicy.FAIL, delay=start_delay), started=True
            )
        except WorkflowAlreadyStartedError as running:
            existing = client.get_workflow_handle_for(
                JourneyWorkflow.run, workflow_id, run_id=running.run_id
            )
            return Enrolled(existing, started=False)

    for _ in range(RESTART_ATTEMPTS):
        try:
            return Enrolled(await start(WorkflowIDConflictPolicy.FAIL), started=True)
        except WorkflowAlreadyStartedError as running:
            existing = client.get_workflow_handle_for(
                JourneyWorkflow.run, workflow_id, run_id=running.run_id
            )
            if not restart:
                return Enrolled(existing, started=False)
            try:
                await client.get_workflow_handle(workflow_id).signal(
                    JourneyWorkflow.restart,
                    request.model_copy(update={"seenRunId": running.run_id}),
                )
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue  # it ended meanwhile: start a new run
            return Enrolled(existing, started=False)
    # Still racing: the one atomic call. Whether it found a run to signal or started one is not
    # public: a run starting meanwhile is restarted just the same.
    handle = await start(WorkflowIDConflictPolicy.USE_EXISTING, signal=request)
    return Enrolled(handle, started=False)


async def remove(client: Client, journey_id: str, enduser_id: str, request: RemoveRequest) -> bool:
    """Signal removal; False when the enduser has no running enrollment in that journey."""
    handle = client.get_workflow_handle(enrollment_workflow_id(journey_id, enduser_id))
    try:
        await handle.signal(JourneyWorkflow.remove, request)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def pause(
    client: Client, journey_id: str, enduser_id: str, request: PauseRequest | ResumeRequest
) -> bool:
    """Signal `pause` (a PauseRequest) or `resume` (a ResumeRequest): docs/decisions.md D28.
    False when the enduser has no running enrollment in that journey."""
    handle = client.get_workflow_handle(enrollment_workflow_id(journey_id, enduser_id))
    try:
        if isinstance(request, PauseRequest):
            await handle.signal(JourneyWorkflow.pause, request)
        else:
            await handle.signal(JourneyWorkflow.resume, request)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def restart_request(context: JourneyContext | None = None) -> RestartRequest:
    return RestartRequest(journeyContext=context or JourneyContext())
