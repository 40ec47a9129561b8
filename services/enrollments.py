"""Enrollments through Temporal: start/restart many, remove, find an enduser's running ones.

An enrollment is the workflow `journey:{journeyId}:{enduserId}` (workflows.starter); everything
here is keyed by that id, so lookups are strongly consistent (no visibility-store lag) and work on
any Temporal server. Listing a journey's enrollments is the one query that needs visibility.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus as RawStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.enduser import write_journey_state
from models.automated_action import JourneyContext
from models.enrollment import EnrollmentStatus
from models.plan import JourneyPlan
from models.runtime import (
    EnrollmentInput,
    JourneyStateUpdate,
    RemoveRequest,
    enrollment_workflow_id,
)
from services.availability import temporal_outage
from services.errors import MalformedInput
from store.plans import JourneyHead, PlanStore
from store.tables import JourneyVersionRow
from tellescope.client import Record, TellescopeClient
from tellescope.errors import TellescopeRejected
from workflows import search_attributes as sa
from workflows import starter
from workflows.journey import JourneyWorkflow

log = logging.getLogger("journeys.services.enrollments")
WORKFLOW_EXECUTION_STATUS_RUNNING = RawStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
T = TypeVar("T")
R = TypeVar("R")

LOOKUP_CHUNK = 50  # enduser ids per Tellescope read (keeps the JSON-encoded filter short)


async def bounded(items: Iterable[T], limit: int, call: Callable[[T], Awaitable[R]]) -> list[R]:
    """`call` on every item, at most `limit` at once, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with semaphore:
            return await call(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


# --- endusers in Tellescope ---------------------------------------------------------------------


async def read_enduser(tellescope: TellescopeClient, enduser_id: str) -> Record | None:
    """The enduser as Tellescope holds it, or None when there is none."""
    try:
        return await tellescope.get("endusers", enduser_id)
    except TellescopeRejected as error:
        if error.status in (400, 404):  # 400: not even an id
            return None
        raise


async def _found_among(
    tellescope: TellescopeClient, chunk: list[str], concurrency: int
) -> dict[str, Record]:
    """The records of the ids of `chunk` that exist: one `_in` read; a chunk Tellescope refuses
    (a malformed id in it) is read id by id."""
    try:
        page = await tellescope.list("endusers", {"id": {"_in": chunk}}, limit=len(chunk))
        return {record["id"]: record for record in page if record.get("id") in chunk}
    except TellescopeRejected:
        read = await bounded(chunk, concurrency, lambda i: read_enduser(tellescope, i))
        return {i: record for i, record in zip(chunk, read, strict=True) if record is not None}


class EnduserLookups:
    """Enduser reads of one TellescopeClient, coalesced across concurrent requests.

    Enrolling one enduser per request is the common integration; checked one by one, each
    request paid a Tellescope read of its own (and Tellescope, here the sandbox, the work of
    answering it). Ids asked for while `max_in_flight` reads are under way wait and go out
    together in the next read (up to LOOKUP_CHUNK ids), so under load the number of reads drops
    by the batch size, and a quiet API still answers at once (nothing waits for a timer). A read
    always starts after the request that asks for it (an id whose read is already under way waits
    for the next one), so the records are as fresh as a read of the request's own."""

    def __init__(self, tellescope: TellescopeClient, *, max_in_flight: int = 2) -> None:
        self.tellescope = tellescope
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.queue: dict[str, asyncio.Future[Record | None]] = {}

    async def records(self, enduser_ids: Sequence[str]) -> dict[str, Record | None]:
        """Each id's enduser, None for the ids that name none."""
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[Record | None]] = {}
        for enduser_id in dict.fromkeys(enduser_ids):
            future = self.queue.get(enduser_id)
            if future is None:
                future = self.queue[enduser_id] = loop.create_future()
            waiting[enduser_id] = future
        self._pump()
        # shielded: a caller that goes away must not cancel the answer other callers share
        results = await asyncio.gather(*(asyncio.shield(f) for f in waiting.values()))
        return dict(zip(waiting, results, strict=True))

    def _pump(self) -> None:
        while self.queue and self.in_flight < self.max_in_flight:
            chunk = dict(list(self.queue.items())[:LOOKUP_CHUNK])
            for enduser_id in chunk:
                del self.queue[enduser_id]
            self.in_flight += 1
            asyncio.get_running_loop().create_task(self._read(chunk))

    async def _read(self, chunk: dict[str, asyncio.Future[Record | None]]) -> None:
        try:
            found = await _found_among(self.tellescope, list(chunk), self.max_in_flight)
        except BaseException as error:
            for future in chunk.values():
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # retrieved: one waiter may be gone already
            if not isinstance(error, Exception):
                raise
        else:
            for enduser_id, future in chunk.items():
                if not future.done():
                    future.set_result(found.get(enduser_id))
        finally:
            self.in_flight -= 1
            self._pump()


