"""Engine-side activities: the plan store, the AutomatedAction ledger, and journey-control
actions that act on other enrollments through Temporal (addToJourney, removeFromJourney,
removeFromAllJourneys). Tellescope-facing activities live beside this module."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.client import Client

from activities.action_metrics import count_transitions
from models.automated_action import CancelReason
from models.plan import JourneyPlan
from models.runtime import (
    ActionOutcome,
    EnrollmentInput,
    JourneyControlRequest,
    JourneyStateUpdate,
    LedgerBatch,
    PlanRef,
    RemoveRequest,
)
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore
from workflows import starter

# Writes `enduser.journeys[J]` and answers the enduser (or None): the worker's
# `TellescopeActivities.write_membership` (its activity `set_journey_state`), or a simulation's
# stand-in for it.
JoinJourney = Callable[[JourneyStateUpdate], Awaitable[Any]]


class EngineActivities:
    def __init__(
        self, plans: PlanStore, ledger: Ledger, join_journey: JoinJourney | None = None
    ) -> None:
        self.plans = plans
        self.ledger = ledger
        self.join_journey = join_journey  # `join_and_record`'s membership write

    @activity.defn(name="load_plan")
    def load_plan(self, ref: PlanRef) -> JourneyPlan:
        """The plan an enrollment runs (`PlanStore.enrollment_plan`: without the journey's
        triggers, the last few kept)."""
        return self.plans.enrollment_plan(ref.journeyId, ref.version)

    @activity.defn(name="record_ledger")
    def record_ledger(self, batch: LedgerBatch) -> int:
        """Write the rows, then count the status changes the write made
        (`record_rows`)."""
        return record_rows(self.ledger, batch)

    @activity.defn(name="join_and_record")
    async def join_and_record(self, batch: LedgerBatch) -> int:
        """The compact history shape's first bookkeeping (docs/decisions.md D35): write
        `enduser.journeys[J]` (`batch.membership`), then the ledger rows, as one local activity
        (`join_then_record`)."""
        await join_then_record(self.ledger, self.join_journey, batch)
        return len(batch.entries)


def record_rows(ledger: Ledger, batch: LedgerBatch) -> int:
    """Write the rows, then count the status changes the write made
    (activities/action_metrics.py: a retried batch counts nothing twice). A cancellation
    (a worker without a workflow cache evicts a run whose local activity is running, then
    runs it again) is held until both are done: raised between the commit and the count,
    it lost the count, since the second run finds the rows written and counts nothing."""
    with activity.shield_thread_cancel_exception():
        count_transitions(ledger.record_transitions(batch.entries))
    return len(batch.entries)


async def join_then_record(
    ledger: Ledger, join_journey: JoinJourney | None, batch: LedgerBatch
) -> Any:
    """Write `enduser.journeys[J]` (`batch.membership`), then the ledger rows: an enrollment's
    first bookkeeping, as the local activity `join_and_record` or, in the folded shape, before
    the first step's side effect (activities/join_first.py). Both writes are idempotent, so a
    retried attempt repeats them harmlessly. Returns what the membership write answered (the
    enduser, or None)."""
    answered = None
    if batch.membership is not None:
        if join_journey is None:
            raise RuntimeError("join_and_record: the worker was built without join_journey")
        answered = await join_journey(batch.membership)
    # The ledger is a sync store: its write runs on a thread, off the loop, with this
    # activity's context (count_transitions reads the activity's metric meter).
    await asyncio.to_thread(record_rows, ledger, batch)
    return answered


class JourneyControlActivities:
    """addToJourney / removeFromJourney / removeFromAllJourneys (docs/semantics.md §8.5)."""

    def __init__(self, client: Client, plans: PlanStore, ledger: Ledger, task_queue: str) -> None:
        self.client = client
        self.plans = plans
        self.ledger = ledger
        self.task_queue = task_queue

    @activity.defn(name="control_journeys")
    async def control_journeys(self, request: JourneyControlRequest) -> ActionOutcome:
        removal = RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_AUTOMATION))
        if request.kind == "add":
            target = self._current(request.targetJourneyId)
            inp = EnrollmentInput(
                journeyId=target.journey_id,
                planVersion=target.version,
                enduserId=request.enduserId,
                tellescopeJourneyId=target.tellescope_journey_id,
                journeyContext=request.journeyContext,
                source=f"addToJourney from {request.fromJourneyId}",
            )
            await starter.enroll(
                self.client,
                inp,
                task_queue=self.task_queue,
                restart=True,
                plan=self.plans.enrollment_plan(target.journey_id, target.version),
            )
            return ActionOutcome(detail=f"added to journey {target.journey_id}")
        if request.kind == "remove":
            self._current(request.targetJourneyId)  # unknown journey -> the step's error (4.4)
            found = await starter.remove(
                self.client, request.targetJourneyId, request.enduserId, removal
            )
            state = "removed from" if found else "was not in"
            return ActionOutcome(detail=f"{state} journey {request.targetJourneyId}")
        removed = []
        for journey_id in self.ledger.journeys_of(request.enduserId):
            if await starter.remove(self.client, journey_id, request.enduserId, removal):
                removed.append(journey_id)
        return ActionOutcome(detail=f"removed from {', '.join(removed) or 'no journeys'}")

    def _current(self, journey_id: str | None):
        from temporalio.exceptions import ApplicationError

        from models.runtime import TELLESCOPE_REJECTED

        try:
            return self.plans.current(journey_id or "")
        except PlanNotFound as error:
            raise ApplicationError(
                str(error), type=TELLESCOPE_REJECTED, non_retryable=True
            ) from None


def engine_activities(
    client: Client,
    plans: PlanStore,
    ledger: Ledger,
    task_queue: str,
    *,
    join_journey: JoinJourney,
) -> list[Callable[..., Any]]:
    """The engine's own activities that every JourneyWorkflow worker registers beside the
    Tellescope ones (the worker, tests, simulations and benchmarks build their workers from it,
    so a new engine activity is registered everywhere at once). `join_journey` is the
    Tellescope side's `set_journey_state` the worker registers too."""
    engine = EngineActivities(plans, ledger, join_journey)
    control = JourneyControlActivities(client, plans, ledger, task_queue)
    return [
        engine.load_plan,
        engine.record_ledger,
        engine.join_and_record,
        control.control_journeys,
    ]
