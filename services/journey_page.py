"""What the journey pages show, from the plan and the AutomatedAction ledger (docs/decisions.md
D24): patients per step, the patients waiting at each step with when they are due and what they
wait for, and enrollments per state for the index. The HTML lives in services/journey_html.py;
the live JSON is `live()`.

Enrollments per plan version (what a migration would move, docs/decisions.md D29) and which
patients are paused (docs/decisions.md D28) come from the same rows: an active patient counts
once, in the version of their newest row; a patient is paused when the newest pause or resume
note on their pending rows (`detail`, written by the workflow) is a pause.

Patients, not actions: a patient restarted in a journey has several rows at one step (the
cancelled one of the first run, the one of the second), so each (patient, step) counts once, in
the state of its newest row. GET /v1/automated-actions lists the same rows, so the counts can be
recomputed from it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from compiler.graph import human_delay
from models.automated_action import CancelReason
from models.plan import JourneyPlan
from store.ledger import Ledger, StepRow

PATIENT_STATES = ("waiting", "done", "cancelled", "failed")
FROM_LEDGER = {"active": "waiting", "finished": "done", "cancelled": "cancelled", "error": "failed"}
ENROLLMENT_STATES = ("active", "finished", "removed", "failed")
# the cancel reasons that end an enrollment (a restart or a cancel condition does not)
REMOVALS = {
    CancelReason.REMOVED_BY_USER,
    CancelReason.INCOMING_COMMUNICATION,
    CancelReason.REMOVED_BY_AUTOMATION,
    CancelReason.JOURNEY_DELETED,
}
WAITING_SHOWN = 50  # patients listed per step; the count says how many there are
ERROR_WINDOW = timedelta(days=1)


@dataclass
class WaitingPatient:
    enduserId: str
    dueAt: str | None  # ISO 8601 in the organisation's zone; None: no due time (a trigger)
    due: str  # the same for people
    waitsFor: str
    href: str  # the enrollment page
    paused: bool  # the enrollment is paused (its pending rows' newest note, paused_endusers)


def newest_per_patient_step(rows: list[StepRow]) -> dict[tuple[str, str], StepRow]:
    """(enduser, step) -> its newest row; `rows` come oldest first."""
    newest: dict[tuple[str, str], StepRow] = {}
    for row in rows:
        newest[(row.enduser_id, row.step_id)] = row
    return newest


def step_counts(plan: JourneyPlan, rows: list[StepRow]) -> dict[str, dict[str, int]]:
    counts = {step_id: dict.fromkeys(PATIENT_STATES, 0) for step_id in plan.steps}
    for (_enduser, step_id), row in newest_per_patient_step(rows).items():
        state = FROM_LEDGER.get(row.status)
        if step_id in counts and state is not None:
            counts[step_id][state] += 1
    return counts


def waits_for(event: dict[str, Any]) -> str:
    """What a waiting action waits for, from the event that created it: a timer, a timer that
    a form submission cancels, a ticket, a trigger (docs/semantics.md §4.3)."""
    kind = event.get("type", "")
    info = event.get("info") or {}
    delay = info.get("delayInMS") or 0
    timer = f"timer ({human_delay(delay)})" if delay else "timer"
    if kind == "waitForTrigger":
        return f"trigger {info.get('triggerId', '')}".strip()
    if kind == "formUnsubmitted":
        return f"{timer}, unless the form is submitted"
    if kind == "ticketCompleted":
        return "ticket closed"
    if kind == "formResponse":
        return "form response"
    if info.get("cancelConditions"):
        return f"{timer}, unless a form is submitted"
    return timer


def _due(row: StepRow, zone: ZoneInfo) -> tuple[str | None, str]:
    if row.event.get("type") == "waitForTrigger":
        return None, "when the trigger fires"
    at = datetime.fromtimestamp(row.process_after / 1000, UTC).astimezone(zone)
    return at.isoformat(timespec="minutes"), at.strftime("%a %d %b %Y %H:%M %Z")


def enrollment_href(journey_id: str, enduser_id: str) -> str:
    return f"/journeys/{quote(journey_id, safe='')}/enrollments/{quote(enduser_id, safe='')}"


def _newest(rows: list[StepRow]) -> StepRow:
    return max(rows, key=lambda r: (r.updated_at, r.created_at, r.id))


def paused_endusers(rows: list[StepRow]) -> set[str]:
    """Patients whose enrollment is paused, from the ledger: pausing writes `paused by ...` on
    every pending row and resuming `resumed by ...` (workflows/journey.py), so the newest such
    note on a patient's still-active rows says which. A row created while paused (an event's
    step) carries no note and does not decide. Lags the workflow by one ledger write; the
    `status` query and the `EnrollmentStatus` search attribute are the workflow's own word."""
    noted: dict[str, list[StepRow]] = defaultdict(list)
    for row in newest_per_patient_step(rows).values():
        if row.status == "active" and row.detail.startswith(("paused", "resumed")):
            noted[row.enduser_id].append(row)
    return {
        enduser_id
        for enduser_id, patient_rows in noted.items()
        if _newest(patient_rows).detail.startswith("paused")
    }


