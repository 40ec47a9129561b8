"""Run one journey for one simulated patient on the time-skipping test server, with the real
JourneyWorkflow and the recording stand-in for Tellescope, feeding scripted events at virtual
times; return a timeline of what would happen, when, and why."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from compiler.compile import CompileResult
from models.automated_action import CancelReason, JourneyContext
from models.runtime import (
    EnrollmentInput,
    FormSubmitted,
    IncomingMessage,
    RemoveRequest,
    StepOutcome,
    TicketClosed,
    TriggerFired,
)
from rules.dates import from_epoch_ms
from settings import action_handler_references
from simulate.recorder import RecordingTellescope
from simulate.script import Script, ScriptEvent, parse_when
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.message_log import MessageLog
from store.plans import PlanStore
from workflows import starter
from workflows.journey import JourneyWorkflow

DEFAULT_DURATION = timedelta(days=60)
_CLOSING_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
}


class SimulationError(ValueError):
    """A simulation that cannot run as asked (start in the past, unknown journey, ...)."""


@dataclass
class TimelineEntry:
    at: datetime
    day: str  # "day 2 14:00" relative to the start, organisation zone
    step: str  # the step id, or "event" for a scripted event
    action: str  # action type, or the event kind
    outcome: str  # ran | skipped | cancelled | error | pending | event
    detail: str  # what (message template, ticket title, ...)
    why: str  # conditions, A/B variant, office hours, cancel reason, error text
    message: str = ""  # a message's rendered text, when its template is known

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass
class SimulationResult:
    journeyId: str
    version: str
    zone: str
    start: datetime
    end: datetime
    timeline: list[TimelineEntry]
    state: str | None
    waitingFor: list[str]
    outcome: str  # completed | removed | waiting


async def simulate(
    compiled: CompileResult,
    journey_id: str,
    enduser: dict[str, Any],
    script: Script,
    *,
    start: datetime | None = None,
    until: datetime | None = None,
    templates: dict[str, str] | None = None,
) -> SimulationResult:
    """Run the journey from `start` (default: now) until `until` (default: 60 days later) or
    until it ends, whichever is first. `templates` (id -> text) lets the timeline carry the
    rendered text of the messages sent."""
    from devstack.temporal import start_time_skipping

    plan = next((p for p in compiled.plans if p.journeyId == journey_id), None)
    if plan is None:
        raise SimulationError(f'no journey "{journey_id}" among the compiled files')
    env = await start_time_skipping()
    try:
        with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(8) as executor:
            run = _Run(env, Path(folder), compiled, plan, enduser, executor)
            run.tellescope.templates.update(templates or {})
            return await run.execute(script, start, until)
    finally:
        await env.shutdown()


class _Run:
    def __init__(self, env, folder: Path, compiled, plan, enduser, executor) -> None:
        self.env, self.client, self.plan = env, env.client, plan
        self.zone = plan.organization.timezone
        engine = get_engine(f"sqlite:///{folder}/simulation.db")
        create_tables(engine)
        self.plans, self.ledger = PlanStore(engine), Ledger(engine)
        for each in compiled.plans:
            self.plans.save(each)
        self.tellescope = RecordingTellescope(
            enduser={"id": "simulated-enduser", **enduser},
            enforce_sending_rules=True,
            message_log=MessageLog(engine),
        )
        self.task_queue = f"simulate-{uuid.uuid4()}"
        self.executor = executor
        self.events: list[TimelineEntry] = []
        self.submitted: set[str] = set()

    def _worker(self) -> Worker:
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[JourneyWorkflow],
            activities=[
                *self.tellescope.activities(),
                *engine_activities(
                    self.client,
                    self.plans,
                    self.ledger,
                    self.task_queue,
                    join_journey=self.tellescope.set_journey_state,
                ),
            ],
            activity_executor=self.executor,
            # the first step's activity carries the journey's join (docs/decisions.md D41)
            interceptors=[JoinFirst(self.ledger, self.tellescope.set_journey_state)],
        )

    async def execute(self, script: Script, start: datetime | None, until: datetime | None):
        now = await self.env.get_current_time()
        start = start or script.start or now
        if start.tzinfo is None:
            raise SimulationError("--start needs a UTC offset, e.g. 2027-01-05T10:00:00-05:00")
        if start < now - timedelta(minutes=1):
            raise SimulationError(
                f"start {start.isoformat()} is in the past: the simulator's clock starts now"
                f" ({now.isoformat()}); simulate from a future date"
            )
        if until is None:
            until = (
                parse_when(script.until, start, self.zone)
                if script.until
                else start + DEFAULT_DURATION
            )
        unknown = sorted(set(script.failing) - set(self.plan.steps))
        if unknown:
            raise SimulationError(
                f"failing: no step {', '.join(unknown)} in journey {self.plan.journeyId}"
            )
        self.tellescope.failing_steps.update(script.failing)
        self._handle_ai_steps(script)
        await self._advance_to(start)
        row = self.plans.current(self.plan.journeyId)
        async with self._worker():
            handle = await starter.enroll(
                self.client,
                EnrollmentInput(
                    journeyId=self.plan.journeyId,
                    planVersion=row.version,
                    enduserId=self.tellescope.enduser["id"],
                    tellescopeJourneyId=row.tellescope_journey_id,
                    source="simulation",
                ),
                task_queue=self.task_queue,
                plan=self.plans.enrollment_plan(self.plan.journeyId, row.version),
            )
            timed = sorted(
                ((parse_when(e.at, start, self.zone), n, e) for n, e in enumerate(script.events)),
                key=lambda item: (item[0], item[1]),
            )
            for at, _, event in timed:
                if at > until:
                    break
                await self._advance_to(at)
                if await self._closed(handle):
                    self._note(at, start, event, "ignored: the enrollment had ended")
                    continue
                await self._deliver(handle, event, at, start)
                await self._settle()
            if not await self._closed(handle):
                await self._advance_to(until)
                await self._settle()
            status = await handle.query(JourneyWorkflow.status)
            outcome = "waiting"
            if await self._closed(handle):
                outcome = (await handle.result()).outcome
            else:
                await handle.terminate("simulation over")
        end = max(until, await self.env.get_current_time()) if outcome == "waiting" else until
        return SimulationResult(
            journeyId=self.plan.journeyId,
            version=self.plan.version,
            zone=self.zone,
            start=start,
            end=end,
            timeline=self._timeline(start, status),
            state=status.state,
            waitingFor=status.waitingFor,
            outcome=outcome,
        )

    def _handle_ai_steps(self, script: Script) -> None:
        """AI and telephony steps run as with a handler (docs/handlers.md) when their type has
        one configured, or when the script decides or ends them."""
        scripted = dict(script.decisions)
        scripted.update({e.outcome.step: e.outcome.outcome for e in script.events if e.outcome})
        unknown = sorted(set(scripted) - set(self.plan.steps))
        if unknown:
            raise SimulationError(
                f"decisions / outcome: no step {', '.join(unknown)} in journey"
                f" {self.plan.journeyId}"
            )
        self.tellescope.configured.update(action_handler_references())
        self.tellescope.configured.update(self.plan.steps[s].action.type for s in scripted)
        self.tellescope.decisions.update(script.decisions)

    async def _advance_to(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)

    async def _settle(self) -> None:
        """Let the worker finish what the last event started (no virtual time passes)."""
        with self.env.auto_time_skipping_disabled():
            for _ in range(10):
                await asyncio.sleep(0.05)

    async def _closed(self, handle) -> bool:
        """Whether the enrollment's latest run has ended (read from history: describe() cannot
        decode an unset datetime search attribute on the time-skipping server)."""
        latest = self.client.get_workflow_handle(handle.id)
        history = await latest.fetch_history()
        return history.events[-1].event_type in _CLOSING_EVENTS

    def _day(self, at: datetime, start: datetime) -> str:
        local, first = at.astimezone(ZoneInfo(self.zone)), start.astimezone(ZoneInfo(self.zone))
        return f"day {(local.date() - first.date()).days} {local:%H:%M}"

    def _note(self, at: datetime, start: datetime, event: ScriptEvent, detail: str) -> None:
        self.events.append(
            TimelineEntry(at, self._day(at, start), "event", event.kind, "event", detail, "")
        )

    async def _deliver(self, handle, event: ScriptEvent, at: datetime, start: datetime) -> None:
        step_ids = self.plan.tellescopeStepIds
        if event.form_submitted is not None:
            step = event.form_submitted.step
            forms = [
                f for e in self.tellescope.effects if e.step == step for f in e.formResponseIds
            ]
            if event.form_submitted.form is not None:
                chosen = forms[event.form_submitted.form : event.form_submitted.form + 1]
            else:
                chosen = [f for f in forms if f not in self.submitted][:1]
            if not chosen or step not in step_ids:
                self._note(at, start, event, f"ignored: step {step} has sent no such form")
                return
            self.submitted.add(chosen[0])
            self._note(at, start, event, f"form from {step} submitted")
            await handle.signal(
                JourneyWorkflow.form_submitted,
                FormSubmitted(formResponseId=chosen[0], automationStepId=step_ids[step]),
            )
        elif event.ticket_closed is not None:
            step = event.ticket_closed.step
            tickets = [e.ticketId for e in self.tellescope.effects if e.step == step and e.ticketId]
            if not tickets:
                self._note(at, start, event, f"ignored: step {step} has opened no ticket")
                return
            reason = event.ticket_closed.reason
            self._note(
                at,
                start,
                event,
                f"ticket from {step} closed" + (f': "{reason}"' if reason else " without a reason"),
            )
            await handle.signal(
                JourneyWorkflow.ticket_closed,
                TicketClosed(
                    ticketId=tickets[-1],
                    automationStepId=step_ids.get(step),
                    closedForReason=reason,
                ),
            )
        elif event.incoming_message is not None:
            self._note(at, start, event, f"the patient writes ({event.incoming_message})")
            await handle.signal(
                JourneyWorkflow.incoming_message, IncomingMessage(channel=event.incoming_message)
            )
        elif event.trigger is not None:
            self._note(at, start, event, f"trigger {event.trigger} fires")
            await handle.signal(
                JourneyWorkflow.trigger_fired,
                TriggerFired(triggerId=event.trigger, journeyContext=JourneyContext()),
            )
        elif event.enduser is not None:
            self.tellescope.enduser.update(event.enduser)
            self._note(at, start, event, f"patient record: {event.enduser}")
        elif event.outcome is not None:
            step = event.outcome.step
            self._note(at, start, event, f"{step} ended: {event.outcome.outcome}")
            await handle.signal(
                JourneyWorkflow.step_outcome,
                StepOutcome(automationStepId=step_ids[step], outcome=event.outcome.outcome),
            )
        elif event.remove:
            self._note(at, start, event, "removed from the journey")
            await handle.signal(
                JourneyWorkflow.remove,
                RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_USER)),
            )

    def _timeline(self, start: datetime, status) -> list[TimelineEntry]:
        entries = list(self.events)
        effects = {e.automatedActionId: e for e in self.tellescope.effects}
        deferrals: dict[str, str] = {}
        holds: dict[str, str] = {}  # held by the message policy (docs/message-policy.md)
        for h in status.history:
            if h.status == "active" and h.detail:
                (holds if h.detail.startswith("held until") else deferrals)[h.actionId] = h.detail
        for row in self.ledger.list(limit=100_000):
            if row.journey_id != self.plan.journeyId or row.is_nop:
                continue  # an isNOP row is the foreground ticket close: already an event
            step = row.automation_step_id
            action = row.action.get("type", "")
            due = from_epoch_ms(row.process_after)
            why = []
            if row.ab_test_label:
                why.append(f"A/B variant {row.ab_test_label}")
            if row.did_delay_for_out_of_office:
                why.append(deferrals.get(row.id, "deferred to office hours"))
            if row.id in holds:
                why.append(holds[row.id])
            effect = effects.get(row.id)
            if row.status == "finished" and row.skipped:
                outcome, detail = "skipped", ""
                why.append(
                    "enduser conditions not met"
                    if row.skipped == "conditions"
                    else (row.detail or row.skipped)
                )
                at = row.updated_at.replace(tzinfo=UTC)
            elif row.status == "finished":
                outcome = "ran"
                detail = effect.detail if effect else row.detail
                at = datetime.fromisoformat(effect.at) if effect else due
            elif row.status == "cancelled":
                outcome, detail = "cancelled", ""
                why.append(self._cancel_why(row))
                at = row.updated_at.replace(tzinfo=UTC)
            elif row.status == "error":
                outcome, detail = "error", ""
                why.append(row.error_message or "")
                at = row.updated_at.replace(tzinfo=UTC)
            else:
                outcome, detail = "pending", ""
                at = due
                why.append(
                    f"due {self._day(due, start)}"
                    if row.event.get("type") != "waitForTrigger"
                    else "waits for its trigger"
                )
            message = effect.message if effect and outcome == "ran" else ""
            entries.append(
                TimelineEntry(
                    at, self._day(at, start), step, action, outcome, detail, "; ".join(why), message
                )
            )
        order = {"event": 0}
        return sorted(entries, key=lambda e: (e.at, order.get(e.outcome, 1)))

    @staticmethod
    def _cancel_why(row) -> str:
        if row.cancel_reason is None:
            return "cancelled"
        reason = CancelReason(row.cancel_reason)
        if reason is CancelReason.FORM_SUBMISSION and row.cancel_conditions:
            steps = sorted({c["stepId"] for c in row.cancel_conditions})
            return f"{reason.label}: form from {', '.join(steps)} submitted"
        return reason.label


def render_text(result: SimulationResult) -> str:
    zone = ZoneInfo(result.zone)
    lines = [
        f"Journey {result.journeyId} (version {result.version}), times in {result.zone},"
        f" from {result.start.astimezone(zone):%a %Y-%m-%d %H:%M}",
        "",
    ]
    for entry in result.timeline:
        when = entry.at.astimezone(zone)
        detail = " - ".join(part for part in (entry.detail, entry.why) if part)
        lines.append(
            f"{when:%a %Y-%m-%d %H:%M}  {entry.day:<13} {entry.step:<24} {entry.action:<24}"
            f" {entry.outcome:<9} {detail}".rstrip()
        )
    lines.append("")
    ending = {"completed": "the journey completed", "removed": "the patient was removed"}
    lines.append(
        f"End: {ending.get(result.outcome, 'still enrolled')}; state {result.state or '(none)'}"
        + (f"; waiting for {', '.join(result.waitingFor)}" if result.waitingFor else "")
    )
    return "\n".join(lines) + "\n"


def render_json(result: SimulationResult) -> dict[str, Any]:
    return {
        "journeyId": result.journeyId,
        "version": result.version,
        "zone": result.zone,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "outcome": result.outcome,
        "state": result.state,
        "waitingFor": result.waitingFor,
        "timeline": [entry.to_json() for entry in result.timeline],
    }
