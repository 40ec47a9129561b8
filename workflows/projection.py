"""What JourneyWorkflow shows the outside world: ledger rows, the Temporal UI's current details
and the search attributes. The interpreter (workflows/journey.py) decides; this module only
reports, from the enrollment's state and plan, through workflow commands (a local activity for
the ledger, upserts, current details). Deterministic like the interpreter: time from
`workflow.now()`, no I/O of its own.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from models.enrollment import (
    ActionState,
    ActionStatus,
    EnrollmentState,
    HistoryEntry,
    PendingView,
)
from models.events import trigger_id
from models.plan import JourneyPlan
from models.runtime import EnrollmentInput, JourneyStateUpdate, LedgerBatch, LedgerEntry
from rules.dates import epoch_ms, from_epoch_ms
from workflows import search_attributes as sa
from workflows.patches import PATCH_STEP_ATTRIBUTES, patched

HISTORY_KEPT = 200  # step history entries kept in the query (and across continue-as-new)
LOCAL_TIMEOUT = timedelta(seconds=30)


class Projection:
    """One enrollment's outputs. What was last shown is kept here (not in the durable state): a
    new run after continue-as-new shows everything afresh."""

    def __init__(self, inp: EnrollmentInput, *, lean: bool = False, compact: bool = False) -> None:
        self.inp = inp
        # Compact shape (workflows/patches.py): the journey is joined by the first ledger write
        # (`join`); until it is written, `joined` is false and steps hold their side effects.
        self.compact = compact
        self.membership: JourneyStateUpdate | None = None
        self.joined = True
        # Folded shape: a step performing at once may carry that write on its own activity
        # (`take_join`); the ledger waits meanwhile, so no later row overtakes the batch.
        self.carried: LedgerBatch | None = None
        # Lean history shape (workflows/patches.py): an activation's upserts are sent together by
        # `_send_upserts`, and only those that change a value.
        self.lean = lean
        self.pending_upserts: dict[str, SearchAttributeUpdate[Any]] = {}
        self.upserter: asyncio.Task[None] | None = None
        self.dirty: dict[str, LedgerEntry] = {}
        self.ledger_writer: asyncio.Task[None] | None = None
        self.ledger_closing = False
        self.next_action_at: int | None = None
        self.shown_waiting: list[str] = []
        self.shown_failed: list[str] = []

    # ------------------------------------------------------------------------------------------
    # ledger and step history

    def record(
        self,
        plan: JourneyPlan,
        enrollment: EnrollmentState,
        action: ActionState,
        status: ActionStatus,
        **details: Any,
    ) -> None:
        """Queue the action's ledger row and add a step-history entry for what is worth one."""
        step = plan.steps[action.stepId]
        event = step.events[action.eventIndex]
        now = workflow.now()
        unsubmitted = unsubmitted_form_count(enrollment, action)
        conditions = [c.model_dump() for c in action.cancelConditions]
        if unsubmitted is not None:
            for condition in conditions:
                if condition["type"] == "formResponses":
                    condition["unsubmittedFormCount"] = unsubmitted
        entry = LedgerEntry(
            id=action.id,
            enduserId=self.inp.enduserId,
            journeyId=self.inp.journeyId,
            journeyVersion=self.inp.planVersion,
            tellescopeJourneyId=self.inp.tellescopeJourneyId,
            automationStepId=action.stepId,
            tellescopeStepId=plan.tellescopeStepIds[action.stepId],
            workflowId=workflow.info().workflow_id,
            event=event.to_json(),
            action=step.action.to_json(),
            status=status,
            processAfter=action.processAfter
            if action.processAfter is not None
            else action.createdAt,
            cancelReason=details.get("cancel_reason"),
            cancelledBy=details.get("cancelled_by"),
            cancelConditions=conditions or None,
            didDelayForOutOfOffice=action.didDelayForOutOfOffice,
            errorMessage=details.get("error"),
            errorClass=details.get("error_class"),
            enduserConditions=step.enduserConditions,
            journeyContext=action.journeyContext or None,
            skipped=details.get("skipped"),
            abTestLabel=action.abTestLabel,
            detail=details.get("detail", ""),
            at=now.isoformat(),
            actingEnduserId=action.enduserId,
            unsubmittedFormCount=unsubmitted,
            isNOP=bool(details.get("is_nop")),
        )
        self.dirty[action.id] = entry
        if status != "active" or details.get("detail"):
            enrollment.history.append(
                HistoryEntry(
                    at=now.isoformat(),
                    actionId=action.id,
                    stepId=action.stepId,
                    status=status,
                    detail=details.get("detail", ""),
                )
            )
            del enrollment.history[:-HISTORY_KEPT]

    def start_ledger(self) -> None:
        self.ledger_writer = asyncio.create_task(self._write_ledger())
        if self.lean and self.upserter is None:
            self.upserter = asyncio.create_task(self._send_upserts())

    def join(self, update: JourneyStateUpdate) -> None:
        """Compact shape: the next ledger write joins the journey first (`join_and_record`)."""
        self.membership = update
        self.joined = False

    def take_join(self) -> LedgerBatch | None:
        """Folded shape (docs/decisions.md D41; the workflow decides which step may ask): the
        join and the rows queued so far, for the first step that performs before the writer has
        run; None when there is none to take."""
        if self.membership is None or self.carried is not None:
            return None
        self.carried = LedgerBatch(entries=list(self.dirty.values()), membership=self.membership)
        self.dirty, self.membership = {}, None
        return self.carried

    def join_carried(self, written: bool) -> None:
        """The step that took the join has finished. Not `written` (the activity failed, or a
        worker without the `JoinFirst` interceptor ran it): the writer writes the batch itself,
        idempotently, as `join_and_record`; rows queued since then stay newer."""
        batch, self.carried = self.carried, None
        if batch is None:
            return
        if written:
            self.joined = True
            return
        self.membership = batch.membership
        self.dirty = {**{e.id: e for e in batch.entries}, **self.dirty}

    async def _write_ledger(self) -> None:
        """The only ledger writer: batches every transition since the last write into one local
        activity, in order, so a later state never races an earlier one."""
        while True:
            await workflow.wait_condition(
                lambda: (
                    (bool(self.dirty) or self.membership is not None or self.ledger_closing)
                    and self.carried is None
                )
            )
            if not self.dirty and self.membership is None:
                return
            await self._write_batch()

    async def _write_batch(self) -> None:
        """Every row queued since the last write, as one local activity. The rows die with this
        call: the writer then waits, for days in a parked enrollment, and a batch still held by
        its loop was most of what a cached workflow kept beyond bare Temporal's."""
        batch = list(self.dirty.values())
        self.dirty = {}
        if self.membership is not None:
            await workflow.execute_local_activity(
                "join_and_record",
                LedgerBatch(entries=batch, membership=self.membership),
                start_to_close_timeout=LOCAL_TIMEOUT,
                summary=f"join journey, ledger: {len(batch)} action(s)",
            )
            self.membership, self.joined = None, True
            return
        await workflow.execute_local_activity(
            "record_ledger",
            LedgerBatch(entries=batch),
            start_to_close_timeout=LOCAL_TIMEOUT,
            summary=f"ledger: {len(batch)} action(s)",
        )

    async def close_ledger(self) -> None:
        """Write what is left and stop the writer (before completing or continuing as new)."""
        self.ledger_closing = True
        assert self.ledger_writer is not None
        await self.ledger_writer
        self._flush_upserts()  # before the run completes or continues as new

    # ------------------------------------------------------------------------------------------
    # search attributes and the Temporal UI

    def _upsert(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        """One upsert command per call in the first shape; in the lean one, queued for the
        activation's single upsert (the last value of each attribute wins)."""
        if self.lean and not self.ledger_closing:
            for update in updates:
                self.pending_upserts[update.key.name] = update
            return
        if self.lean:  # closing: sent at once, still only what changes
            updates = self._changes(updates)
        if updates:
            workflow.upsert_search_attributes(updates)

    async def _send_upserts(self) -> None:
        """Wait conditions are checked once the activation's other coroutines have run, so
        everything they queued goes out as one command."""
        while not self.ledger_closing:
            await workflow.wait_condition(lambda: bool(self.pending_upserts) or self.ledger_closing)
            self._flush_upserts()

    def _flush_upserts(self) -> None:
        updates = self._changes(list(self.pending_upserts.values()))
        self.pending_upserts = {}
        if updates:
            workflow.upsert_search_attributes(updates)

    @staticmethod
    def _changes(updates: list[SearchAttributeUpdate[Any]]) -> list[SearchAttributeUpdate[Any]]:
        """The updates that change what the run's search attributes hold now (a continued run
        starts with its predecessor's)."""
        current = workflow.info().typed_search_attributes

        def unset_if_empty(value: Any) -> Any:
            return None if value == [] else value

        return [u for u in updates if unset_if_empty(current.get(u.key)) != unset_if_empty(u.value)]

    def show_state(self, state: str) -> None:
        value = sa.JOURNEY_STATE.value_set(state) if state else sa.JOURNEY_STATE.value_unset()
        self._upsert([value])

    def show_paused(self, paused: bool) -> None:
        """EnrollmentStatus = "paused" while paused (docs/decisions.md D28), for the UI's query
        bar: `EnrollmentStatus="paused"`."""
        key = sa.ENROLLMENT_STATUS
        self._upsert([key.value_set("paused") if paused else key.value_unset()])

    def show_version(self, version: str) -> None:
        """JourneyVersion follows a migration (continue-as-new carries the attributes over)."""
        self._upsert([sa.JOURNEY_VERSION.value_set(version)])

    def refresh(self, plan: JourneyPlan, enrollment: EnrollmentState, listening: list[str]) -> None:
        """Search attribute NextActionAt and the current-details line of the Temporal UI."""
        # The compact shape names only actions waiting for a later time: one due now is running.
        after = epoch_ms(workflow.now()) if self.compact else None
        due = [
            a.processAfter
            for a in enrollment.actions.values()
            if a.scheduled
            and not a.parked
            and a.processAfter is not None
            and (after is None or a.processAfter > after)
        ]
        next_at = min(due) if due else None
        # The lean shape compares with the run's search attributes instead (`_changes`).
        if self.lean or next_at != self.next_action_at:
            self.next_action_at = next_at
            self._upsert(
                [
                    sa.NEXT_ACTION_AT.value_set(from_epoch_ms(next_at))
                    if next_at is not None
                    else sa.NEXT_ACTION_AT.value_unset()
                ]
            )
        # Added after the first release: running enrollments recorded before it skip these
        # upserts on replay (their histories have no such commands).
        if patched(PATCH_STEP_ATTRIBUTES, lean=self.lean):
            self._upsert_step_attributes(enrollment)
        lines = [f"**State** {enrollment.state or '(none)'}"]
        if enrollment.paused is not None:
            by = f" by {enrollment.paused.by}" if enrollment.paused.by else ""
            lines.append(f"**Paused** since {enrollment.paused.at}{by}")
        for view in pending_views(plan, enrollment)[:10]:
            when = f" at {view.dueAt}" if view.dueAt else ""
            lines.append(f"- `{view.stepId}` ({view.eventType}) waits for {view.waitingFor}{when}")
        lines += [f"- listening for {w}" for w in listening[:10]]
        workflow.set_current_details("\n".join(lines))

    def _upsert_step_attributes(self, enrollment: EnrollmentState) -> None:
        """JourneyWaitingAt / JourneyFailedSteps, so the UI can list everyone waiting at a
        step or with a failed step. Upserted only when they change."""
        waiting = sorted({a.stepId for a in enrollment.actions.values()})
        failed = sorted(enrollment.failedSteps)
        updates = []
        if self.lean or waiting != self.shown_waiting:
            self.shown_waiting = waiting
            updates.append(
                sa.WAITING_AT.value_set(waiting) if waiting else sa.WAITING_AT.value_unset()
            )
        if self.lean or failed != self.shown_failed:
            self.shown_failed = failed
            updates.append(sa.FAILED_STEPS.value_set(failed))
        if updates:
            self._upsert(updates)


def unsubmitted_form_count(enrollment: EnrollmentState, action: ActionState) -> int | None:
    """The counter of the action's `formResponses` cancel condition (docs/semantics.md §7.4):
    the forms its step generated that are still unsubmitted; None without such a condition."""
    for condition in action.cancelConditions:
        if condition.type == "formResponses":
            tracking = enrollment.forms.get(condition.stepId)
            return tracking.unsubmitted_count if tracking is not None else None
    return None


def pending_views(plan: JourneyPlan, enrollment: EnrollmentState) -> list[PendingView]:
    """The pending actions as the status query and the UI show them, soonest first."""
    views = []
    for action in enrollment.actions.values():
        event = plan.steps[action.stepId].events[action.eventIndex]
        if action.parked:
            waiting = f"trigger {trigger_id(event)}"
        elif not action.scheduled:
            waiting = "scheduling"
        elif action.didDelayForOutOfOffice:
            waiting = "office hours"
        else:
            waiting = "time"
        due = (
            None
            if action.parked or action.processAfter is None
            else from_epoch_ms(action.processAfter).isoformat()
        )
        views.append(
            PendingView(
                actionId=action.id,
                stepId=action.stepId,
                eventType=event.type,
                dueAt=due,
                waitingFor=waiting,
            )
        )
    return sorted(views, key=lambda v: (v.dueAt or "~", v.stepId))