def waiting(plan: JourneyPlan, rows: list[StepRow]) -> dict[str, list[WaitingPatient]]:
    zone = ZoneInfo(plan.organization.timezone)
    paused = paused_endusers(rows)
    found: dict[str, list[tuple[int, WaitingPatient]]] = defaultdict(list)
    for (enduser_id, step_id), row in newest_per_patient_step(rows).items():
        if row.status != "active" or step_id not in plan.steps:
            continue
        due_at, due = _due(row, zone)
        patient = WaitingPatient(
            enduser_id,
            due_at,
            due,
            waits_for(row.event),
            enrollment_href(plan.journeyId, enduser_id),
            enduser_id in paused,
        )
        order = row.process_after if due_at else 2**62  # triggers last
        found[step_id].append((order, patient))
    return {
        step_id: [p for _, p in sorted(pairs, key=lambda pair: (pair[0], pair[1].enduserId))]
        for step_id, pairs in found.items()
    }


def enrollment_states(rows: list[StepRow]) -> dict[str, int]:
    """Patients per enrollment state: active while any action waits; otherwise the newest change
    says it: a cancellation for a removal reason is `removed`, an error `failed`, else
    `finished`."""
    by_patient: dict[str, list[StepRow]] = defaultdict(list)
    for row in rows:
        by_patient[row.enduser_id].append(row)
    states: Counter[str] = Counter()
    for patient_rows in by_patient.values():
        newest = _newest(patient_rows)
        if any(r.status == "active" for r in patient_rows):
            states["active"] += 1
        elif newest.status == "cancelled" and newest.cancel_reason in REMOVALS:
            states["removed"] += 1
        elif newest.status == "error":
            states["failed"] += 1
        else:
            states["finished"] += 1
    return {state: states[state] for state in ENROLLMENT_STATES}


def versions(plan: JourneyPlan, rows: list[StepRow]) -> list[dict[str, Any]]:
    """Active patients per plan version, each once in the version of their newest row, and how
    many of them are paused: what a migration would move (docs/decisions.md D29). The current
    version comes first (listed even with nobody on it), then the others, most recently
    written first."""
    by_patient: dict[str, list[StepRow]] = defaultdict(list)
    for row in rows:
        by_patient[row.enduser_id].append(row)
    paused = paused_endusers(rows)
    active: Counter[str] = Counter()
    held: Counter[str] = Counter()
    last_written: dict[str, tuple[datetime, datetime, str]] = {}
    for row in rows:
        key = (row.updated_at, row.created_at, row.id)
        if row.journey_version not in last_written or key > last_written[row.journey_version]:
            last_written[row.journey_version] = key
    for enduser_id, patient_rows in by_patient.items():
        if not any(r.status == "active" for r in patient_rows):
            continue
        version = _newest(patient_rows).journey_version
        active[version] += 1
        held[version] += enduser_id in paused
    others = sorted(
        (v for v in active if v != plan.version), key=lambda v: last_written[v], reverse=True
    )
    return [
        {
            "version": version,
            "current": version == plan.version,
            "active": active[version],
            "paused": held[version],
        }
        for version in [plan.version, *others]
    ]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite: naive UTC


def errors_since(rows: list[StepRow], since: datetime) -> int:
    """Actions that ended in an error since `since` (the index's errors in the last day)."""
    return sum(1 for r in rows if r.status == "error" and _utc(r.updated_at) >= since)


def live(plan: JourneyPlan, ledger: Ledger, *, now: datetime | None = None) -> dict[str, Any]:
    """The page's live data (GET /journeys/{id}/live): what the page polls."""
    now = now or datetime.now(UTC)
    rows = ledger.step_rows(plan.journeyId)
    counts = step_counts(plan, rows)
    lists = waiting(plan, rows)
    paused = paused_endusers(rows)
    return {
        "journeyId": plan.journeyId,
        "version": plan.version,
        "timezone": plan.organization.timezone,
        "updatedAt": now.astimezone(ZoneInfo(plan.organization.timezone)).isoformat(
            timespec="seconds"
        ),
        "enrollments": enrollment_states(rows),
        "paused": len(paused),  # of the active enrollments
        "versions": versions(plan, rows),
        "errorsLastDay": errors_since(rows, now - ERROR_WINDOW),
        "steps": {
            step_id: {
                "counts": counts[step_id],
                # of the waiting patients, those whose enrollment is paused
                "paused": sum(p.paused for p in lists.get(step_id, [])),
                "waiting": [asdict(p) for p in lists.get(step_id, [])[:WAITING_SHOWN]],
            }
            for step_id in plan.steps
        },
    }


@dataclass
class JourneySummary:
    journeyId: str
    title: str
    version: str
    enrollments: dict[str, int]
    errorsLastDay: int
    href: str


def index(
    plans: list[JourneyPlan], ledger: Ledger, *, now: datetime | None = None
) -> list[JourneySummary]:
    """Every deployed journey (its current version) with its enrollments per state."""
    now = now or datetime.now(UTC)
    rows_by_journey: dict[str, list[StepRow]] = defaultdict(list)
    for row in ledger.step_rows():
        rows_by_journey[row.journey_id].append(row)
    summaries = []
    for plan in sorted(plans, key=lambda p: p.journeyId):
        rows = rows_by_journey.get(plan.journeyId, [])
        summaries.append(
            JourneySummary(
                plan.journeyId,
                plan.journey.title,
                plan.version,
                enrollment_states(rows),
                errors_since(rows, now - ERROR_WINDOW),
                f"/journeys/{quote(plan.journeyId, safe='')}",
            )
        )
    return summaries
