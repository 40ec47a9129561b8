"""One patient's timeline in one journey, and why (docs/operator-view.md §3): no HTTP, shared by
`GET /v1/journeys/{id}/enrollments/{enduserId}/timeline`, the patient page and `journeys why`.

Sources, each for what only it knows:

- the ledger (every run of the enrollment): each AutomatedAction planned (when, due when), its
  A/B variant, deferred for office hours (until when), and how it ended: done (with the
  activity's detail, e.g. what was sent), skipped (conditions, journey state), cancelled (the
  cancel reason and by whom) or failed (the error);
- the Temporal history of the latest run: what the enduser's fields were when the workflow read
  them to evaluate a step's enduserConditions (the activity results; the workflow records only
  met / not met), and when the office-hours deferral's timer started (timer summaries
  `step: actionType due ...`);
- Temporal's description of the run: enrolled when, closed when and how (`services.enrollment_
  history`);
- the trigger decisions store (docs/operator-view.md §2): every trigger decision about the
  enduser, fired or not, with the stage, reason and values seen.

Temporal unreachable: the ledger and the decisions are still shown, with a note saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError

from models.automated_action import CancelReason
from rules.conditions import condition_values
from services.enrollment_history import EnrollmentRecord, enrollment_of
from services.errors import NotFound
from store.ledger import Ledger
from store.plans import PlanStore
from store.tables import AutomatedActionRow, TriggerDecisionRow
from store.trigger_decisions import TriggerDecisions

log = logging.getLogger("journeys.services.timeline")

EntryKind = Literal[
    "enrolled",
    "planned",
    "ab-variant",
    "deferred",
    "conditions",
    "waiting",
    "done",
    "skipped",
    "cancelled",
    "failed",
    "trigger",
    "closed",
]
LEDGER_ROWS_MAX = 1000  # actions of one enrollment shown (every run)
DECISIONS_MAX = 200  # trigger decisions of the enduser shown (the newest)
# Activities whose result is the enduser record a step's conditions were evaluated against.
ENDUSER_READS = {"get_enduser": None, "get_condition_inputs": "enduser"}


class TimelineEntry(BaseModel):
    at: datetime
    kind: EntryKind
    text: str
    stepId: str | None = None
    actionType: str | None = None
    actionId: str | None = None
    dueAt: datetime | None = None
    values: dict[str, Any] | None = Field(
        default=None, description="Enduser fields a condition read, as evaluated."
    )
    source: Literal["ledger", "history", "temporal", "decisions"]


class TriggerDecisionView(BaseModel):
    at: datetime
    triggerId: str
    title: str
    eventType: str
    eventId: str
    fired: bool
    stage: str | None = None
    reason: str = ""
    values: dict[str, Any] | None = None
    source: str = "event"
    firingWorkflowId: str | None = None


class Timeline(BaseModel):
    journeyId: str
    enduserId: str
    workflowId: str
    timezone: str  # the organisation's, for display
    enrollment: EnrollmentRecord | None = None
    entries: list[TimelineEntry] = Field(default_factory=list)
    triggerDecisions: list[TriggerDecisionView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive: they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def journey_timezone(plans: PlanStore, journey_id: str) -> str:
    versions = plans.versions(journey_id)
    if not versions:
        return "UTC"
    plan = plans.get(journey_id, versions[-1].version)
    return plan.organization.timezone or "UTC"


def decision_views(rows: Iterable[TriggerDecisionRow]) -> list[TriggerDecisionView]:
    return [
        TriggerDecisionView(
            at=utc(row.decided_at),
            triggerId=row.trigger_id,
            title=row.title,
            eventType=row.event_type,
            eventId=row.event_id,
            fired=row.fired,
            stage=row.stage,
            reason=row.reason,
            values=row.values_seen,
            source=row.source,
            firingWorkflowId=row.firing_workflow_id,
        )
        for row in rows
    ]


def decision_text(view: TriggerDecisionView) -> str:
    name = f'trigger "{view.title or view.triggerId}" on {view.eventType}'
    if view.fired:
        return f"{name}: fired"
    return f"{name}: not fired ({view.stage}: {view.reason})"


# --- the Temporal history ------------------------------------------------------------------------


class RunHistory:
    """What the latest run's history adds: enduser reads (time, record) and timers started
    (time, summary)."""

    def __init__(self) -> None:
        self.reads: list[tuple[datetime, dict[str, Any]]] = []
        self.timers: list[tuple[datetime, str]] = []

    def read_before(self, start: datetime, end: datetime) -> tuple[datetime, dict] | None:
        """The last enduser read in [start, end]: the one a step's conditions were evaluated on."""
        found = [(at, record) for at, record in self.reads if start <= at <= end]
        return found[-1] if found else None

    def timer(self, step_id: str, due: datetime) -> datetime | None:
        """When the timer for `step_id` due at `due` started (the deferral's moment)."""
        wanted = f"due {due.isoformat()}"
        for at, summary in self.timers:
            if summary.startswith(f"{step_id}: ") and summary.endswith(wanted):
                return at
        return None


