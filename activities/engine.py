"""Engine-side activities: the plan store, the AutomatedAction ledger, and journey-control
actions that act on other enrollments through Temporal (addToJourney, removeFromJourney,
removeFromAllJourneys). Tellescope-facing activities live beside this module."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
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
    LedgerBatch,
    PlanRef,
    RemoveRequest,
)
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore
from workflows import starter

# Plans kept per worker: a version is named by its content's hash, so it never changes.
PLANS_CACHED = 64


class EngineActivities:
    def __init__(self, plans: PlanStore, ledger: Ledger) -> None:
        self.plans = plans
        self.ledger = ledger
        self.loaded: OrderedDict[tuple[str, str], JourneyPlan] = OrderedDict()
        self.loading = threading.Lock()  # sync activities run on a thread pool

    @activity.defn(name="load_plan")
    def load_plan(self, ref: PlanRef) -> JourneyPlan:
        """The plan an enrollment runs, without the journey's triggers: the workflow never reads
        them (trigger firings arrive as signals), and the activity's result is stored in every
        enrollment's history. With 1,000 triggers in a journey file that result was 668 KB per
        enrollment, a third of Temporal's 2 MB payload limit (BENCHMARKS.md, "Profiles and
        fixes"). Every enrollment start loads one, so the last few are kept (a read and a
        validation of the whole plan per start otherwise)."""
        key = (ref.journeyId, ref.version)
        with self.loading:
            plan = self.loaded.get(key)
            if plan is not None:
                self.loaded.move_to_end(key)
                return plan
        plan = self.plans.get(*key).model_copy(update={"triggers": []})
        with self.loading:
            self.loaded[key] = plan
            while len(self.loaded) > PLANS_CACHED:
                self.loaded.popitem(last=False)
        return plan

    @activity.defn(name="record_ledger")
    def record_ledger(self, batch: LedgerBatch) -> int:
        """Write the rows, then count the status changes the write made
        (activities/action_metrics.py: a retried batch counts nothing twice)."""
        count_transitions(self.ledger.record_transitions(batch.entries))
        return len(batch.entries)


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
            await starter.enroll(self.client, inp, task_queue=self.task_queue, restart=True)
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
    client: Client, plans: PlanStore, ledger: Ledger, task_queue: str
) -> list[Callable[..., Any]]:
    """The engine's own activities that every JourneyWorkflow worker registers beside the
    Tellescope ones (the worker, tests, simulations and benchmarks build their workers from it,
    so a new engine activity is registered everywhere at once)."""
    engine = EngineActivities(plans, ledger)
    control = JourneyControlActivities(client, plans, ledger, task_queue)
    return [engine.load_plan, engine.record_ledger, control.control_journeys]
