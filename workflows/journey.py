"""JourneyWorkflow: one durable workflow per (journey, enduser) interpreting a compiled plan.

Every AutomatedAction runs as its own asyncio task inside the workflow, so sibling branches run
concurrently: wait until due (a durable timer racing cancellation), defer for office hours, check
enduser conditions, perform the action through one activity, then schedule the step's children by
event type. Forms, tickets and triggers arrive as signals; events for steps that are not armed yet
are recorded and applied when they are (a form submitted before its parent finished still counts).
Only form responses and tickets this run created drive it: those of a run a restart replaced,
or made outside the journey, are ignored and reported in `status` (docs/decisions.md D8).

An action acts on the enrolled enduser unless a switchToRelatedContact earlier in its branch
switched to a related contact: `ActionState.enduserId` names that contact, children inherit it,
and the activities, condition reads and ledger rows of the rest of the branch use it
(docs/semantics.md §8.4). Other branches keep the enrolled enduser.

Deterministic by construction: no I/O (activities do it), time from `workflow.now()`, choices from
`workflow.random()`, and the scheduling rules are pure functions from `rules/`. Engine changes go
behind `workflow.patched(...)`; recorded histories in tests/histories/ replay in CI.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from models.automated_action import CancelReason, JourneyContext
    from models.enrollment import (
        IGNORED_KEPT,
        MIGRATIONS_KEPT,
        ActionState,
        ActionStatus,
        CancelOn,
        EnrollmentResult,
        EnrollmentState,
        EnrollmentStatus,
        FormTracking,
        MigrationNote,
        MigrationRecord,
        PauseState,
    )
    from models.events import (
        EVENT_TRAITS,
        AfterActionEvent,
        AfterActionInfo,
        AutomationEvent,
        DelayInfo,
        EventType,
        Fires,
        FormResponseCancelCondition,
        FormsUnsubmittedEvent,
        FormUnsubmittedEvent,
        ab_test_label,
        close_reason,
        delay_info,
        expected_outcomes,
        fired_by,
        traits,
        trigger_id,
    )
    from models.message_policy import CHANNEL_OF_ACTION, MessagePolicy
    from models.plan import OBJECT_ID, EventRef, JourneyPlan, tellescope_id
    from models.runtime import (
        ActionOutcome,
        ActionRequest,
        AnchorDateRequest,
        BackgroundErrorRequest,
        CarriedJoin,
        ConditionInputs,
        ConditionInputsRequest,
        EnduserRef,
        EnrollmentInput,
        FormSubmitted,
        IncomingMessage,
        JourneyControlRequest,
        JourneyStateUpdate,
        LedgerBatch,
        MigrateRequest,
        PauseRequest,
        PlanRef,
        RemoveRequest,
        RestartRequest,
        ResumeRequest,
        StepOutcome,
        TicketClosed,
        TriggerFired,
        enrollment_workflow_id,
        family_of,
    )
    from rules.conditions import journey_state_matches, matches, uses_upcoming_events
    from rules.dates import epoch_ms, from_epoch_ms, parse_any_date
    from rules.migration import remap
    from rules.office_hours import next_open, zone_for_enduser
    from rules.schedule import (
        date_relative_due,
        day_of_month_due,
        delay_due,
        run_at,
        should_skip,
    )
    from workflows import metrics
    from workflows.patches import (
        HISTORY_SHAPE_COMPACT,
        HISTORY_SHAPE_FOLDED,
        HISTORY_SHAPE_LEAN,
        PATCH_BACKGROUND_ERRORS,
        PATCH_DUE_AT_OFFICE_HOURS,
        PATCH_EARLY_OUTCOMES,
        PATCH_FULL_STEP_CONDITIONS,
        PATCH_LEDGER_FIELDS,
        PATCH_MIGRATE_VERSION,
        PATCH_OWN_EVENTS_ONLY,
        PATCH_PAUSE_RESUME,
        PATCH_REMOVED_BEFORE_START,
        PATCH_RESTART_COALESCE,
        PATCH_SIGNALS_WAIT_FOR_PLAN,
        patched,
    )
    from workflows.projection import HISTORY_KEPT, Projection, pending_views
    from workflows.shared_plans import shared_plan

AI_NO_MATCH = "____NO_MATCH____"
S = TypeVar("S")  # a signal's argument
ResultT = TypeVar("ResultT")  # an activity's result, as its result_type decodes it

ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,  # about 2.5 hours of Tellescope trouble, then the step errors
)
LOOKUP_TIMEOUT = timedelta(seconds=30)
JOURNEY_CONTROL_KINDS: dict[str, Literal["add", "remove", "remove_all"]] = {
    "addToJourney": "add",
    "removeFromJourney": "remove",
}


def _failure_message(error: BaseException) -> str:
    """The message an operator should read: the innermost application error's text."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause) or type(cause).__name__


