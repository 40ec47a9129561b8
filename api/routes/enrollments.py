"""Enrollments of a journey and of an enduser (Temporal: one workflow per enrollment)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ApiKeyDep, SettingsDep, StateDep, StoreDep, TellescopeDep, TemporalDep
from api.errors import BULK_RESPONSES, bad_request, not_found
from api.schemas import (
    DeleteJourneyResponse,
    EnduserEnrollment,
    EnduserId,
    EnduserJourneys,
    EnrollmentList,
    EnrollmentOutcome,
    EnrollmentSummary,
    EnrollRequest,
    EnrollResponse,
    RemoveResponse,
)
from models.automated_action import CancelReason
from models.runtime import RemoveRequest
from services import enrollments as service
from services.availability import bulk_status
from services.enrollment_history import HISTORY_MAX_LIMIT, enrollment_history
from services.journey_deletion import delete_journey
from services.journeys import plan_of, require_endusers, resolve_journey, resolve_step

router = APIRouter(prefix="/v1", tags=["enrollments"])

JourneyPath = Annotated[
    str, Path(min_length=1, max_length=200, description="Readable or Tellescope journey id")
]


def _counts(results: list[EnrollmentOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


@router.post(
    "/journeys/{journeyId}/enrollments",
    response_model=EnrollResponse,
    summary="Enroll one or many endusers (start, or restart when already enrolled)",
    responses=BULK_RESPONSES,
    description="200 when every enduser was enrolled; 207 when some failed (per-enduser"
    " `status: error` and `code`); 503 with Retry-After when Temporal is unreachable and"
    " nothing was started.",
)
async def enroll(
    journeyId: JourneyPath,
    body: EnrollRequest,
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    state: StateDep,
    response: Response,
) -> EnrollResponse:
    row = resolve_journey(store.plans, journeyId)
    step = resolve_step(plan_of(store.plans, row), body.automationStepId)
    endusers = list(dict.fromkeys(body.endusers))
    records = await require_endusers(tellescope, endusers)
    # The membership key is written before each start (docs/decisions.md D46).
    joins = service.MembershipJoins(tellescope, row.tellescope_journey_id, records)
    outcomes = await service.enroll_many(
        temporal,
        row,
        endusers,
        task_queue=state.task_queue,
        context=body.journeyContext,
        start_step=step,
        restart=body.restart,
        source=body.source or "api",
        concurrency=state.settings.bulk_concurrency,
        plan=store.plans.enrollment_plan(row.journey_id, row.version),
        before_start=joins.before_start,
    )
    await joins.undo_failed(outcomes)
    response.status_code = bulk_status(outcomes)
    results = [EnrollmentOutcome(**vars(o)) for o in outcomes]
    return EnrollResponse(
        journeyId=row.journey_id,
        version=row.version,
        tellescopeJourneyId=row.tellescope_journey_id,
        results=results,
        counts=_counts(results),
    )


@router.delete(
    "/journeys/{journeyId}",
    response_model=DeleteJourneyResponse,
    summary="Delete a journey: remove its enrollments (cancelReason 5), stop its triggers",
    description="docs/semantics.md §2.2. Running enrollments are removed with cancelReason 5"
    " (Journey Deleted, `cancelledBy` the API key), `enduser.journeys[J]` is unset, the"
    " Tellescope journey record is deleted, and the journey no longer resolves (404, also for a"
    " second delete) until deployed again. 503 when Temporal is unreachable (nothing done).",
)
async def delete(
    journeyId: JourneyPath,
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    state: StateDep,
    key: ApiKeyDep,
) -> DeleteJourneyResponse:
    deleted = await delete_journey(
        store.plans,
        journeyId,
        by=f"api-key {key.name or key.id}",
        client=temporal,
        ledger=store.ledger,
        tellescope=tellescope,
        task_queue=state.task_queue,
        concurrency=state.settings.bulk_concurrency,
    )
    answer = vars(deleted) | {"schedules": vars(deleted.schedules) if deleted.schedules else None}
    return DeleteJourneyResponse.model_validate(answer)


@router.delete(
    "/journeys/{journeyId}/enrollments/{enduserId}",
    response_model=RemoveResponse,
    summary="Remove an enduser from a journey (cancelReason 0, Removed by User)",
)
async def remove(
    journeyId: JourneyPath,
    enduserId: Annotated[EnduserId, Path()],
    store: StoreDep,
    temporal: TemporalDep,
) -> RemoveResponse:
    row = resolve_journey(store.plans, journeyId)
    removed = await service.remove_many(
        temporal,
        row.journey_id,
        [enduserId],
        RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_USER)),
    )
    if not removed[enduserId]:
        raise not_found(
            f'enduser "{enduserId}" has no running enrollment in journey "{row.journey_id}"',
            journeyId=row.journey_id,
            enduserId=enduserId,
        )
    return RemoveResponse(journeyId=row.journey_id, enduserId=enduserId, removed=True)


@router.get(
    "/journeys/{journeyId}/enrollments",
    response_model=EnrollmentList,
    summary="Running enrollments of a journey (Temporal visibility), newest first",
)
async def list_enrollments(
    journeyId: JourneyPath,
    store: StoreDep,
    temporal: TemporalDep,
    state: Annotated[str | None, Query(max_length=100, description="Journey state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    lastId: Annotated[
        str | None, Query(max_length=4096, description="`lastId` of the previous page")
    ] = None,
) -> EnrollmentList:
    row = resolve_journey(store.plans, journeyId)
    scope = f"{row.journey_id}|{state}"
    token = service.decode_token(lastId, scope) if lastId else None
    try:
        page = await service.list_running(
            temporal, row.journey_id, state=state, limit=limit, token=token
        )
    except RPCError as error:
        if error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise bad_request(f"Invalid lastId or filter: {error.message}") from None
        raise
    enrollments = []
    for execution in page.executions:
        values = service.search_attribute_values(execution)
        enrollments.append(
            EnrollmentSummary(
                workflowId=execution.id,
                runId=execution.run_id,
                startedAt=execution.start_time,
                **values,
            )
        )
    return EnrollmentList(
        journeyId=row.journey_id,
        enrollments=enrollments,
        lastId=service.encode_token(page.next_token, scope),
    )


@router.get(
    "/endusers/{enduserId}/journeys",
    response_model=EnduserJourneys,
    summary="An enduser's enrollments: state and pending steps; with include=all, finished ones",
    description="Running enrollments by default. `include=all` lists every journey's latest run"
    " (finished, removed and failed ones too) newest first, each with `status`, `closedAt` and"
    f" `outcome`, paged by `offset` and `limit` (at most {HISTORY_MAX_LIMIT});"
    " docs/operator-view.md §1.",
)
async def enduser_journeys(
    enduserId: Annotated[EnduserId, Path()],
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    settings: SettingsDep,
    include: Annotated[
        Literal["running", "all"],
        Query(description="`all`: finished, removed and failed enrollments too"),
    ] = "running",
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = HISTORY_MAX_LIMIT,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> EnduserJourneys:
    await require_endusers(tellescope, [enduserId])
    page = await enrollment_history(
        temporal,
        store.plans,
        store.ledger,
        enduserId,
        include_closed=include == "all",
        offset=offset,
        limit=limit,
        concurrency=settings.bulk_concurrency,
    )
    timeout = timedelta(seconds=settings.query_timeout_seconds)

    async def one(record) -> EnduserEnrollment:
        found = EnduserEnrollment(
            journeyId=record.journeyId,
            workflowId=record.workflowId,
            runId=record.runId,
            startedAt=record.startedAt,
            planVersion=record.planVersion,
            state=record.state,
            status=record.status,
            closedAt=record.closedAt,
            outcome=record.outcome,
        )
        if record.status != "running":
            return found
        status, error = await service.query_status(
            temporal, record.workflowId, record.runId, timeout
        )
        found.error = error
        if status is not None:
            found.planVersion = status.planVersion
            found.state = status.state
            found.pending = status.pending
            found.waitingFor = status.waitingFor
            found.history = status.history[-20:]
            found.paused = status.paused
        return found

    enrollments = await service.bounded(page.enrollments, settings.bulk_concurrency, one)
    return EnduserJourneys(enduserId=enduserId, enrollments=enrollments, nextOffset=page.nextOffset)
