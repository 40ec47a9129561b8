"""An enduser's enrollments, finished ones included, with their outcome
(docs/operator-view.md §1).

Each (journey, enduser) enrollment is the workflow `journey:{journeyId}:{enduserId}`; its latest
run is described by id (strongly consistent, no visibility lag, and it works on the time-skipping
test server, which has no List API). Which journeys to look at: every deployed journey and every
journey the enduser has ledger rows in (a deleted journey's enrollments stay listed). Earlier
enrollments in the same journey (enrolled again after one ended) are other runs of that workflow
id: Temporal visibility lists them (`EnduserId = ...`), when the server has a List API. Runs that
continued as new (a restart, or a long history) are part of the run that continues them, not
listed on their own. A closed run's outcome comes from its result (`completed` or `removed`, with
counts) or its failure; the removal's cancel reason and author from the ledger rows it cancelled
last (the workflow id's; for an earlier run, those last updated before it closed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import WorkflowExecutionStatus as RawStatus
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from models.automated_action import CancelReason
from models.enrollment import EnrollmentResult
from models.runtime import enrollment_workflow_id
from services.enrollments import bounded, describe_latest, quote
from store.ledger import Ledger
from store.plans import PlanStore
from workflows import search_attributes as sa

RunStatus = Literal[
    "running", "completed", "removed", "failed", "terminated", "cancelled", "timedOut"
]
HISTORY_MAX_LIMIT = 100  # enrollments per page of an enduser's history (docs/operator-view.md §1)
VISIBLE_RUNS_MAX = 1000  # earlier runs of an enduser's enrollments read from visibility
LEDGER_SCAN = 200  # cancelled rows of a workflow id looked at to find a removal's reason

_CLOSED: dict[int, RunStatus] = {
    RawStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED: "completed",
    RawStatus.WORKFLOW_EXECUTION_STATUS_FAILED: "failed",
    RawStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
    RawStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: "cancelled",
    RawStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timedOut",
}


class EnrollmentOutcomeView(BaseModel):
    """How a closed enrollment ended."""

    finished: int = 0  # actions finished (sent, done or skipped)
    cancelled: int = 0
    errors: int = 0
    cancelReason: int | None = None  # removals: Tellescope's cancel reason index
    cancelReasonLabel: str | None = None
    cancelledBy: str | None = None
    failure: str | None = Field(default=None, description="Why the run failed or was ended.")


class EnrollmentRecord(BaseModel):
    journeyId: str
    enduserId: str
    workflowId: str
    runId: str
    status: RunStatus
    startedAt: datetime
    closedAt: datetime | None = None
    planVersion: str | None = None
    state: str | None = None  # the journey state at the end (closed runs)
    outcome: EnrollmentOutcomeView | None = None  # closed runs only


async def enrollment_of(
    client: Client, ledger: Ledger, journey_id: str, enduser_id: str
) -> EnrollmentRecord | None:
    """The latest run of the enrollment, running or closed; None when it never ran."""
    workflow_id = enrollment_workflow_id(journey_id, enduser_id)
    info = await describe_latest(client, workflow_id)
    if info is None:
        return None
    # the store is synchronous: off the event loop (the API serves other requests meanwhile)
    rows = await asyncio.to_thread(ledger.query, where={"workflow_id": workflow_id}, limit=1)
    record = EnrollmentRecord(
        journeyId=journey_id,
        enduserId=enduser_id,
        workflowId=workflow_id,
        runId=info.execution.run_id,
        status="running",
        startedAt=info.start_time.ToDatetime(tzinfo=UTC),
        planVersion=rows[0].journey_version if rows else None,
    )
    if info.status == RawStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        return record
    record.status = _CLOSED.get(info.status, "completed")
    if info.HasField("close_time"):
        record.closedAt = info.close_time.ToDatetime(tzinfo=UTC)
    await _outcome(client, ledger, record)
    return record


async def _outcome(client: Client, ledger: Ledger, record: EnrollmentRecord) -> None:
    """A closed run's outcome: its result, or why it failed or was ended."""
    record.outcome = EnrollmentOutcomeView()
    handle = client.get_workflow_handle(
        record.workflowId, run_id=record.runId, result_type=EnrollmentResult
    )
    try:
        result = await handle.result(follow_runs=False)
    except WorkflowFailureError as error:
        cause = error.cause
        record.outcome.failure = str(getattr(cause, "message", "") or cause or error)
        return
    record.state = result.state
    record.outcome.finished = result.finished
    record.outcome.cancelled = result.cancelled
    record.outcome.errors = result.errors
    if result.outcome == "removed":
        record.status = "removed"
        await asyncio.to_thread(_removal, ledger, record)