_LOOKUPS: WeakKeyDictionary[TellescopeClient, EnduserLookups] = WeakKeyDictionary()


def lookups_for(tellescope: TellescopeClient) -> EnduserLookups:
    found = _LOOKUPS.get(tellescope)
    if found is None:
        found = _LOOKUPS[tellescope] = EnduserLookups(tellescope)
    return found


async def read_endusers(
    tellescope: TellescopeClient, enduser_ids: Sequence[str]
) -> dict[str, Record | None]:
    """Each id's enduser (None: no such enduser), in the order given; reads coalesced with
    other requests' (EnduserLookups)."""
    return await lookups_for(tellescope).records(enduser_ids)


# --- starting and removing ----------------------------------------------------------------------


@dataclass
class EnrollOutcome:
    enduserId: str
    workflowId: str
    status: str  # started | scheduled | restarted | alreadyEnrolled | error
    runId: str | None = None  # the run that acts: a started run; None for a restart (below)
    message: str | None = None
    code: int | None = None  # when `error`: 503 Temporal unreachable, 502 Temporal refused
    # restarted: the run that was told to restart; the journey starts again in the next run of
    # the same workflow id (continue-as-new), whose id is not known when the request returns.
    restartedRunId: str | None = None
    startAt: datetime | None = None  # scheduled: when the journey starts


def enrollment_input(
    row: JourneyHead | JourneyVersionRow,
    enduser_id: str,
    *,
    context: JourneyContext | None,
    start_step: str | None,
    source: str,
    initial_state: str | None = None,
) -> EnrollmentInput:
    return EnrollmentInput(
        initialState=initial_state,
        journeyId=row.journey_id,
        planVersion=row.version,
        enduserId=enduser_id,
        tellescopeJourneyId=row.tellescope_journey_id,
        journeyContext=context or JourneyContext(),
        startAtStepId=start_step,
        source=source,
    )


async def enroll_many(
    client: Client,
    row: JourneyHead | JourneyVersionRow,
    enduser_ids: Sequence[str],
    *,
    task_queue: str,
    context: JourneyContext | None = None,
    start_step: str | None = None,
    restart: bool = True,
    source: str = "api",
    concurrency: int = 32,
    initial_state: str | None = None,
    start_at: dict[str, datetime] | None = None,
    plan: JourneyPlan | None = None,
    before_start: Callable[[str], Awaitable[None]] | None = None,
) -> list[EnrollOutcome]:
    """Start (or restart) every enrollment (workflows.starter.enroll). A Temporal failure for
    one enduser is reported in its outcome and does not stop the others (the caller decides the
    answer: services.availability.bulk_status). `plan` (`PlanStore.enrollment_plan` of the
    row's version) makes new runs carry it (the compact history shape, docs/decisions.md D35).
    `before_start(enduser_id)` is awaited right before each start that is not scheduled for
    later (`MembershipJoins.before_start`)."""

    async def one(enduser_id: str) -> EnrollOutcome:
        inp = enrollment_input(
            row,
            enduser_id,
            context=context,
            start_step=start_step,
            source=source,
            initial_state=initial_state,
        )
        workflow_id = enrollment_workflow_id(row.journey_id, enduser_id)
        when = (start_at or {}).get(enduser_id)
        delay = when - datetime.now(UTC) if when is not None else None
        delay = delay if delay is not None and delay > timedelta(0) else None  # past: now
        if delay is None and before_start is not None:
            await before_start(enduser_id)
        try:
            enrolled = await starter.enroll_run(
                client, inp, task_queue=task_queue, restart=restart, start_delay=delay, plan=plan
            )
        except RPCError as error:
            code = 503 if temporal_outage(error) else 502
            return EnrollOutcome(enduser_id, workflow_id, "error", message=error.message, code=code)
        run_id = enrolled.handle.result_run_id
        if delay is not None:
            if enrolled.started:
                return EnrollOutcome(
                    enduser_id, workflow_id, "scheduled", runId=run_id, startAt=when
                )
            return EnrollOutcome(
                enduser_id,
                workflow_id,
                "alreadyEnrolled",
                runId=run_id,
                message="already enrolled, or a start is scheduled: nothing scheduled",
            )
        if enrolled.started:
            return EnrollOutcome(enduser_id, workflow_id, "started", runId=run_id)
        if restart:
            return EnrollOutcome(
                enduser_id,
                workflow_id,
                "restarted",
                message="the journey restarts in the next run of this workflow id",
                restartedRunId=run_id,
            )
        return EnrollOutcome(enduser_id, workflow_id, "alreadyEnrolled", runId=run_id)

    return await bounded(list(dict.fromkeys(enduser_ids)), concurrency, one)


