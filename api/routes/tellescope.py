"""Tellescope-compatible journey endpoints (Tellescope's API docs;
docs/semantics.md §3.3, §3.5, §3.7, §6.2, §12).

`journeyId` may be our readable journey id or the Tellescope journey record id, so Tellescope's own
SDK pointed at this API works unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from temporalio.service import RPCError, RPCStatusCode

from api.deps import StateDep, StoreDep, TellescopeDep, TemporalDep
from api.errors import BULK_RESPONSES, ApiError, unprocessable
from api.schemas import (
    AddEndusersRequest,
    AddEndusersResponse,
    EnrollmentOutcome,
    IncomingCommunicationRequest,
    IncomingCommunicationResponse,
    RemoveEndusersRequest,
    RemoveEndusersResponse,
    RemoveFailure,
    StatisticsResponse,
)
from models.automated_action import CancelReason
from models.runtime import IncomingMessage, RemoveRequest
from rules.dates import parse_iso
from services import enrollments as service
from services.automated_actions import statistics as journey_statistics
from services.availability import MULTI_STATUS, bulk_status, temporal_outage
from services.journeys import plan_of, require_endusers, resolve_journey, resolve_step
from workflows.journey import JourneyWorkflow

router = APIRouter(prefix="/v1", tags=["tellescope-compatible"])


@router.post(
    "/add-endusers-to-journey",
    response_model=AddEndusersResponse,
    summary="Adds (or restarts) endusers in a journey",
    responses=BULK_RESPONSES,
    description="200 when every enduser was added; 207 when some failed (per-enduser"
    " `status: error` and `code`); 503 with Retry-After when Temporal is unreachable and"
    " nothing was started.",
)
async def add_endusers_to_journey(
    body: AddEndusersRequest,
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    state: StateDep,
    response: Response,
) -> AddEndusersResponse:
    row = resolve_journey(store.plans, body.journeyId)
    step = resolve_step(plan_of(store.plans, row), body.automationStepId)
    endusers = list(dict.fromkeys(body.enduserIds))
    start_at = _start_times(body, endusers)
    records = await require_endusers(tellescope, endusers)
    if body.throttle:
        window = timedelta(seconds=state.settings.throttle_seconds)
        recent = await service.recently_started(temporal, row.journey_id, endusers, window)
        if recent:
            raise ApiError(
                409,
                "Throttled: recently added to this journey: " + ", ".join(recent[:10]),
                {"enduserIds": recent},
            )
    # The membership key is written before each start (docs/decisions.md D46).
    joins = service.MembershipJoins(tellescope, row.tellescope_journey_id, records)
    outcomes = await service.enroll_many(
        temporal,
        row,
        endusers,
        task_queue=state.task_queue,
        context=body.journeyContext,
        start_step=step,
        restart=True,
        source=body.source or "add-endusers-to-journey",
        concurrency=state.settings.bulk_concurrency,
        start_at=start_at,
        plan=store.plans.enrollment_plan(row.journey_id, row.version),
        before_start=joins.before_start,
    )
    await joins.undo_failed(outcomes)
    response.status_code = bulk_status(outcomes)
    return AddEndusersResponse(
        journeyId=row.tellescope_journey_id,
        results=[EnrollmentOutcome(**vars(o)) for o in outcomes],
    )


def _moment(value: object, path: str) -> datetime:
    moment = parse_iso(value) if isinstance(value, str) else None
    if moment is None:
        raise unprocessable(f"Error parsing field {path}: expecting an ISO date-time", path=path)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _start_times(body: AddEndusersRequest, endusers: list[str]) -> dict[str, datetime] | None:
    """When each enduser starts (`enduserStartTimes` over `startAt`); None: all at once."""
    if body.startAt is None and body.enduserStartTimes is None:
        return None
    default = _moment(body.startAt, "startAt") if body.startAt is not None else None
    given = {
        enduser_id: _moment(value, f"enduserStartTimes.{enduser_id}")
        for enduser_id, value in (body.enduserStartTimes or {}).items()
    }
    times = {e: given.get(e, default) for e in endusers}
    return {e: t for e, t in times.items() if t is not None}


@router.post(
    "/remove-endusers-from-journey",
    response_model=RemoveEndusersResponse,
    summary="Removes endusers from a journey (cancelReason 0)",
    responses=BULK_RESPONSES,
    response_model_exclude_none=True,
    description="200 when every removal was delivered (or the enduser was not enrolled); 207"
    " when some failed (`failed`: enduserId, code, message); 503 with Retry-After when Temporal"
    " is unreachable and nothing was removed.",
)
async def remove_endusers_from_journey(
    body: RemoveEndusersRequest,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    response: Response,
) -> RemoveEndusersResponse:
    row = resolve_journey(store.plans, body.journeyId)
    failures: dict[str, RPCError] = {}
    removed = await service.remove_many(
        temporal,
        row.journey_id,
        body.enduserIds,
        RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_USER)),
        concurrency=state.settings.bulk_concurrency,
        failures=failures,
    )
    if failures and not removed:
        raise next(iter(failures.values()))  # nothing done: 503 (unreachable) or 502 (api.errors)
    answer = RemoveEndusersResponse(
        journeyId=row.tellescope_journey_id,
        removed=[e for e, ok in removed.items() if ok],
        notEnrolled=[e for e, ok in removed.items() if not ok],
    )
    if failures:
        response.status_code = MULTI_STATUS
        answer.failed = [
            RemoveFailure(
                enduserId=enduser_id,
                code=503 if temporal_outage(error) else 502,
                message=error.message,
            )
            for enduser_id, error in failures.items()
        ]
    return answer


@router.post(
    "/journeys/handle-incoming-communication",
    response_model=IncomingCommunicationResponse,
    summary="An incoming message from the enduser: journeys that say so remove them",
)
async def handle_incoming_communication(
    body: IncomingCommunicationRequest,
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    state: StateDep,
) -> IncomingCommunicationResponse:
    await require_endusers(tellescope, [body.enduserId])  # 404 for an unknown enduser
    running = await service.running_enrollments(
        temporal, store.plans, body.enduserId, concurrency=state.settings.bulk_concurrency
    )
    message = IncomingMessage(channel=body.channel, messageId=body.messageId)
    signalled = []
    for journey_id, description in running:
        handle = temporal.get_workflow_handle(description.id)
        try:
            await handle.signal(JourneyWorkflow.incoming_message, message)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # finished meanwhile
                continue
            raise
        signalled.append(journey_id)
    return IncomingCommunicationResponse(enduserId=body.enduserId, signalled=signalled)


@router.get(
    "/journeys/statistics",
    response_model=StatisticsResponse,
    summary="Gets statistics for a journey: AutomatedActions per step by status",
)
def statistics(
    store: StoreDep,
    journeyId: Annotated[str, Query(min_length=1, max_length=200)],
) -> StatisticsResponse:
    row = resolve_journey(store.plans, journeyId)
    return StatisticsResponse(
        statistics=journey_statistics(store.ledger, plan_of(store.plans, row))
    )