# Visibility's status of a closed run, as listed (ContinuedAsNew runs are left out).
_LISTED: dict[WorkflowExecutionStatus, RunStatus] = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TIMED_OUT: "timedOut",
}


async def earlier_runs(
    client: Client, ledger: Ledger, enduser_id: str, latest: set[str]
) -> list[EnrollmentRecord]:
    """Closed runs of the enduser's enrollments other than the latest ones (`latest`: their run
    ids), from visibility, without their outcome; [] when the server has no List API (the
    time-skipping test server)."""
    query = f'WorkflowType = "JourneyWorkflow" AND EnduserId = {quote(enduser_id)}'
    found: list[EnrollmentRecord] = []
    try:
        async for execution in client.list_workflows(query, limit=VISIBLE_RUNS_MAX):
            status = _LISTED.get(execution.status) if execution.status else None
            if status is None or execution.run_id in latest:
                continue  # running (the latest, described above) or continued as new
            journey_id = execution.id.split(":")[1] if execution.id.count(":") >= 2 else ""
            try:
                version = execution.typed_search_attributes.get(sa.JOURNEY_VERSION)
            except Exception:  # an attribute this server cannot decode: no version shown
                version = None
            found.append(
                EnrollmentRecord(
                    journeyId=journey_id,
                    enduserId=enduser_id,
                    workflowId=execution.id,
                    runId=execution.run_id,
                    status=status,
                    startedAt=execution.start_time,
                    closedAt=execution.close_time,
                    planVersion=version,
                )
            )
    except RPCError as error:
        if error.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.INVALID_ARGUMENT):
            return []
        raise
    return found  # outcomes are read for the page shown only (enrollment_history)


def _removal(ledger: Ledger, record: EnrollmentRecord) -> None:
    """The cancel reason and author of the removal: those of the run's last cancelled rows."""
    assert record.outcome is not None
    rows = ledger.query(where={"workflow_id": record.workflowId, "status": "cancelled"}, limit=20)
    for row in sorted(rows, key=lambda r: r.updated_at, reverse=True):
        if row.cancel_reason is not None:
            record.outcome.cancelReason = row.cancel_reason
            try:
                record.outcome.cancelReasonLabel = CancelReason(row.cancel_reason).label
            except ValueError:
                pass
            record.outcome.cancelledBy = row.cancelled_by
            return


class EnrollmentHistoryPage(BaseModel):
    enduserId: str
    enrollments: list[EnrollmentRecord]
    nextOffset: int | None = None  # the `offset` of the next page, None on the last


async def enrollment_history(
    client: Client,
    plans: PlanStore,
    ledger: Ledger,
    enduser_id: str,
    *,
    include_closed: bool = True,
    offset: int = 0,
    limit: int = HISTORY_MAX_LIMIT,
    concurrency: int = 32,
) -> EnrollmentHistoryPage:
    """The enduser's enrollments, newest start first, one page: the latest run per journey, and
    with `include_closed` the earlier closed runs visibility knows of."""
    deployed, enrolled = await asyncio.gather(
        asyncio.to_thread(plans.journey_ids), asyncio.to_thread(ledger.journeys_of, enduser_id)
    )
    journeys: Sequence[str] = sorted(set(deployed) | set(enrolled))
    found = await bounded(
        journeys, concurrency, lambda j: enrollment_of(client, ledger, j, enduser_id)
    )
    latest = [r for r in found if r is not None]
    records = [r for r in latest if include_closed or r.status == "running"]
    if include_closed:
        records += await earlier_runs(client, ledger, enduser_id, {r.runId for r in latest})
    records.sort(key=lambda r: (r.startedAt, r.journeyId), reverse=True)
    limit = max(1, min(limit, HISTORY_MAX_LIMIT))
    page = records[offset : offset + limit]
    unread = [r for r in page if r.outcome is None and r.status != "running"]
    await bounded(unread, 8, lambda record: _outcome(client, ledger, record))
    more = offset + limit < len(records)
    return EnrollmentHistoryPage(
        enduserId=enduser_id, enrollments=page, nextOffset=offset + limit if more else None
    )