class MembershipJoins:
    """`enduser.journeys[J] = ""` written before each enrollment starts, as Tellescope writes it
    before an add answers (docs/semantics.md §12.1): `enroll_many(before_start=joins.before_start)`
    writes the key of each enduser whose run starts now, right before that start.

    Before, not after: a run that starts first can join and set its own state (a first step
    `setEnduserStatus`) before a write made after the start lands, which then put "" over that
    state (seen for 7 of 100 endusers of one bulk request; docs/decisions.md D46). Written first,
    the key is there before the run exists, and the run's own writes all come later. The
    key's webhook then reaches the intake, possibly before the start: the intake waits
    MEMBERSHIP_GRACE for the run to appear before taking the key as a client's add
    (`triggers.intake`).

    `endusers`: the records the request read before starting (`require_endusers`); only a key
    missing there is written, a key already there is left alone. A Tellescope failure is logged,
    not answered: the run writes the key anyway. `undo_failed` unsets the keys written for runs
    whose start then failed (no run: the key would claim an enrollment that does not exist)."""

    def __init__(
        self,
        tellescope: TellescopeClient,
        tellescope_journey_id: str,
        endusers: Mapping[str, Record | None],
        *,
        concurrency: int = 8,
    ) -> None:
        self.tellescope = tellescope
        self.key = tellescope_journey_id
        self.endusers = endusers
        self.concurrency = concurrency
        self.written: set[str] = set()

    async def before_start(self, enduser_id: str) -> None:
        try:
            enduser = self.endusers.get(enduser_id) or await self.tellescope.get(
                "endusers", enduser_id
            )
            if self.key in (enduser.get("journeys") or {}):
                return
            await self.tellescope.update("endusers", enduser_id, {"journeys": {self.key: ""}})
            self.written.add(enduser_id)
        except Exception:  # noqa: BLE001 (the run writes the key too)
            log.warning("writing journeys[%s] of %s failed", self.key, enduser_id, exc_info=True)

    async def undo_failed(self, outcomes: Sequence[EnrollOutcome]) -> None:
        """Unset the key written for an enduser whose start failed (best effort, logged)."""
        failed = [
            o.enduserId for o in outcomes if o.status == "error" and o.enduserId in self.written
        ]

        async def unset(enduser_id: str) -> None:
            try:
                update = JourneyStateUpdate(enduserId=enduser_id, journeyId=self.key, state=None)
                await write_journey_state(self.tellescope, update)
            except Exception:  # noqa: BLE001
                log.warning("unsetting journeys[%s] of %s failed", self.key, enduser_id)

        await bounded(failed, self.concurrency, unset)


async def remove_many(
    client: Client,
    journey_id: str,
    enduser_ids: Sequence[str],
    request: RemoveRequest,
    *,
    concurrency: int = 32,
    failures: dict[str, RPCError] | None = None,
) -> dict[str, bool]:
    """enduser id -> whether a running enrollment received the removal. With `failures`, an
    enduser whose removal Temporal failed is recorded there (and left out of the answer)
    instead of failing the whole call."""
    ids = list(dict.fromkeys(enduser_ids))

    async def one(enduser_id: str) -> bool | RPCError:
        try:
            return await starter.remove(client, journey_id, enduser_id, request)
        except RPCError as error:
            if failures is None:
                raise
            return error

    outcomes = await bounded(ids, concurrency, one)
    answer: dict[str, bool] = {}
    for enduser_id, outcome in zip(ids, outcomes, strict=True):
        if isinstance(outcome, RPCError):
            assert failures is not None
            failures[enduser_id] = outcome
        else:
            answer[enduser_id] = outcome
    return answer


# --- finding enrollments --------------------------------------------------------------------------


@dataclass
class RunningRun:
    """What the API needs of a running enrollment (read from the raw describe response: the
    SDK's describe() decodes every search attribute, and the time-skipping test server hands
    back an unset datetime one it cannot decode)."""

    id: str
    run_id: str
    start_time: datetime


