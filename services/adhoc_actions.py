"""AutomatedActions created directly through the API (docs/semantics.md §6.2, §12.4;
docs/decisions.md D22): `POST /v1/automated-action` stores the ledger row and starts
`AdHocActionWorkflow` (`automated-action:{id}`), which performs the action when `processAfter` is
due; cancelling one signals that workflow.

Idempotent by id: the workflow id is the action's, started with duplicates rejected, so a retried
create (same `id`, or the same `Idempotency-Key`, api.idempotency) never runs the action twice.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.automated_action import AutomatedAction, CancelReason, JourneyContext
from models.plan import JourneyPlan
from models.runtime import (
    AdHocActionInput,
    AdHocCancel,
    LedgerEntry,
    adhoc_workflow_id,
    standalone_refusal,
)
from services.automated_actions import journey_records, to_tellescope
from services.errors import Conflict, InvalidInput, NotFound
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore
from store.tables import AutomatedActionRow

ADHOC_VERSION = "adhoc"  # the ledger's journey_version of a directly created action
ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ID_FIELDS = ("enduserId", "journeyId", "automationStepId")
# How long a cancel waits for the workflow to write the cancelled row before answering.
CANCEL_WAIT_SECONDS = 5.0


def is_adhoc(row: AutomatedActionRow) -> bool:
    return row.workflow_id.startswith(adhoc_workflow_id(""))


def _new_id() -> str:
    return secrets.token_hex(12)  # ObjectId-shaped, as Tellescope's ids


def _check(record: AutomatedAction, path: str) -> None:
    """What the schema cannot say: ids the ledger can hold, an action the engine runs alone."""
    prefix = f"{path}." if path else ""
    if record.id is not None and not ID.match(record.id):
        raise InvalidInput(
            f"Error parsing field {prefix}id: 1 to 32 letters, digits, - or _", path=f"{prefix}id"
        )
    for name in ID_FIELDS:
        value = getattr(record, name)
        if not value or len(value) > 64:
            raise InvalidInput(
                f"Error parsing field {prefix}{name}: 1 to 64 characters", path=f"{prefix}{name}"
            )
    if record.status == "active":
        reason = standalone_refusal(record.action.type)
        if reason is not None:
            raise InvalidInput(
                f"Error parsing field {prefix}action.type: {record.action.type} cannot run as a"
                f" directly created AutomatedAction ({reason})",
                path=f"{prefix}action.type",
            )


def parse(body: Any, path: str = "") -> AutomatedAction:
    """The body as an AutomatedAction (pydantic's ValidationError for a bad one; InvalidInput
    for what the engine cannot run)."""
    record = AutomatedAction.model_validate(body)
    _check(record, path)
    return record


def _journey(plans: PlanStore, journey_ref: str) -> tuple[str, str, str]:
    """(readable journey id, Tellescope journey id, organization time zone): a deployed journey
    when `journeyId` names one, else the id as given (a placeholder)."""
    try:
        row = plans.resolve(journey_ref)
    except PlanNotFound:
        return journey_ref, journey_ref, "America/New_York"
    plan = JourneyPlan.model_validate(row.plan)
    return row.journey_id, row.tellescope_journey_id, plan.organization.timezone


def _entry(record: AutomatedAction, action_id: str, plans: PlanStore) -> tuple[LedgerEntry, str]:
    journey_id, tellescope_journey_id, zone = _journey(plans, record.journeyId)
    entry = LedgerEntry(
        id=action_id,
        enduserId=record.enduserId,
        journeyId=journey_id,
        journeyVersion=ADHOC_VERSION,
        tellescopeJourneyId=tellescope_journey_id,
        automationStepId=record.automationStepId,
        tellescopeStepId=record.automationStepId,
        workflowId=adhoc_workflow_id(action_id),
        event=record.event.to_json(),
        action=record.action.to_json(),
        status=record.status,
        processAfter=record.processAfter,
        cancelReason=record.cancelReason,
        cancelledBy=record.cancelledBy,
        cancelConditions=[c.to_json() for c in record.cancelConditions]
        if record.cancelConditions
        else None,
        didDelayForOutOfOffice=bool(record.didDelayForOutOfOffice),
        errorMessage=record.errorMessage,
        enduserConditions=record.model_dump(mode="json", include={"enduserConditions"}).get(
            "enduserConditions"
        ),
        journeyContext=record.journeyContext.to_json() if record.journeyContext else None,
        detail="created through the API",
        at=datetime.now(UTC).isoformat(),
        isNOP=bool(record.isNOP),
    )
    return entry, zone


def _get(ledger: Ledger, action_id: str) -> AutomatedActionRow | None:
    rows = ledger.query(where={"id": action_id}, limit=1)
    return rows[0] if rows else None


async def create(
    client: Client,
    plans: PlanStore,
    ledger: Ledger,
    record: AutomatedAction,
    *,
    task_queue: str,
) -> dict[str, Any]:
    """Store the action and, when active, start its workflow. The same id again answers the
    stored record and starts nothing new (a Conflict when it names another enduser or action)."""
    action_id = record.id or _new_id()
    entry, zone = await asyncio.to_thread(_entry, record, action_id, plans)
    existing = await asyncio.to_thread(_get, ledger, action_id)
    if existing is not None:
        if existing.enduser_id != entry.enduserId or existing.action != entry.action:
            raise Conflict(
                f'an AutomatedAction "{action_id}" exists for another enduser or action',
                {"id": action_id},
            )
        if not is_adhoc(existing) or existing.status != "active":
            return await asyncio.to_thread(_answer, plans, existing)
        answer = None
    else:
        await asyncio.to_thread(ledger.record, [entry])
        # Answered as created (active), even when the action is due at once and runs before the
        # answer is sent.
        answer = await asyncio.to_thread(_get, ledger, action_id)
    if entry.status == "active":
        inp = AdHocActionInput(
            entry=entry,
            action=record.action,
            journeyContext=record.journeyContext or JourneyContext(),
            organizationTimezone=zone,
        )
        try:
            await client.start_workflow(
                "AdHocActionWorkflow",
                inp,
                id=adhoc_workflow_id(action_id),
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"AutomatedAction {action_id}: {record.action.type}",
            )
        except WorkflowAlreadyStartedError:
            pass  # a retried create: the first one's workflow runs it (once)
    row = answer or await asyncio.to_thread(_get, ledger, action_id)
    assert row is not None
    return await asyncio.to_thread(_answer, plans, row)


def _answer(plans: PlanStore, row: AutomatedActionRow) -> dict[str, Any]:
    return to_tellescope(row, journey_records(plans))


async def cancel(
    client: Client,
    plans: PlanStore,
    ledger: Ledger,
    action_id: str,
    *,
    cancel_reason: int = int(CancelReason.REMOVED_BY_USER),
    cancelled_by: str | None = None,
) -> dict[str, Any]:
    """Cancel a directly created action still waiting (docs/semantics.md §6.2): its workflow
    writes the row `cancelled`. One already cancelled answers as it is; one finished, failed
    or being performed cannot be cancelled (Conflict)."""
    row = await asyncio.to_thread(_get, ledger, action_id)
    if row is None:
        raise NotFound("Could not find a record for the given id", {"id": action_id})
    if row.status == "cancelled":
        return await asyncio.to_thread(_answer, plans, row)
    if not is_adhoc(row):
        raise Conflict(
            "this AutomatedAction belongs to a journey enrollment: remove the enduser from the"
            " journey to cancel it",
            {"id": action_id, "workflowId": row.workflow_id},
        )
    if row.status != "active":
        raise Conflict(
            f"only active AutomatedActions can be cancelled; this one is {row.status}",
            {"id": action_id, "status": row.status},
        )
    request = AdHocCancel(cancelReason=cancel_reason, cancelledBy=cancelled_by)
    try:
        await client.get_workflow_handle(row.workflow_id).signal("cancel", request)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        # No workflow (its start failed): nothing will run it, so the row is simply cancelled.
        entry = LedgerEntry(
            id=row.id,
            enduserId=row.enduser_id,
            journeyId=row.journey_id,
            journeyVersion=row.journey_version,
            tellescopeJourneyId=row.tellescope_journey_id,
            automationStepId=row.automation_step_id,
            tellescopeStepId=row.tellescope_step_id,
            workflowId=row.workflow_id,
            event=row.event,
            action=row.action,
            status="cancelled",
            processAfter=row.process_after,
            cancelReason=cancel_reason,
            cancelledBy=cancelled_by,
            journeyContext=row.journey_context,
            detail="cancelled (no workflow)",
            at=datetime.now(UTC).isoformat(),
        )
        await asyncio.to_thread(ledger.record, [entry])
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while True:
        row = await asyncio.to_thread(_get, ledger, action_id)
        assert row is not None
        if row.status != "active" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    if row.status not in ("active", "cancelled"):
        raise Conflict(
            f"the AutomatedAction was already being performed; it is {row.status}",
            {"id": action_id, "status": row.status},
        )
    return await asyncio.to_thread(_answer, plans, row)