def _failure_class(error: BaseException) -> str:
    """The error class of a failed action (a metric label, docs/metrics.md §2): the innermost
    application error's type, else the failure's class name (TimeoutError, ...)."""
    cause: BaseException | None = error
    while isinstance(cause, ActivityError | ChildWorkflowError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__


@workflow.defn(name="JourneyWorkflow")
class JourneyWorkflow:
    @workflow.init
    def __init__(self, inp: EnrollmentInput) -> None:
        if inp.plan is not None:
            # One object per plan version in the worker (workflows/shared_plans.py, D42). The SDK
            # keeps the input for the run's life, so the input itself points at the shared one.
            inp.plan = shared_plan(inp.plan)
        self.inp = inp
        # History shapes 2 to 4 (workflows/patches.py): fewer events per step, same behaviour.
        self.folded = inp.historyShape == HISTORY_SHAPE_FOLDED
        self.compact = self.folded or inp.historyShape == HISTORY_SHAPE_COMPACT
        self.lean = self.compact or inp.historyShape == HISTORY_SHAPE_LEAN
        self.plan: JourneyPlan | None = None
        # The durable state, handed whole to the next run on continue-as-new.
        self.enrollment = EnrollmentState()
        self.cancelled: dict[str, int] = {}  # action id -> cancel reason, set by cancellers
        self.tasks: dict[str, asyncio.Task[None]] = {}
        # ledger, UI and search attributes
        self.projection = Projection(inp, lean=self.lean, compact=self.compact)
        self.in_flight = 0  # activities running: continue-as-new waits for them
        self.performing: set[str] = set()  # actions whose side effect is under way
        self.draining = False  # due actions wait instead of starting (continue-as-new, removal)
        self.winding_down = False  # removal/restart: no new branches
        # Runs recorded before PATCH_SIGNALS_WAIT_FOR_PLAN: signals that arrived before the plan
        # loaded, applied by `run` once the journey has started.
        self.backlog: list[Callable[[], None]] = []
        self.started = False
        self.remove_request: RemoveRequest | None = None
        self.restart_request: RestartRequest | None = None
        self.migrate_request: MigrateRequest | None = None
        self.counter: asyncio.Task[None] | None = None  # the compact shape's start count

    # ------------------------------------------------------------------------------------------
    # main loop

    @workflow.run
    async def run(self, inp: EnrollmentInput) -> EnrollmentResult:
        if self.compact and inp.plan is not None:
            self.plan = inp.plan  # carried by the input (docs/decisions.md D35)
        else:
            self.plan = shared_plan(await self._load_plan(inp.planVersion))
        self.projection.start_ledger()
        if inp.resume is not None:
            self._restore(EnrollmentState.model_validate(inp.resume))
        elif self.remove_request is not None and self._patched(PATCH_REMOVED_BEFORE_START):
            await self.projection.close_ledger()
            return self._result("removed")
        else:
            if workflow.info().continued_run_id is None:  # not the new run of a restart
                if self.compact:
                    self.counter = asyncio.create_task(self._count_start_once_joined())
                else:
                    metrics.count_enrollment("started", inp.journeyId)
            await self._start_journey()
        self.started = True
        for apply in self.backlog:
            apply()
        self.backlog.clear()
        self._refresh_ui()

        while True:
            await workflow.wait_condition(
                lambda: (
                    self.remove_request is not None
                    or self.restart_request is not None
                    or self.migrate_request is not None
                    or self._finished()
                    or self._should_continue_as_new()
                )
            )
            if self.restart_request is not None:
                await self._wind_down(CancelReason.RESTARTED_IN_JOURNEY, None)
                if self.enrollment.paused is not None:
                    # The restarted journey starts unpaused (docs/decisions.md D28), and
                    # continue-as-new would carry the attribute over.
                    self.projection.show_paused(False)
                await self.projection.close_ledger()
                metrics.count_enrollment("restarted", inp.journeyId)
                restart = self.restart_request
                fresh: dict[str, Any] = {
                    "journeyContext": restart.journeyContext,
                    "startAtStepId": restart.startAtStepId,
                    "resume": None,
                }
                if inp.initialState is not None:  # a restart writes "" (only then: old inputs)
                    fresh["initialState"] = None
                workflow.continue_as_new(inp.model_copy(update=fresh))
            if self.remove_request is not None:
                request = self.remove_request
                await self._wind_down(CancelReason(request.cancelReason), request.cancelledBy)
                await self._set_membership(None)
                await self.projection.close_ledger()
                metrics.count_enrollment("removed", inp.journeyId)
                return self._result("removed")
            if self.migrate_request is not None:
                await self._migrate(self.migrate_request)  # returns only when not migrated
                continue
            if self._finished():
                await self.projection.close_ledger()
                metrics.count_enrollment("completed", inp.journeyId)
                return self._result("completed")
            if self._should_continue_as_new():
                self.draining = True
                await workflow.wait_condition(
                    lambda: self.in_flight == 0 and workflow.all_handlers_finished()
                )
                await self.projection.close_ledger()
                workflow.continue_as_new(
                    inp.model_copy(update={"resume": self.enrollment.model_dump(mode="json")})
                )

    async def _count_start_once_joined(self) -> None:
        """The compact shape's first workflow task runs a local activity (the join). A worker
        without a workflow cache evicts a run whose local activity is still running and runs
        its first activation again, not as a replay: counted once the join is written, the start
        is counted once (workflows/metrics.py counts nothing on replay)."""
        await workflow.wait_condition(lambda: self.projection.joined)
        metrics.count_enrollment("started", self.inp.journeyId)

    async def _migrate(self, request: MigrateRequest) -> None:
        """docs/decisions.md D29: at a safe point (no activity under way, due actions held),
        move the pending actions to the target version and continue as new on it. A pending
        step the target lacks is cancelled, or (`onRemoved: keep`) the enrollment stays where it
        is. Steps already done are history and never run again."""
        target = await self._load_plan(request.toVersion, migrating=True)
        self.draining = True
        await workflow.wait_condition(
            lambda: self.in_flight == 0 and workflow.all_handlers_finished()
        )
        if self.remove_request is not None or self.restart_request is not None:
            # Removed or restarted while the target loaded: that wins, the version stays.
            self._note_migration(request, "kept", "removed or restarted meanwhile")
            self.migrate_request = None
            self.draining = False
            return
        removed = remap(self.enrollment, self._plan, target, request.mapping).removed
        if removed and request.onRemoved == "keep":
            steps = ", ".join(sorted({a.stepId for a in removed}))
            self._note_migration(request, "kept", f"version {target.version} lacks {steps}")
            self.migrate_request = None
            self.draining = False
            self._refresh_ui()
            return
        for action in removed:
            self.cancelled[action.id] = int(CancelReason.REMOVED_BY_USER)
            self._finish(
                action,
                "cancelled",
                cancel_reason=int(CancelReason.REMOVED_BY_USER),
                cancelled_by=request.by,
                detail=f"removed by migration {request.migrationId} to {target.version}",
            )
        moved = remap(self.enrollment, self._plan, target, request.mapping)
        self._note_migration(request, "migrated", f"{len(moved.moved)} pending step(s) moved")
        state = moved.state
        state.migrations = list(self.enrollment.migrations)
        state.migratedBy = MigrationNote(
            migrationId=request.migrationId, fromVersion=self.inp.planVersion, moves=moved.moved
        )
        self.projection.show_version(target.version)
        await self.projection.close_ledger()
        update: dict[str, Any] = {
            "planVersion": target.version,
            "resume": state.model_dump(mode="json"),
        }
        if self.compact:
            update["plan"] = target  # the next run carries the target, not this run's plan
        workflow.continue_as_new(self.inp.model_copy(update=update))

    def _note_migration(
        self, request: MigrateRequest, outcome: Literal["migrated", "kept"], detail: str
    ) -> None:
        record = MigrationRecord(
            migrationId=request.migrationId,
            fromVersion=self.inp.planVersion,
            toVersion=request.toVersion,
            outcome=outcome,
            detail=detail,
            at=workflow.now().isoformat(),
        )
        self.enrollment.migrations = [*self.enrollment.migrations, record][-MIGRATIONS_KEPT:]

    def _finished(self) -> bool:
        """Nothing pending and nothing that could still start a branch."""
        return (
            self.started
            and not self.enrollment.actions
            and not self.in_flight
            and not self._listening()
        )

    def _should_continue_as_new(self) -> bool:
        if not self.started or self.draining:
            return False
        info = workflow.info()
        limit = self.inp.continueAsNewAfterEvents
        return info.is_continue_as_new_suggested() or (
            limit is not None and info.get_current_history_length() >= limit
        )

    def _listening(self) -> list[str]:
        """Forms, tickets and outcomes a finished step still waits for (they may start branches)."""
        plan = self._plan
        waits = []
        form_events = fired_by(Fires.FORM_SUBMITTED, Fires.ALL_FORMS_SUBMITTED)
        for step_id, tracking in self.enrollment.forms.items():
            if (
                any(plan.children_of(step_id, t) for t in form_events)
                and not tracking.all_submitted
            ):
                waits.append(f"form from {step_id}")
        ticket_events = fired_by(Fires.TICKET_CLOSED)
        for ticket_id, step_id in self.enrollment.tickets.items():
            if ticket_id not in self.enrollment.closedTicketIds and any(
                plan.children_of(step_id, t) for t in ticket_events
            ):
                waits.append(f"ticket {ticket_id} from {step_id}")
        waits += [f"outcome of {step_id}" for step_id in self.enrollment.awaitingOutcome]
        return waits

    async def _start_journey(self) -> None:
        # Restarts asked for by callers who saw an earlier run are satisfied by this start (D15).
        if self._patched(PATCH_RESTART_COALESCE):
            self.enrollment.journeyRunIds = [workflow.info().run_id]
        await self._set_membership(self.inp.initialState or "", joining=True)
        start = self.inp.startAtStepId
        context = self.inp.journeyContext.model_dump(exclude_none=True)
        if start is not None:
            # add-endusers-to-journey with automationStepId: that step runs now
            # (docs/semantics.md §12.1)
            step_id = self._plan.step_id(start)
            if step_id is None:
                raise ApplicationError(
                    f'journey "{self.inp.journeyId}" has no step "{start}"', non_retryable=True
                )
            self._create(step_id, 0, context, scheduled_now=True)
            return
        for step_id in self._plan.roots:
            index = next(
                i
                for i, e in enumerate(self._plan.steps[step_id].events)
                if traits(e).fires is Fires.JOURNEY_START
            )
            self._create(step_id, index, context)

    async def _load_plan(self, version: str, *, migrating: bool = False) -> JourneyPlan:
        """The plan lands in history once per run: as an activity's result in the first shape
        (the time-skipping test server sees that work), as a local activity's marker in the lean
        one (one event instead of six: no activity task, no workflow task after it). A
        migration's target stays an activity: it is loaded once per migration, and the
        time-skipping test server stopped skipping time after a local activity in a run that then
        continued as new from a signal's workflow task."""
        ref = PlanRef(journeyId=self.inp.journeyId, version=version)
        summary = f"load plan {self.inp.journeyId}@{version}"
        if migrating:
            summary += " (migration)"
        if self.lean and not migrating:
            plan: JourneyPlan = await self._local_activity(
                "load_plan", ref, result_type=JourneyPlan, summary=summary
            )
            return plan
        return await self._activity("load_plan", ref, result_type=JourneyPlan, summary=summary)

    def _patched(self, patch_id: str) -> bool:
        """workflow.patched, except that a lean-shape run has the patches it started with in
        force without recording their markers (workflows/patches.py)."""
        return patched(patch_id, lean=self.lean)

    @property
    def _plan(self) -> JourneyPlan:
        assert self.plan is not None
        return self.plan

    # ------------------------------------------------------------------------------------------
    # creating and running AutomatedActions

    def _new_id(self) -> str:
        """An ObjectId-shaped, replay-stable id (workflow.random is seeded per run)."""
        return f"{workflow.random().getrandbits(96):024x}"

    def _create(
        self,
        step_id: str,
        event_index: int,
        context: dict[str, Any],
        *,
        parent: ActionState | None = None,
        ab_label: str | None = None,
        extra_cancel: list[CancelOn] | None = None,
        scheduled_now: bool = False,
    ) -> ActionState | None:
        event = self._plan.steps[step_id].events[event_index]
        event_traits = traits(event)
        info = delay_info(event)
        if self.winding_down:
            return None
        cancel: list[CancelOn] = [
            CancelOn(type="formResponse", stepId=c.info.automationStepId)
            for c in ((info.cancelConditions if info is not None else None) or [])
            if isinstance(c, FormResponseCancelCondition)
        ]
        inheritable: list[CancelOn] = []
        if parent is not None and event_traits.inherits_cancel:
            # docs/semantics.md §7.2: passed down from unsubmitted
            inheritable = list(parent.inheritable)
        cancel += extra_cancel or []
        if event_traits.passes_cancel:
            inheritable += extra_cancel or []
        cancel += [c for c in inheritable if c not in cancel]
        action = ActionState(
            id=self._new_id(),
            stepId=step_id,
            eventIndex=event_index,
            createdAt=epoch_ms(workflow.now()),
            journeyContext=dict(context),
            cancelConditions=cancel,
            inheritable=inheritable,
            abTestLabel=ab_label,
            parked=event_traits.parks,
            enduserId=parent.enduserId if parent is not None else None,
        )
        if scheduled_now:
            action.processAfter, action.scheduled = action.createdAt, True
        self.enrollment.actions[action.id] = action
        self._launch(action)
        return action

    def _launch(self, action: ActionState) -> None:
        self.tasks[action.id] = asyncio.create_task(self._run_action(action))

    async def _run_action(self, action: ActionState) -> None:
        step = self._plan.steps[action.stepId]
        event = step.events[action.eventIndex]
        label = f"{action.stepId}: {step.action.type}"
        try:
            if not action.scheduled:
                skipped = await self._schedule(action, event)
                if action.id in self.cancelled:
                    return
                if skipped:
                    self._finish(action, "finished", skipped=skipped, detail=skipped)
                    return
            self._write(action, "active")
            if action.parked:
                if self.compact:
                    # JourneyWaitingAt lists it (the lean and first shapes left it out until
                    # it was released: no refresh ran after a parked action was created).
                    self._refresh_ui()
                await workflow.wait_condition(
                    lambda: not action.parked or action.id in self.cancelled
                )
                if action.id in self.cancelled:
                    return
                self._write(action, "active")
            info = delay_info(event)
            while True:  # once, unless the message policy holds the message
                while True:
                    if (
                        traits(event).office_hours
                        and info is not None
                        and info.officeHoursOnly
                        and not action.didDelayForOutOfOffice
                        and self._patched(PATCH_DUE_AT_OFFICE_HOURS)
                    ):
                        await self._defer_for_office_hours(action, info, ahead=True)
                    if not await self._wait_until_due(action, label):
                        return
                    # Only a paused enrollment awaits here (an extra await would reorder the
                    # commands of histories recorded before PATCH_PAUSE_RESUME).
                    if self.enrollment.paused is not None and not await self._hold_while_paused(
                        action, event
                    ):
                        return
                    if traits(event).office_hours and info is not None:
                        if info.officeHoursOnly and not action.didDelayForOutOfOffice:
                            if await self._defer_for_office_hours(action, info):
                                continue
                    break
                # The compact shape joins the journey with the first ledger write: no side
                # effect before it (`joined` is always true in the other shapes). The folded
                # shape lets a step that performs at once carry that write (D41).
                join = self.projection.take_join() if self._can_carry_join(action) else None
                if join is None:
                    await workflow.wait_condition(
                        lambda: (
                            (not self.draining and self.projection.joined)
                            or action.id in self.cancelled
                        )
                    )
                    if action.id in self.cancelled:
                        return
                self.performing.add(action.id)
                try:
                    held_until = await self._perform(action, join)
                finally:
                    self.performing.discard(action.id)
                if held_until is None:
                    return
                # Held by the message policy: waiting again until processAfter, not performing,
                # so it can be cancelled and is carried over continue-as-new.
        finally:
            self.tasks.pop(action.id, None)

    async def _schedule(self, action: ActionState, event: AutomationEvent) -> str | None:
        """Set processAfter (docs/semantics.md §5). Returns a skip reason when the step
        must not run."""
        now = workflow.now()
        due = now
        match event:
            case AfterActionEvent(info=info):
                dated = info.fieldCondition or info.formCondition or info.eventCondition
                if info.dayOfMonthCondition is not None:
                    day = info.dayOfMonthCondition
                    zone = await self._zone(info, action)
                    due = day_of_month_due(now, day.dayOfMonth, day.hour, day.minute, zone)
                elif dated:
                    anchor = await self._anchor(action, info)
                    if anchor is None:
                        return "no date for the date-relative delay"
                    due = date_relative_due(anchor, info.delayInMS, bool(dated.before))
                    if should_skip(due, now, bool(info.skipIfDelayPassed)):
                        return "delay passed"
                    due = run_at(due, now)
                else:
                    due = delay_due(now, info.delayInMS)
            case FormUnsubmittedEvent(info=info) | FormsUnsubmittedEvent(info=info):
                due = delay_due(now, info.delayInMS)
        action.processAfter, action.scheduled = epoch_ms(due), True
        return None

    async def _zone(self, info: DelayInfo, action: ActionState) -> str:
        zone = self._plan.organization.timezone
        if info.useEnduserTimezone:
            zone = zone_for_enduser(await self._enduser(action.enduserId), zone)
        return zone

    async def _anchor(self, action: ActionState, info: AfterActionInfo) -> datetime | None:
        if info.fieldCondition is not None:
            request = AnchorDateRequest(
                enduserId=action.enduserId or self.inp.enduserId,
                kind="field",
                field=info.fieldCondition.field,
            )
        elif info.formCondition is not None:
            request = AnchorDateRequest(
                enduserId=action.enduserId or self.inp.enduserId,
                kind="form",
                formId=info.formCondition.formId,
                formFieldId=info.formCondition.formFieldId,
            )
        else:
            request = AnchorDateRequest(
                enduserId=action.enduserId or self.inp.enduserId,
                kind="event",
                journeyContext=JourneyContext.model_validate(action.journeyContext),
            )
        value = await self._activity(
            "resolve_anchor_date",
            request,
            result_type=str,
            summary=f"{action.stepId}: find anchor date",
        )
        return parse_any_date(value) if value else None

    async def _enduser(self, enduser_id: str | None = None) -> dict[str, Any]:
        return await self._activity(
            "get_enduser",
            EnduserRef(enduserId=enduser_id or self.inp.enduserId),
            result_type=dict,
            summary="read enduser",
        )

    async def _wait_until_due(self, action: ActionState, label: str) -> bool:
        """Sleep until processAfter unless cancelled first. False = cancelled."""
        assert action.processAfter is not None
        self._refresh_ui()
        remaining = from_epoch_ms(action.processAfter) - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(
                    lambda: action.id in self.cancelled,
                    timeout=remaining,
                    timeout_summary=f"{label} due {from_epoch_ms(action.processAfter).isoformat()}",
                )
            except TimeoutError:
                pass
        return action.id not in self.cancelled

    async def _hold_while_paused(self, action: ActionState, event: AutomationEvent) -> bool:
        """docs/decisions.md D28: a due action of a paused enrollment waits for the resume.
        Then, with the journey's `onResume: skipOverdue`, an action whose delay ran out while
        paused is finished as skipped, without children (as `skipIfDelayPassed` does,
        docs/decisions.md D6); an action made due by an event (no delay, or a trigger that
        released it) runs, as every action does with `runOverdue`. False = do not run it."""
        await workflow.wait_condition(
            lambda: self.enrollment.paused is None or action.id in self.cancelled
        )
        if action.id in self.cancelled:
            return False
        timed = (
            action.processAfter is not None
            and action.processAfter > action.createdAt
            and not traits(event).parks
        )
        if timed and self._plan.journey.skips_overdue_on_resume:
            due = from_epoch_ms(action.processAfter or 0).isoformat()
            self._finish(
                action,
                "finished",
                skipped="paused",
                detail=f"due {due} while paused: skipped on resume (onResume: skipOverdue)",
            )
            return False
        return True

    async def _defer_for_office_hours(
        self, action: ActionState, info: DelayInfo, *, ahead: bool = False
    ) -> bool:
        """docs/decisions.md D4: move an out-of-office action to the next opening. True =
        deferred. `ahead` (docs/decisions.md D26): decided when the timer is set, from the due
        time, so the ledger, NextActionAt and the timer already say when the step will run; the
        check when the timer fires then only catches a timer that fired late."""
        now = workflow.now()
        if ahead:
            assert action.processAfter is not None
            now = max(now, from_epoch_ms(action.processAfter))
        zone = await self._zone(info, action)
        opening = next_open(now, self._plan.organization, zone)
        if opening is None:
            if not ahead:  # said once, when the step runs anyway
                workflow.logger.warning(
                    "no office hours within 14 days for %s; running now", action.stepId
                )
            return False
        if opening <= now:
            return False
        action.processAfter = epoch_ms(opening)
        action.didDelayForOutOfOffice = True
        self._write(action, "active", detail=f"deferred to office hours ({opening.isoformat()})")
        return True

    def _can_carry_join(self, action: ActionState) -> bool:
        """Folded shape (docs/decisions.md D41): whether this action's activity can write the
        journey's join before its side effect: its first activity is the side effect (no
        condition read before it) and goes through `ActionRequest` (not journey control)."""
        if not self.folded or self.projection.joined or self.draining:
            return False
        step = self._plan.steps[action.stepId]
        return (
            not step.conditions
            and not step.enduserConditions
            and family_of(step.action.type) != "control_journeys"
        )

    async def _perform(
        self, action: ActionState, join: LedgerBatch | None = None
    ) -> datetime | None:
        """Run the due action. Returns when to try again if the message policy held it. `join`
        (the folded shape's first bookkeeping) rides on the action's activity."""
        step = self._plan.steps[action.stepId]
        if action.processAfter is not None:
            metrics.record_lateness(self.inp.journeyId, action.stepId, action.processAfter)
        reads_more = bool(step.conditions) or uses_upcoming_events(step.enduserConditions)
        if reads_more and self._patched(PATCH_FULL_STEP_CONDITIONS):
            skipped = await self._unmet_conditions(action)
            if skipped is not None:
                reason, detail = skipped
                self._finish(action, "finished", skipped=reason, detail=detail)
                return None
        elif step.enduserConditions:
            enduser = await self._enduser(action.enduserId)
            if not matches(enduser, step.enduserConditions, now=workflow.now()):
                self._finish(
                    action, "finished", skipped="conditions", detail="enduser conditions not met"
                )
                return None
        try:
            outcome = await self._execute(action, join)
        except BaseException as error:
            if join is not None:  # perhaps unwritten: the ledger writer writes it (idempotent)
                self.projection.join_carried(False)
            if not isinstance(error, ActivityError):
                raise
            message = _failure_message(error)
            self._finish(
                action, "error", error=message, error_class=_failure_class(error), detail=message
            )
            self._spawn_children(action, errored=True, outcome=None)
            if self.enrollment.closedTickets and self._patched(PATCH_OWN_EVENTS_ONLY):
                self._drop_parked_closes(action.stepId, action.id)
            if self._patched(PATCH_BACKGROUND_ERRORS):
                await self._report_background_error(action, message)
            return None
        if join is not None:
            if not outcome.joinedJourney:
                workflow.logger.warning(
                    "the worker has no JoinFirst interceptor: %s joined the journey after its"
                    " first step (docs/decisions.md D41)",
                    self.inp.enduserId,
                )
            self.projection.join_carried(bool(outcome.joinedJourney))
        # docs/message-policy.md: only a policy configured in organization.yaml gives these
        # outcomes, and no recorded history has one, so they need no workflow.patched.
        if outcome.heldUntil is not None:
            held_until = max(parse_any_date(outcome.heldUntil) or workflow.now(), workflow.now())
            action.processAfter = epoch_ms(held_until)  # the ledger's dueAt says when
            self._write(action, "active", detail=outcome.detail)
            return held_until
        if outcome.journeyState is not None and action.enduserId is None:
            self._set_state(outcome.journeyState)
        if outcome.skipped is not None:  # dropped: the journey goes on as if it was sent
            self._finish(action, "finished", skipped=outcome.skipped, detail=outcome.detail)
        else:
            self._finish(action, "finished", detail=outcome.detail)
        self._spawn_children(action, errored=False, outcome=outcome)
        return None

    async def _report_background_error(self, action: ActionState, message: str) -> None:
        """docs/semantics.md §4.4: a failed action also leaves a BackgroundError in Tellescope
        (one per failed action: the activity is idempotent on the action id). Reporting is
        best effort: its own failure is logged and changes nothing in the journey."""
        step = self._plan.steps[action.stepId]
        request = BackgroundErrorRequest(
            automatedActionId=action.id,
            enduserId=action.enduserId or self.inp.enduserId,
            journeyId=self.inp.tellescopeJourneyId,
            automationStepId=self._plan.tellescopeStepIds[action.stepId],
            stepName=action.stepId,
            actionType=step.action.type,
            message=message,
        )
        try:
            await self._activity(
                "record_background_error",
                request,
                result_type=str,
                summary=f"{action.stepId}: report the error",
            )
        except ActivityError as error:
            workflow.logger.warning(
                "BackgroundError for %s not recorded: %s", action.stepId, _failure_message(error)
            )

    async def _unmet_conditions(self, action: ActionState) -> tuple[str, str] | None:
        """Evaluate the step's `conditions` (atJourneyState) and `enduserConditions` with what
        they need read in one activity: (skip reason, detail) when the step must not run.

        docs/semantics.md §4.1: `atJourneyState {journeyId, state}` runs the step only while
        `enduser.journeys[journeyId]` is that state; docs/semantics.md §4.6 and
        docs/decisions.md D2 for enduserConditions; docs/semantics.md §10.1: a
        `__upcomingEvents__` leaf counts the enduser's upcoming appointments."""
        step = self._plan.steps[action.stepId]
        now = workflow.now()
        inputs = await self._activity(
            "get_condition_inputs",
            ConditionInputsRequest(
                enduserId=action.enduserId or self.inp.enduserId,
                now=now.isoformat(),
                upcomingEvents=uses_upcoming_events(step.enduserConditions),
            ),
            result_type=ConditionInputs,
            summary=f"{action.stepId}: read enduser for conditions",
        )
        for condition in step.conditions or []:
            journey_id = self._tellescope_journey_id(condition.info.journeyId)
            if not journey_state_matches(inputs.enduser, journey_id, condition.info.state):
                return "journey state", f'journey state is not "{condition.info.state}"'
        if step.enduserConditions and not matches(
            inputs.enduser,
            step.enduserConditions,
            now=now,
            upcoming_events=inputs.upcomingEvents,
        ):
            return "conditions", "enduser conditions not met"
        return None

    def _tellescope_journey_id(self, journey_id: str) -> str:
        """The key of `enduser.journeys` for a journey named in the YAML: this journey's
        deployed record, an ObjectId as written, else the id its plan would deploy under."""
        if journey_id in (self.inp.journeyId, self._plan.tellescopeJourneyId):
            return self.inp.tellescopeJourneyId
        return journey_id if OBJECT_ID.match(journey_id) else tellescope_id("journey", journey_id)

    async def _execute(self, action: ActionState, join: LedgerBatch | None) -> ActionOutcome:
        step = self._plan.steps[action.stepId]
        family = family_of(step.action.type)
        context = JourneyContext.model_validate(action.journeyContext)
        summary = f"{action.stepId}: {step.action.type}"
        if family == "control_journeys":
            kind = JOURNEY_CONTROL_KINDS.get(step.action.type, "remove_all")
            control = JourneyControlRequest(
                automatedActionId=action.id,
                enduserId=action.enduserId or self.inp.enduserId,
                fromJourneyId=self.inp.journeyId,
                kind=kind,
                targetJourneyId=getattr(step.action.info, "journeyId", None),
                journeyContext=context,
            )
            return await self._activity(
                family, control, result_type=ActionOutcome, summary=summary, action_id=action.id
            )
        request = ActionRequest(
            automatedActionId=action.id,
            enduserId=action.enduserId or self.inp.enduserId,
            journeyId=self.inp.tellescopeJourneyId,
            automationStepId=self._plan.tellescopeStepIds[action.stepId],
            stepName=action.stepId,
            action=step.action,
            journeyContext=context,
            organizationTimezone=self._plan.organization.timezone,
            now=workflow.now().isoformat(),
            messagePolicy=self._message_policy(action.stepId),
        )
        if join is not None:
            carried = CarriedJoin.of(join, request, workflow.info().workflow_id)
            request = request.model_copy(update={"joinFirst": carried})
        return await self._activity(
            family, request, result_type=ActionOutcome, summary=summary, action_id=action.id
        )

    def _message_policy(self, step_id: str) -> MessagePolicy | None:
        """The organisation's message policy, if it applies to this step's action
        (docs/message-policy.md: patient-facing messages of steps not exempt from it)."""
        step = self._plan.steps[step_id]
        policy = self._plan.organization.messagePolicy
        if policy is None or step.exemptFromMessagePolicy:
            return None
        return policy if step.action.type in CHANNEL_OF_ACTION else None

    @overload
    async def _activity(
        self,
        name: str,
        arg: Any,
        *,
        result_type: type[ResultT],
        summary: str,
        action_id: str | None = None,
    ) -> ResultT: ...

    @overload
    async def _activity(
        self,
        name: str,
        arg: Any,
        *,
        result_type: None,
        summary: str,
        action_id: str | None = None,
    ) -> None: ...

    async def _activity(
        self,
        name: str,
        arg: Any,
        *,
        result_type: type[Any] | None,
        summary: str,
        action_id: str | None = None,
    ) -> Any:
        self.in_flight += 1
        try:
            result = await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=(
                    timedelta(seconds=self.inp.stepTimeoutSeconds) if action_id else LOOKUP_TIMEOUT
                ),
                retry_policy=ACTION_RETRY,
                activity_id=f"{action_id}" if action_id else None,
                summary=summary,
            )
            return result  # activities by name are untyped: result_type decodes the payload
        finally:
            self.in_flight -= 1

    async def _local_activity(
        self, name: str, arg: Any, *, result_type: type[Any] | None, summary: str
    ) -> Any:
        """Bookkeeping of the lean shape (loading the plan, joining or leaving the journey): run
        by the worker inside the workflow task, recorded as one marker."""
        self.in_flight += 1
        try:
            return await workflow.execute_local_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=summary,
            )
        finally:
            self.in_flight -= 1

    # ------------------------------------------------------------------------------------------
    # children

    def _spawn_children(
        self, parent: ActionState, *, errored: bool, outcome: ActionOutcome | None
    ) -> None:
        # The order children are created in is part of the history (their ids come from
        # workflow.random): errors, then afterAction, forms, ticket, then parked children.
        step = self._plan.steps[parent.stepId]
        context = parent.journeyContext
        if outcome is not None and outcome.switchedToEnduserId:
            # docs/semantics.md §8.4: the rest of this branch acts on the related contact.
            parent = parent.model_copy(update={"enduserId": outcome.switchedToEnduserId})
        if errored:
            self.enrollment.earlyOutcomes.pop(parent.stepId, None)  # a failed call has none
            for event_type in fired_by(Fires.PARENT_ERRORED):
                self._create_group(parent, event_type, context)
            if not step.action.continueOnError:
                return
        finished = fired_by(Fires.PARENT_FINISHED)
        for event_type in finished:
            if not EVENT_TRAITS[event_type].parks:
                self._create_group(parent, event_type, context)
        if errored or outcome is None:
            return
        if outcome.formResponseIds:
            self._arm_forms(parent, outcome.formResponseIds)
        if outcome.ticketId:
            if parent.enduserId is not None:
                self.enrollment.stepEndusers[parent.stepId] = parent.enduserId
            self._arm_ticket(parent.stepId, outcome.ticketId, parent.id)
        for event_type in finished:
            if EVENT_TRAITS[event_type].parks:
                for ref in self._plan.children_of(parent.stepId, event_type):
                    self._create(ref.stepId, ref.eventIndex, context, parent=parent)
        if outcome.outcome is not None:
            for event_type in fired_by(Fires.DECISION):
                self._route_outcome(parent.stepId, event_type, outcome.outcome, context)
        if any(self._plan.children_of(parent.stepId, t) for t in fired_by(Fires.OUTCOME_SIGNAL)):
            self.enrollment.awaitingOutcome.append(
                parent.stepId
            )  # the outcome arrives later, by signal
            early = self.enrollment.earlyOutcomes.pop(parent.stepId, None)
            if early is not None:  # or it already came (PATCH_EARLY_OUTCOMES)
                self._on_step_outcome(StepOutcome(automationStepId=parent.stepId, outcome=early))

    def _choose(self, refs: list[EventRef]) -> list[tuple[EventRef, str | None]]:
        """docs/decisions.md D1: pick one A/B label uniformly; keep its children and the
        unlabelled ones."""
        labels = sorted(
            {label for ref in refs if (label := ab_test_label(self._plan.event_of(ref)))}
        )
        pick = workflow.random().choice(labels) if labels else None
        chosen: list[tuple[EventRef, str | None]] = []
        for ref in refs:
            label = ab_test_label(self._plan.event_of(ref))
            if label is None or label == pick:
                chosen.append((ref, label))
        return chosen

    def _create_group(
        self,
        parent: ActionState,
        event_type: EventType,
        context: dict[str, Any],
        *,
        extra_cancel: list[CancelOn] | None = None,
    ) -> None:
        refs = self._plan.children_of(parent.stepId, event_type)
        for ref, label in self._choose(refs):
            self._create(
                ref.stepId,
                ref.eventIndex,
                context,
                parent=parent,
                ab_label=label,
                extra_cancel=extra_cancel,
            )

    def _arm_forms(self, parent: ActionState, form_response_ids: list[str]) -> None:
        """The step generated forms: start formUnsubmitted timers, listen for submissions, and
        apply submissions that arrived before the step finished."""
        step_id = parent.stepId
        if parent.enduserId is not None:
            self.enrollment.stepEndusers[step_id] = parent.enduserId
        tracking = self.enrollment.forms.setdefault(step_id, FormTracking(formResponseIds=[]))
        tracking.formResponseIds += [
            f for f in form_response_ids if f not in tracking.formResponseIds
        ]
        for event_type in fired_by(Fires.FORMS_SENT):
            cancelled_by = EVENT_TRAITS[event_type].cancelled_by
            assert cancelled_by is not None
            self._create_group(
                parent,
                event_type,
                parent.journeyContext,
                extra_cancel=[CancelOn(type=cancelled_by, stepId=step_id)],
            )
        for form_response_id in list(self.enrollment.submissions.get(step_id, [])):
            if (
                form_response_id in tracking.formResponseIds
                and form_response_id not in tracking.submitted
            ):
                self._form_submitted(step_id, form_response_id)
        if self._patched(PATCH_OWN_EVENTS_ONLY) and not self._step_pending(step_id, parent.id):
            for form_response_id in self.enrollment.submissions.get(step_id, []):
                if form_response_id not in tracking.formResponseIds:
                    self._report_ignored(
                        f"form response {form_response_id} of {step_id}: not sent by this run"
                    )

    def _arm_ticket(self, step_id: str, ticket_id: str, armed_by: str) -> None:
        self.enrollment.tickets[ticket_id] = step_id
        early = self.enrollment.closedTickets.pop(ticket_id, None)
        if early is not None:
            self._ticket_closed(early)
        if self._patched(PATCH_OWN_EVENTS_ONLY):
            self._drop_parked_closes(step_id, armed_by)

    def _drop_parked_closes(self, step_id: str, finished_action: str) -> None:
        """Closes parked while the step ran that were not for a ticket it created: not ours."""
        if self._step_pending(step_id, finished_action):
            return
        for other_id, other in list(self.enrollment.closedTickets.items()):
            if self._step_id(other.automationStepId or "") == step_id:
                del self.enrollment.closedTickets[other_id]
                self._report_ignored(f"ticket {other_id} closed: not created by this run")

    def _route_outcome(
        self, step_id: str, event_type: EventType, outcome: str, context: dict[str, Any]
    ) -> None:
        refs = self._plan.children_of(step_id, event_type)
        matched = [r for r in refs if outcome in expected_outcomes(self._plan.event_of(r))]
        if not matched and EVENT_TRAITS[event_type].fires is Fires.DECISION:
            matched = [r for r in refs if AI_NO_MATCH in expected_outcomes(self._plan.event_of(r))]
        for ref in matched:
            self._create(ref.stepId, ref.eventIndex, context)

    # ------------------------------------------------------------------------------------------
    # signals

    async def _when_started(self, apply: Callable[[S], None], signal: S) -> None:
        """Apply a signal once the plan is loaded and the journey started (or resumed): the
        handler waits for that. Runs recorded before the patch buffered early signals instead,
        for `run` to apply (their histories replay on that path)."""
        if not self.started:
            if not self._patched(PATCH_SIGNALS_WAIT_FOR_PLAN):
                self.backlog.append(functools.partial(apply, signal))
                return
            await workflow.wait_condition(lambda: self.started)
        apply(signal)

    @workflow.signal
    async def form_submitted(self, signal: FormSubmitted) -> None:
        await self._when_started(self._on_form_submitted, signal)

    def _on_form_submitted(self, signal: FormSubmitted) -> None:
        step_id = self._step_id(signal.automationStepId)
        if step_id is None:
            workflow.logger.info("form for unknown step %s ignored", signal.automationStepId)
            return
        seen = self.enrollment.submissions.setdefault(step_id, [])
        if signal.formResponseId in seen:
            return  # a duplicate delivery
        seen.append(signal.formResponseId)
        if self._patched(PATCH_OWN_EVENTS_ONLY):
            self._on_own_form_submitted(step_id, signal.formResponseId)
            return
        self._cancel_matching(step_id, all_submitted=False)
        tracking = self.enrollment.forms.get(step_id)
        if tracking is not None and signal.formResponseId in tracking.formResponseIds:
            self._form_submitted(step_id, signal.formResponseId)
        elif tracking is not None:
            # a form of this step we did not generate (e.g. from a message template link)
            tracking.formResponseIds.append(signal.formResponseId)
            self._form_submitted(step_id, signal.formResponseId)
        self._refresh_ui()

    def _on_own_form_submitted(self, step_id: str, form_response_id: str) -> None:
        """Only a form response this run generated counts (docs/decisions.md D8): one
        sent by the run a restart replaced, or made outside the journey, neither cancels this
        run's reminders nor starts its formResponse branches. A response of a step whose action
        is still under way may be this run's (the patient was faster than the activity's
        answer): it stays in `submissions` and `_arm_forms` applies it if the step generated it."""
        tracking = self.enrollment.forms.get(step_id)
        if tracking is not None and form_response_id in tracking.formResponseIds:
            if form_response_id not in tracking.submitted:
                self._form_submitted(step_id, form_response_id)
        elif not self._step_pending(step_id):
            self._report_ignored(
                f"form response {form_response_id} of {step_id}: not sent by this run"
            )
        self._refresh_ui()

    def _step_pending(self, step_id: str, excluding: str = "") -> bool:
        """An action of the step has not finished yet (it may still create forms or a ticket)."""
        return any(
            action.stepId == step_id and action.id != excluding
            for action in self.enrollment.actions.values()
        )

    def _report_ignored(self, line: str) -> None:
        workflow.logger.warning("ignored %s", line)
        self.enrollment.ignored = [*self.enrollment.ignored, line][-IGNORED_KEPT:]

    def _form_submitted(self, step_id: str, form_response_id: str) -> None:
        tracking = self.enrollment.forms[step_id]
        tracking.submitted.append(form_response_id)
        if self._patched(PATCH_LEDGER_FIELDS):
            # docs/semantics.md §7.4: the counter of formsUnsubmitted actions goes down in
            # place (the one reaching 0 is cancelled below, and recorded then).
            for action in list(self.enrollment.actions.values()):
                if action.id not in self.cancelled and any(
                    c.type == "formResponses" and c.stepId == step_id
                    for c in action.cancelConditions
                ):
                    if not tracking.all_submitted:
                        self._write(action, "active")
        parent = self._synthetic_parent(step_id)
        context = {**parent.journeyContext, "formResponseId": form_response_id}
        for event_type in fired_by(Fires.FORM_SUBMITTED):
            for ref, label in self._choose(self._plan.children_of(step_id, event_type)):
                self._create(ref.stepId, ref.eventIndex, context, parent=parent, ab_label=label)
        self._cancel_matching(step_id, all_submitted=tracking.all_submitted)
        if tracking.all_submitted:
            for event_type in fired_by(Fires.ALL_FORMS_SUBMITTED):
                for ref, label in self._choose(self._plan.children_of(step_id, event_type)):
                    self._create(ref.stepId, ref.eventIndex, context, parent=parent, ab_label=label)

    def _synthetic_parent(self, step_id: str) -> ActionState:
        """Context for children of a step that already finished: the enrollment's context."""
        return ActionState(
            id="",
            stepId=step_id,
            eventIndex=0,
            createdAt=0,
            journeyContext=self.inp.journeyContext.model_dump(exclude_none=True),
            enduserId=self.enrollment.stepEndusers.get(step_id),
        )

    def _cancel_matching(self, step_id: str, *, all_submitted: bool) -> None:
        """docs/semantics.md §7.3/§7.4: cancel pending actions whose conditions a submission
        satisfies."""
        for action in list(self.enrollment.actions.values()):
            if action.id in self.cancelled:
                continue
            for condition in action.cancelConditions:
                if condition.stepId != step_id:
                    continue
                if condition.type == "formResponse" or (
                    condition.type == "formResponses" and all_submitted
                ):
                    self._cancel(action, CancelReason.FORM_SUBMISSION, None)
                    break

    @workflow.signal
    async def ticket_closed(self, signal: TicketClosed) -> None:
        await self._when_started(self._on_ticket_closed, signal)

    def _on_ticket_closed(self, signal: TicketClosed) -> None:
        if signal.ticketId in self.enrollment.closedTicketIds:
            return
        if signal.ticketId not in self.enrollment.tickets:
            if self._patched(PATCH_OWN_EVENTS_ONLY):
                step_id = self._step_id(signal.automationStepId or "")
                if step_id is None or not self._step_pending(step_id):
                    # Not a ticket this run created (docs/decisions.md D8): a hand-made ticket
                    # carrying the step id, or one from the run a restart replaced.
                    self._report_ignored(
                        f"ticket {signal.ticketId} closed: not created by this run"
                    )
                    self._refresh_ui()
                    return
            # the step creating it is under way: applied when its step is armed
            self.enrollment.closedTickets[signal.ticketId] = signal
            return
        self._ticket_closed(signal)
        self._refresh_ui()

    def _ticket_closed(self, signal: TicketClosed) -> None:
        """docs/semantics.md §4.5 and docs/decisions.md D3: a reason fires only its children; no
        reason fires only the children without one; an unmatched reason fires nothing."""
        self.enrollment.closedTicketIds.add(signal.ticketId)
        step_id = self.enrollment.tickets[signal.ticketId]
        reason = signal.closedForReason or None
        parent = self._synthetic_parent(step_id)
        if self._patched(PATCH_LEDGER_FIELDS):
            self._record_foreground_close(step_id, signal)
        for event_type in fired_by(Fires.TICKET_CLOSED):
            refs = [
                ref
                for ref in self._plan.children_of(step_id, event_type)
                if close_reason(self._plan.event_of(ref)) == reason
            ]
            for ref, label in self._choose(refs):
                self._create(
                    ref.stepId, ref.eventIndex, parent.journeyContext, parent=parent, ab_label=label
                )

    def _record_foreground_close(self, step_id: str, signal: TicketClosed) -> None:
        """docs/semantics.md §6.1, §8.3: a ticket closed in the foreground is recorded as an
        isNOP action of the ticket's step (finished, nothing executed). Its id derives from the
        ticket, so it takes nothing from workflow.random (later ids stay as they were)."""
        reason = f" ({signal.closedForReason})" if signal.closedForReason else ""
        nop = ActionState(
            id=hashlib.sha256(f"nop:{signal.ticketId}".encode()).hexdigest()[:24],
            stepId=step_id,
            eventIndex=0,
            createdAt=epoch_ms(workflow.now()),
            processAfter=epoch_ms(workflow.now()),
            journeyContext=self._synthetic_parent(step_id).journeyContext,
            enduserId=self.enrollment.stepEndusers.get(step_id),
        )
        self._write(
            nop,
            "finished",
            is_nop=True,
            detail=f"ticket {signal.ticketId} closed in the foreground{reason}",
        )

    @workflow.signal
    async def trigger_fired(self, signal: TriggerFired) -> None:
        """docs/semantics.md §9.6: release parked waitForTrigger actions of this trigger (none:
        nothing)."""
        await self._when_started(self._on_trigger_fired, signal)

    def _on_trigger_fired(self, signal: TriggerFired) -> None:
        for action in self.enrollment.actions.values():
            event = self._plan.steps[action.stepId].events[action.eventIndex]
            if action.parked and trigger_id(event) == signal.triggerId:
                action.parked = False
                action.processAfter = epoch_ms(workflow.now())
                action.journeyContext.update(signal.journeyContext.model_dump(exclude_none=True))
        self._refresh_ui()

    @workflow.signal
    async def step_outcome(self, signal: StepOutcome) -> None:
        await self._when_started(self._on_step_outcome, signal)

    def _on_step_outcome(self, signal: StepOutcome) -> None:
        step_id = self._step_id(signal.automationStepId)
        if step_id is None:
            return
        if step_id not in self.enrollment.awaitingOutcome:
            # The provider answered before the step's activity returned: keep the outcome for
            # when the step finishes (docs/handlers.md §3). Earlier runs dropped it.
            if self._step_pending(step_id) and self._patched(PATCH_EARLY_OUTCOMES):
                self.enrollment.earlyOutcomes[step_id] = signal.outcome
            return
        self.enrollment.awaitingOutcome.remove(step_id)
        for event_type in fired_by(Fires.OUTCOME_SIGNAL):
            self._route_outcome(
                step_id, event_type, signal.outcome, self._synthetic_parent(step_id).journeyContext
            )

    @workflow.signal
    async def incoming_message(self, signal: IncomingMessage) -> None:
        """docs/semantics.md §3.7: an enduser's message removes them when the journey says
        `Remove`."""
        await self._when_started(self._on_incoming_message, signal)

    def _on_incoming_message(self, signal: IncomingMessage) -> None:
        if self._plan.journey.onIncomingEnduserCommunication == "Remove":
            if self.remove_request is None:
                self.remove_request = RemoveRequest(
                    cancelReason=CancelReason.INCOMING_COMMUNICATION
                )

    @workflow.signal
    async def pause(self, request: PauseRequest) -> None:
        """docs/decisions.md D28: hold due steps until `resume`; events are still applied."""
        await self._when_started(self._on_pause, request)

    def _on_pause(self, request: PauseRequest) -> None:
        if not self._patched(PATCH_PAUSE_RESUME):
            return  # delivered to a run recorded before pausing existed: it never paused
        if self.enrollment.paused is not None:
            return  # already paused: a repeated pause changes nothing
        self.enrollment.paused = PauseState(at=workflow.now().isoformat(), by=request.by)
        self.projection.show_paused(True)
        by = f" by {request.by}" if request.by else ""
        for action in list(self.enrollment.actions.values()):
            self._write(action, "active", detail=f"paused{by}")
        self._refresh_ui()

    @workflow.signal
    async def resume(self, request: ResumeRequest) -> None:
        """docs/decisions.md D28: held steps run, or are skipped when overdue and the journey
        says `onResume: skipOverdue`."""
        await self._when_started(self._on_resume, request)

    def _on_resume(self, request: ResumeRequest) -> None:
        if not self._patched(PATCH_PAUSE_RESUME):
            return
        if self.enrollment.paused is None:
            return  # not paused: a repeated resume changes nothing
        self.enrollment.paused = None
        self.projection.show_paused(False)
        by = f" by {request.by}" if request.by else ""
        for action in list(self.enrollment.actions.values()):
            self._write(action, "active", detail=f"resumed{by}")
        self._refresh_ui()

    @workflow.signal
    async def migrate(self, request: MigrateRequest) -> None:
        """docs/decisions.md D29: move to another version at the next safe point."""
        await self._when_started(self._on_migrate, request)

    def _on_migrate(self, request: MigrateRequest) -> None:
        if not self._patched(PATCH_MIGRATE_VERSION):
            return  # delivered to a run recorded before migrations existed
        seen = {m.migrationId for m in self.enrollment.migrations}
        if request.migrationId in seen or self.migrate_request is not None:
            return  # a resumed migration already applied here, or one under way
        if request.toVersion == self.inp.planVersion:
            self._note_migration(request, "migrated", "already on this version")
            return
        if self.remove_request is None and self.restart_request is None:
            self.migrate_request = request

    @workflow.signal
    def remove(self, request: RemoveRequest) -> None:
        if self.remove_request is None:
            self.remove_request = request

    @workflow.signal
    def restart(self, request: RestartRequest) -> None:
        """Enroll again while enrolled (docs/semantics.md §3.3): ignored by a run that is only
        starting, which starts the journey anyway (signal-with-start delivers it to fresh
        runs too), and by a run whose journey (re)started after the request was made
        (docs/decisions.md D15): concurrent enrollments of one patient restart it once."""
        if not self.started or self.restart_request is not None or self.remove_request is not None:
            return
        runs = self.enrollment.journeyRunIds
        if request.seenRunId is not None and runs and request.seenRunId not in runs:
            return  # the caller saw a run from before the journey's last (re)start: satisfied
        self.restart_request = request

    @workflow.query
    def status(self) -> EnrollmentStatus:
        return EnrollmentStatus(
            journeyId=self.inp.journeyId,
            planVersion=self.inp.planVersion,
            enduserId=self.inp.enduserId,
            state=self.enrollment.state,
            pending=pending_views(self._plan, self.enrollment) if self._plan_ready else [],
            waitingFor=self._listening() if self._plan_ready else [],
            history=self.enrollment.history[-HISTORY_KEPT:],
            removed=self.remove_request is not None,
            ignored=list(self.enrollment.ignored),
            paused=self.enrollment.paused,
            migrations=list(self.enrollment.migrations),
        )

    @property
    def _plan_ready(self) -> bool:
        return self.plan is not None

    def _step_id(self, tellescope_step_id: str) -> str | None:
        if not self._plan_ready:
            return None
        return self._plan.step_id(tellescope_step_id)

    # ------------------------------------------------------------------------------------------
    # cancellation, removal, restart

    def _cancel(self, action: ActionState, reason: CancelReason, cancelled_by: str | None) -> None:
        """Only actions still waiting are cancelled (docs/semantics.md §6.2: once processing, it
        completes)."""
        if (
            action.id in self.cancelled
            or action.id not in self.enrollment.actions
            or action.id in self.performing
        ):
            return
        self.cancelled[action.id] = int(reason)
        self._finish(
            action,
            "cancelled",
            cancel_reason=int(reason),
            cancelled_by=cancelled_by,
            detail=reason.label,
        )

    async def _wind_down(self, reason: CancelReason, cancelled_by: str | None) -> None:
        """Cancel everything waiting (no timer left behind), let side effects under way finish
        (their children are not created), then write the ledger."""
        self.winding_down = True
        self.draining = True
        for action in list(self.enrollment.actions.values()):
            self._cancel(action, reason, cancelled_by)
        await workflow.wait_condition(lambda: not self.tasks)

    # ------------------------------------------------------------------------------------------
    # state and outputs (workflows/projection.py reports them)

    def _set_state(self, state: str) -> None:
        self.enrollment.state = state
        self.projection.show_state(state)

    async def _set_membership(self, state: str | None, *, joining: bool = False) -> None:
        update = JourneyStateUpdate(
            enduserId=self.inp.enduserId, journeyId=self.inp.tellescopeJourneyId, state=state
        )
        summary = "leave journey" if state is None else "join journey"
        if self.compact and joining:
            self.projection.join(update)  # written by the next ledger write, before any step
        elif self.compact:
            # After the join is written (the ledger writer runs one batch at a time).
            await workflow.wait_condition(lambda: self.projection.joined)
            await self._local_activity(
                "set_journey_state", update, result_type=None, summary=summary
            )
        elif self.lean:
            await self._local_activity(
                "set_journey_state", update, result_type=None, summary=summary
            )
        else:
            await self._activity("set_journey_state", update, result_type=None, summary=summary)
        if state is not None:
            self._set_state(state)

    def _finish(
        self,
        action: ActionState,
        status: ActionStatus,
        *,
        skipped: str | None = None,
        error: str | None = None,
        error_class: str | None = None,
        cancel_reason: int | None = None,
        cancelled_by: str | None = None,
        detail: str = "",
    ) -> None:
        self._write(
            action,
            status,
            skipped=skipped,
            error=error,
            error_class=error_class,
            cancel_reason=cancel_reason,
            cancelled_by=cancelled_by,
            detail=detail,
        )
        self.enrollment.actions.pop(action.id, None)
        self.enrollment.counts["error" if status == "error" else status] += 1
        if status == "error":
            self.enrollment.failedSteps.add(action.stepId)
        self._refresh_ui()

    def _write(self, action: ActionState, status: ActionStatus, **details: Any) -> None:
        if status == "active" and action.id in self.cancelled:
            return
        self.projection.record(self._plan, self.enrollment, action, status, **details)

    def _refresh_ui(self) -> None:
        if self._plan_ready:
            self.projection.refresh(self._plan, self.enrollment, self._listening())

    # ------------------------------------------------------------------------------------------
    # continue-as-new

    def _restore(self, enrollment: EnrollmentState) -> None:
        """Take over the previous run's state and relaunch its pending actions, in order."""
        self.enrollment = enrollment
        if enrollment.journeyRunIds:  # the same journey goes on in this run
            enrollment.journeyRunIds.append(workflow.info().run_id)
        note = enrollment.migratedBy
        if note is not None:  # the first run on a migration's target version (D29)
            enrollment.migratedBy = None
            for action in enrollment.actions.values():
                move = note.moves.get(action.id, action.stepId)
                detail = f"migrated from {note.fromVersion} ({note.migrationId}): {move}"
                self._write(action, "active", detail=detail)
        for action in enrollment.actions.values():
            self._launch(action)

    def _result(self, outcome: Literal["completed", "removed"]) -> EnrollmentResult:
        return EnrollmentResult(
            outcome=outcome,
            state=self.enrollment.state,
            finished=self.enrollment.counts["finished"],
            cancelled=self.enrollment.counts["cancelled"],
            errors=self.enrollment.counts["error"],
        )


__all__ = ["JourneyWorkflow", "enrollment_workflow_id"]