async def read_history(client: Client, record: EnrollmentRecord) -> RunHistory:
    converter = client.data_converter.payload_converter
    found = RunHistory()
    scheduled: dict[int, str] = {}  # scheduled event id -> activity name
    handle = client.get_workflow_handle(record.workflowId, run_id=record.runId)
    history = await handle.fetch_history()

    def text(payload: Any) -> str:
        try:
            value = converter.from_payloads([payload])[0]
        except Exception:  # a summary we cannot decode is just not shown
            return ""
        return value if isinstance(value, str) else ""

    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            if name in ENDUSER_READS:
                scheduled[event.event_id] = name
        elif event.HasField("activity_task_completed_event_attributes"):
            attributes = event.activity_task_completed_event_attributes
            name = scheduled.get(attributes.scheduled_event_id)
            if name is None or not attributes.result.payloads:
                continue
            value = converter.from_payloads(list(attributes.result.payloads))[0]
            key = ENDUSER_READS[name]
            enduser = value.get(key) if key and isinstance(value, dict) else value
            if isinstance(enduser, dict):
                found.reads.append((at, enduser))
        elif event.HasField("timer_started_event_attributes"):
            if event.HasField("user_metadata") and event.user_metadata.HasField("summary"):
                found.timers.append((at, text(event.user_metadata.summary)))
    return found


# --- the ledger ----------------------------------------------------------------------------------


def action_entries(row: AutomatedActionRow, history: RunHistory | None) -> list[TimelineEntry]:
    step, action_type = row.automation_step_id, str((row.action or {}).get("type") or "")
    event_type = str((row.event or {}).get("type") or "")
    created, updated = utc(row.created_at), utc(row.updated_at)
    due = None if event_type == "waitForTrigger" else from_ms(row.process_after)
    common = {"stepId": step, "actionType": action_type, "actionId": row.id, "source": "ledger"}
    label = f"{step} ({action_type})"
    planned = f"{label} planned ({event_type})"
    entries = [TimelineEntry(at=created, kind="planned", text=planned, dueAt=due, **common)]
    if row.ab_test_label:
        text = f"{label}: A/B variant {row.ab_test_label}"
        entries.append(TimelineEntry(at=created, kind="ab-variant", text=text, **common))
    if row.did_delay_for_out_of_office and due is not None:
        at = (history.timer(step, due) if history else None) or created
        text = f"{label}: deferred for office hours until {due.isoformat()}"
        entries.append(TimelineEntry(at=at, kind="deferred", text=text, dueAt=due, **common))
    if row.enduser_conditions and row.status in ("finished", "error") and history is not None:
        read = history.read_before(created, updated)
        if read is not None:
            unmet = row.skipped == "conditions"
            text = f"{label}: enduser conditions {'not met' if unmet else 'met'}"
            entries.append(
                TimelineEntry(
                    at=read[0],
                    kind="conditions",
                    text=text,
                    values=condition_values(read[1], row.enduser_conditions),
                    **(common | {"source": "history"}),
                )
            )
    if row.status == "active":
        text = f"{label}: waiting" + (f" until {due.isoformat()}" if due else f" ({event_type})")
        entries.append(TimelineEntry(at=updated, kind="waiting", text=text, dueAt=due, **common))
    elif row.status == "finished" and row.skipped:
        text = f"{label}: skipped ({row.detail or row.skipped})"
        entries.append(TimelineEntry(at=updated, kind="skipped", text=text, **common))
    elif row.status == "finished":
        text = f"{label}: done" + (f" ({row.detail})" if row.detail else "")
        entries.append(TimelineEntry(at=updated, kind="done", text=text, **common))
    elif row.status == "cancelled":
        entries.append(TimelineEntry(at=updated, kind="cancelled", text=cancelled(row), **common))
    elif row.status == "error":
        text = f"{label}: failed ({row.error_message or row.detail or 'no message'})"
        entries.append(TimelineEntry(at=updated, kind="failed", text=text, **common))
    return entries