async def describe_latest(client: Client, workflow_id: str) -> Any | None:
    """The raw `workflow_execution_info` of the workflow id's latest run, or None when it never
    ran (read raw: see RunningRun)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        response = await client.workflow_service.describe_workflow_execution(request, retry=True)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return response.workflow_execution_info


async def describe_running(client: Client, workflow_id: str) -> RunningRun | None:
    info = await describe_latest(client, workflow_id)
    if info is None or info.status != WORKFLOW_EXECUTION_STATUS_RUNNING:
        return None
    return RunningRun(workflow_id, info.execution.run_id, info.start_time.ToDatetime(tzinfo=UTC))


async def running_enrollments(
    client: Client, plans: PlanStore, enduser_id: str, *, concurrency: int = 32
) -> list[tuple[str, RunningRun]]:
    """(journey id, description) of every running enrollment of the enduser, by journey id."""
    journeys = plans.journey_ids()
    found = await bounded(
        journeys,
        concurrency,
        lambda j: describe_running(client, enrollment_workflow_id(j, enduser_id)),
    )
    return [(j, d) for j, d in zip(journeys, found, strict=True) if d is not None]


async def recently_started(
    client: Client,
    journey_id: str,
    enduser_ids: Sequence[str],
    window: timedelta,
    *,
    concurrency: int = 32,
) -> list[str]:
    """Endusers whose enrollment (re)started less than `window` ago (the `throttle` flag)."""
    now = datetime.now(UTC)

    async def recent(enduser_id: str) -> bool:
        description = await describe_running(client, enrollment_workflow_id(journey_id, enduser_id))
        return description is not None and now - description.start_time < window

    flags = await bounded(list(enduser_ids), concurrency, recent)
    return [e for e, flag in zip(enduser_ids, flags, strict=True) if flag]


async def query_status(
    client: Client, workflow_id: str, run_id: str | None, timeout: timedelta
) -> tuple[EnrollmentStatus | None, str | None]:
    """The enrollment's `status` query, or (None, why) when no worker answered in time."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        status = await handle.query(JourneyWorkflow.status, rpc_timeout=timeout)
    except RPCError as error:
        return None, error.message
    except Exception as error:  # WorkflowQueryFailedError and friends
        return None, str(error) or type(error).__name__
    return status, None


# --- listing a journey's enrollments (visibility) -----------------------------------------------


def quote(value: str) -> str:
    """A list-filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(token: bytes, scope: str) -> str:
    return hashlib.sha256(token + b"|" + scope.encode()).hexdigest()[:16]


def encode_token(token: bytes | None, scope: str) -> str | None:
    """Temporal's page token as `lastId`: urlsafe base64 plus a check tied to the listing's
    filter (`scope`), so garbage or a cursor of another listing is MalformedInput, not a Temporal
    error."""
    if not token:
        return None
    return base64.urlsafe_b64encode(token).decode("ascii").rstrip("=") + "." + _check(token, scope)


def decode_token(text: str, scope: str) -> bytes:
    body, _, check = text.partition(".")
    try:
        token = base64.b64decode(
            (body + "=" * (-len(body) % 4)).encode("ascii"), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError, UnicodeEncodeError):
        token = b""
    if not token or not hmac.compare_digest(check, _check(token, scope)):
        raise MalformedInput("lastId is not a cursor returned by this listing", path="lastId")
    return token


@dataclass
class EnrollmentPage:
    executions: list[Any] = field(default_factory=list)
    next_token: bytes | None = None


async def list_running(
    client: Client,
    journey_id: str,
    *,
    state: str | None,
    limit: int,
    token: bytes | None,
) -> EnrollmentPage:
    query = f"JourneyId = {quote(journey_id)} AND ExecutionStatus = 'Running'"
    if state is not None:
        query += f" AND JourneyState = {quote(state)}"
    iterator = client.list_workflows(query, page_size=limit, next_page_token=token)
    await iterator.fetch_next_page()
    return EnrollmentPage(list(iterator.current_page or []), iterator.next_page_token)


async def listed_endusers(client: Client, journey_id: str) -> list[str]:
    """The endusers of a journey's running enrollments by visibility, every page. Best effort:
    visibility lags and the time-skipping test server has no list filters, so callers merge it
    with the ledger; a failure is logged and what was listed so far is returned."""
    endusers: list[str] = []
    token: bytes | None = None
    try:
        while True:
            page = await list_running(client, journey_id, state=None, limit=500, token=token)
            for execution in page.executions:
                enduser_id = search_attribute_values(execution).get("enduserId")
                if enduser_id:
                    endusers.append(enduser_id)
            token = page.next_token
            if not token:
                return endusers
    except Exception:  # noqa: BLE001 (visibility is one source among others)
        log.info("listing enrollments of %s by visibility failed", journey_id, exc_info=True)
        return endusers


def search_attribute_values(execution: Any) -> dict[str, Any]:
    attributes = execution.typed_search_attributes
    return {
        "enduserId": attributes.get(sa.ENDUSER_ID),
        "journeyVersion": attributes.get(sa.JOURNEY_VERSION),
        "state": attributes.get(sa.JOURNEY_STATE),
        "nextActionAt": attributes.get(sa.NEXT_ACTION_AT),
        "paused": attributes.get(sa.ENROLLMENT_STATUS) == "paused",
    }