def cancelled(row: AutomatedActionRow) -> str:
    text = f"{row.automation_step_id} ({(row.action or {}).get('type')}): cancelled"
    if row.cancel_reason is not None:
        try:
            text += f" ({CancelReason(row.cancel_reason).label})"
        except ValueError:
            text += f" (cancel reason {row.cancel_reason})"
    if row.cancelled_by:
        text += f" by {row.cancelled_by}"
    return text


def closed_text(record: EnrollmentRecord) -> str:
    outcome = record.outcome
    text = f"enrollment {record.status}"
    if outcome is not None:
        if outcome.cancelReasonLabel:
            text += f" ({outcome.cancelReasonLabel}"
            text += f" by {outcome.cancelledBy})" if outcome.cancelledBy else ")"
        if outcome.failure:
            text += f": {outcome.failure}"
        if record.status in ("completed", "removed"):
            text += (
                f"; {outcome.finished} finished, {outcome.cancelled} cancelled,"
                f" {outcome.errors} failed"
            )
    return text


# --- the timeline --------------------------------------------------------------------------------


async def patient_timeline(
    client: Client | None,
    plans: PlanStore,
    ledger: Ledger,
    decisions: TriggerDecisions,
    journey_id: str,
    enduser_id: str,
    *,
    temporal_error: str | None = None,
) -> Timeline:
    """The ordered timeline of the enrollment (journey, enduser) plus every trigger decision
    about the enduser. NotFound when the journey was never deployed and has no ledger rows.
    `client` None: Temporal could not be reached (`temporal_error` says why)."""
    # The store is synchronous: its reads run off the event loop.
    rows, known, timezone, decided = await asyncio.gather(
        asyncio.to_thread(
            ledger.query,
            where={"journey_id": journey_id, "enduser_id": enduser_id},
            newest_first=False,
            limit=LEDGER_ROWS_MAX,
        ),
        asyncio.to_thread(plans.journey_ids),
        asyncio.to_thread(journey_timezone, plans, journey_id),
        asyncio.to_thread(decisions.of_enduser, enduser_id, limit=DECISIONS_MAX),
    )
    if not rows and journey_id not in known:
        raise NotFound(f'Could not find a journey "{journey_id}"', {"journeyId": journey_id})
    workflow_id = f"journey:{journey_id}:{enduser_id}"
    timeline = Timeline(
        journeyId=journey_id, enduserId=enduser_id, workflowId=workflow_id, timezone=timezone
    )
    history: RunHistory | None = None
    if client is None:
        timeline.notes.append(f"Temporal not reachable ({temporal_error}): ledger only")
    else:
        try:
            timeline.enrollment = await enrollment_of(client, ledger, journey_id, enduser_id)
            if timeline.enrollment is not None:
                history = await read_history(client, timeline.enrollment)
        except RPCError as error:
            log.warning("timeline of %s without Temporal: %s", workflow_id, error.message)
            timeline.notes.append(f"Temporal history not read ({error.message}): ledger only")
    if timeline.enrollment is None and client is not None and not timeline.notes:
        timeline.notes.append("never enrolled in this journey (no workflow run)")
    entries: list[TimelineEntry] = []
    record = timeline.enrollment
    if record is not None:
        entries.append(
            TimelineEntry(
                at=record.startedAt,
                kind="enrolled",
                text=f"enrolled (run {record.runId}, version {record.planVersion or '?'})",
                source="temporal",
            )
        )
        if record.closedAt is not None:
            entries.append(
                TimelineEntry(
                    at=record.closedAt, kind="closed", text=closed_text(record), source="temporal"
                )
            )
    for row in rows:
        entries.extend(action_entries(row, history))
    timeline.triggerDecisions = decision_views(decided)
    entries.extend(
        TimelineEntry(
            at=view.at,
            kind="trigger",
            text=decision_text(view),
            values=view.values,
            source="decisions",
        )
        for view in timeline.triggerDecisions
    )
    timeline.entries = ordered(entries)
    return timeline


ORDER: Sequence[str] = (
    "enrolled",
    "trigger",
    "planned",
    "ab-variant",
    "conditions",
    "deferred",
    "waiting",
    "done",
    "skipped",
    "cancelled",
    "failed",
    "closed",
)


def ordered(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """By time; at one instant, in the order things happen to an action."""
    return sorted(entries, key=lambda e: (e.at, ORDER.index(e.kind)))
