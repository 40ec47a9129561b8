"""Migrating running enrollments to another version of their journey (docs/live-change.md §3,
docs/decisions.md D29): preview, apply in batches with audit rows, undo.

`preview_migration` reports, for every running enrollment on another version, what it waits for
now and what it would wait for on the target version, changing nothing. `apply_migration` sends
the `migrate` signal (the workflow moves its state with rules/migration.py) and records one audit
row per enrollment; `undo_migration` moves a migration's enrollments back.

The preview follows the same rules: a pending action maps to the target step of the same id, or
to the one `mapping` names; it keeps its due time unless the target event's delay differs (then
it moves by the difference). A step the target lacks is cancelled, or with `onRemoved: keep` the
whole enrollment stays on its version (outcome `kept`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio.service import RPCError

from models.enrollment import EnrollmentStatus, MigrationRecord, PendingView
from models.events import AutomationEvent, delay_info, parent_step_id
from models.plan import JourneyPlan
from models.runtime import MigrateRequest, enrollment_workflow_id
from rules.migration import inverse
from services.enrollments import bounded, describe_running, query_status
from services.errors import InvalidInput, NotFound
from services.pausing import running_endusers
from store.ledger import Ledger
from store.migration_audit import FINAL, MigrationAudit
from store.plans import PlanNotFound, PlanStore
from workflows.journey import JourneyWorkflow

OnRemoved = Literal["cancel", "keep"]
Change = Literal["kept", "retimed", "mapped", "cancelled", "keptOld"]


@dataclass
class StepMove:
    """One pending action: where it waits now and where it would wait after."""

    actionId: str
    stepId: str
    eventType: str
    dueAt: str | None
    toStepId: str | None  # None: cancelled
    toDueAt: str | None
    change: Change
    waitingFor: str


@dataclass
class EnrollmentPreview:
    enduserId: str
    fromVersion: str
    moves: list[StepMove] = field(default_factory=list)
    listening: list[str] = field(default_factory=list)  # forms / tickets it listens for
    paused: bool = False
    error: str | None = None  # the status query failed: not previewed
    # kept: onRemoved keep and a pending step the target lacks, so it stays on its version
    outcome: Literal["migrated", "kept"] = "migrated"


@dataclass
class MigrationPreview:
    journeyId: str
    toVersion: str
    mapping: dict[str, str]
    onRemoved: OnRemoved
    enrollments: list[EnrollmentPreview] = field(default_factory=list)
    alreadyOnTarget: list[str] = field(default_factory=list)
    notRunning: list[str] = field(default_factory=list)
    waitingNow: dict[str, int] = field(default_factory=dict)  # step -> enrollments' actions
    waitingAfter: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)  # old step -> actions cancelled
    retimed: dict[str, int] = field(default_factory=dict)  # target step -> actions re-timed


def parse_mapping(pairs: Sequence[str], option: str = "--map") -> dict[str, str]:
    """`OLD=NEW` pairs; InvalidInput naming the offending one (`--map[1]`)."""
    mapping: dict[str, str] = {}
    for index, pair in enumerate(pairs):
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(
                f'{option}[{index}]: "{pair}" is not OLD_STEP=NEW_STEP', path=f"{option}[{index}]"
            )
        if old.strip() in mapping:
            raise InvalidInput(
                f'{option}[{index}]: step "{old.strip()}" is mapped twice',
                path=f"{option}[{index}]",
            )
        mapping[old.strip()] = new.strip()
    return mapping


def _target(plans: PlanStore, journey_id: str, version: str) -> JourneyPlan:
    try:
        return plans.get(journey_id, version)
    except PlanNotFound:
        raise NotFound(
            f'journey "{journey_id}" has no version "{version}"',
            {"journeyId": journey_id, "toVersion": version},
        ) from None


def check_mapping(
    plans: PlanStore, journey_id: str, target: JourneyPlan, mapping: Mapping[str, str]
) -> None:
    """Every OLD names a step of some version of the journey, every NEW a step of the target:
    InvalidInput with the path `map.OLD` otherwise (nothing is done)."""
    known: set[str] = set()
    for row in plans.versions(journey_id):
        known |= set(plans.get(journey_id, row.version).steps)
    for old, new in mapping.items():
        if old not in known:
            raise InvalidInput(
                f'map.{old}: no version of journey "{journey_id}" has a step "{old}"',
                path=f"map.{old}",
            )
        if new not in target.steps:
            raise InvalidInput(
                f'map.{old}: version {target.version} has no step "{new}"', path=f"map.{old}"
            )


def _matching_event(
    plan: JourneyPlan, step_id: str, event_type: str, parent: str | None
) -> AutomationEvent | None:
    """The step's event of that type with that parent (else the first of that type)."""
    events = [e for e in plan.steps[step_id].events if e.type == event_type]
    for event in events:
        if parent_step_id(event) == parent:
            return event
    return events[0] if events else None


def _delay(event: AutomationEvent | None) -> int | None:
    info = delay_info(event) if event is not None else None
    return info.delayInMS if info is not None else None


def move_of(
    pending: PendingView,
    old: JourneyPlan,
    target: JourneyPlan,
    mapping: Mapping[str, str],
    on_removed: OnRemoved,
) -> StepMove:
    """Where one pending action would wait on the target version."""
    to_step = mapping.get(pending.stepId, pending.stepId)

    def move(to: str | None, due: str | None, change: Change) -> StepMove:
        return StepMove(
            actionId=pending.actionId,
            stepId=pending.stepId,
            eventType=pending.eventType,
            dueAt=pending.dueAt,
            toStepId=to,
            toDueAt=due,
            change=change,
            waitingFor=pending.waitingFor,
        )

    old_event = _matching_event(old, pending.stepId, pending.eventType, None)
    parent = parent_step_id(old_event) if old_event is not None else None
    new_parent = mapping.get(parent, parent) if parent is not None else None
    new_event = (
        _matching_event(target, to_step, pending.eventType, new_parent)
        if to_step in target.steps
        else None
    )
    if new_event is None:
        if on_removed == "cancel":
            return move(None, None, "cancelled")
        return move(pending.stepId, pending.dueAt, "keptOld")
    before, after = _delay(old_event), _delay(new_event)
    if pending.dueAt is not None and before is not None and after is not None and before != after:
        due = datetime.fromisoformat(pending.dueAt) + timedelta(milliseconds=after - before)
        return move(to_step, due.isoformat(), "retimed")
    change: Change = "mapped" if to_step != pending.stepId else "kept"
    return move(to_step, pending.dueAt, change)


async def preview_migration(
    client: Any,
    plans: PlanStore,
    ledger: Ledger | None,
    journey_id: str,
    to_version: str,
    mapping: Mapping[str, str],
    on_removed: OnRemoved,
    *,
    endusers: Sequence[str] | None = None,
    query_timeout: timedelta = timedelta(seconds=10),
    concurrency: int = 32,
) -> MigrationPreview:
    """What migrating the journey's running enrollments to `to_version` would do; changes
    nothing. NotFound for an unknown version, InvalidInput for a bad mapping."""
    target = _target(plans, journey_id, to_version)
    check_mapping(plans, journey_id, target, mapping)
    preview = MigrationPreview(journey_id, to_version, dict(mapping), on_removed)
    targets = (
        list(endusers)
        if endusers is not None
        else await running_endusers(client, ledger, journey_id)
    )

    async def status_of(enduser_id: str) -> tuple[EnrollmentStatus | None, str | None] | None:
        running = await describe_running(client, enrollment_workflow_id(journey_id, enduser_id))
        if running is None:
            return None
        return await query_status(client, running.id, running.run_id, query_timeout)

    now_counts: Counter[str] = Counter()
    after_counts: Counter[str] = Counter()
    cancelled: Counter[str] = Counter()
    retimed: Counter[str] = Counter()
    for enduser_id, found in zip(
        targets, await bounded(targets, concurrency, status_of), strict=True
    ):
        if found is None:
            preview.notRunning.append(enduser_id)
            continue
        status, error = found
        if status is None:
            preview.enrollments.append(EnrollmentPreview(enduser_id, "?", error=error))
            continue
        if status.planVersion == to_version:
            preview.alreadyOnTarget.append(enduser_id)
            continue
        old = plans.get(journey_id, status.planVersion)
        one = EnrollmentPreview(
            enduser_id, status.planVersion, listening=status.waitingFor, paused=bool(status.paused)
        )
        moves = [move_of(p, old, target, mapping, "cancel") for p in status.pending]
        if on_removed == "keep" and any(m.change == "cancelled" for m in moves):
            one.outcome = "kept"  # the whole enrollment stays where it is (as the workflow does)
            moves = [move_of(p, old, old, {}, "keep") for p in status.pending]
            for move in moves:
                move.change = "keptOld"
        for move in moves:
            one.moves.append(move)
            now_counts[move.stepId] += 1
            if move.toStepId is None:
                cancelled[move.stepId] += 1
            else:
                after_counts[move.toStepId] += 1
            if move.change == "retimed":
                retimed[move.toStepId or ""] += 1
        preview.enrollments.append(one)
    preview.waitingNow = dict(sorted(now_counts.items()))
    preview.waitingAfter = dict(sorted(after_counts.items()))
    preview.cancelled = dict(sorted(cancelled.items()))
    preview.retimed = dict(sorted(retimed.items()))
    return preview


@dataclass
class MigrationProgress:
    done: int
    total: int


@dataclass
class MigrationReport:
    """What a migration (or its undo) did, per enduser; `pending` ones did not answer in time
    and `failed` ones Temporal refused: run it again with the same id to finish."""

    migrationId: str
    journeyId: str
    toVersion: str
    migrated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # onRemoved keep: left on their version
    alreadyOnTarget: list[str] = field(default_factory=list)
    notRunning: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    batches: int = 0
    undoes: str | None = None


def new_migration_id() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


async def _outcome(
    client: Any, workflow_id: str, migration_id: str, wait: timedelta, poll: float
) -> MigrationRecord | None:
    """The enrollment's record of the migration, once it has one (None after `wait`)."""
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    while True:
        status, _ = await query_status(client, workflow_id, None, timedelta(seconds=10))
        if status is not None:
            for record in status.migrations:
                if record.migrationId == migration_id:
                    return record
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(poll)


async def apply_migration(
    client: Any,
    plans: PlanStore,
    ledger: Ledger | None,
    audit: MigrationAudit,
    journey_id: str,
    to_version: str,
    mapping: Mapping[str, str],
    on_removed: OnRemoved,
    *,
    by: str,
    migration_id: str | None = None,
    undoes: str | None = None,
    endusers: Sequence[str] | None = None,
    batch_size: int = 100,
    concurrency: int = 32,
    wait: timedelta = timedelta(seconds=30),
    poll: float = 0.1,
    progress: Callable[[MigrationProgress], None] | None = None,
) -> MigrationReport:
    """Move the journey's running enrollments on other versions to `to_version`, `batch_size`
    at a time: each gets an audit row (`pending`), the `migrate` signal, and its outcome once
    the enrollment reports it. Running it again with the same `migration_id` skips the
    enrollments already done (resumable). NotFound / InvalidInput as the preview."""
    target = _target(plans, journey_id, to_version)
    check_mapping(plans, journey_id, target, mapping)
    migration_id = migration_id or new_migration_id()
    report = MigrationReport(migration_id, journey_id, to_version, undoes=undoes)
    targets = (
        list(endusers)
        if endusers is not None
        else await running_endusers(client, ledger, journey_id)
    )
    request = MigrateRequest(
        migrationId=migration_id,
        toVersion=to_version,
        mapping=dict(mapping),
        onRemoved=on_removed,
        by=by,
    )

    async def one(enduser_id: str) -> tuple[str, str]:
        done = audit.row(migration_id, enduser_id)
        if done is not None and done.outcome in FINAL:
            return enduser_id, done.outcome
        workflow_id = enrollment_workflow_id(journey_id, enduser_id)
        try:
            if await describe_running(client, workflow_id) is None:
                if done is not None:
                    audit.finish(migration_id, enduser_id, "notRunning")
                return enduser_id, "notRunning"
            status, error = await query_status(client, workflow_id, None, timedelta(seconds=10))
            if status is None:
                return enduser_id, "failed"
            record = next((m for m in status.migrations if m.migrationId == migration_id), None)
            if record is None and done is not None and done.outcome == "pending":
                # Signalled by an earlier run of this migration that got no answer (a worker
                # killed, say): the enrollment may have moved meanwhile, and a run that has just
                # continued as new on the target answers before its records are restored, so
                # wait for the record instead of calling it already on target.
                record = await _outcome(client, workflow_id, migration_id, wait, poll)
            if record is None and status.planVersion == to_version:
                return enduser_id, "alreadyOnTarget"
            audit.begin(
                migration_id=migration_id,
                journey_id=journey_id,
                enduser_id=enduser_id,
                from_version=record.fromVersion if record is not None else status.planVersion,
                to_version=to_version,
                mapping=dict(mapping),
                on_removed=on_removed,
                by=by,
                undoes=undoes,
            )
            if record is None:
                await client.get_workflow_handle(workflow_id).signal(
                    JourneyWorkflow.migrate, request
                )
                record = await _outcome(client, workflow_id, migration_id, wait, poll)
        except RPCError as error:
            if done is not None or audit.row(migration_id, enduser_id) is not None:
                audit.finish(migration_id, enduser_id, "failed", error.message)
            return enduser_id, "failed"
        if record is None:
            return enduser_id, "pending"
        audit.finish(migration_id, enduser_id, record.outcome, record.detail)
        return enduser_id, record.outcome

    step = max(batch_size, 1)
    for start in range(0, len(targets), step):
        batch = targets[start : start + step]
        for enduser_id, outcome in await bounded(batch, concurrency, one):
            getattr(report, outcome).append(enduser_id)
        report.batches += 1
        if progress is not None:
            progress(MigrationProgress(done=start + len(batch), total=len(targets)))
    return report


async def undo_migration(
    client: Any,
    plans: PlanStore,
    audit: MigrationAudit,
    migration_id: str,
    *,
    by: str,
    batch_size: int = 100,
    wait: timedelta = timedelta(seconds=30),
    progress: Callable[[MigrationProgress], None] | None = None,
) -> list[MigrationReport]:
    """Move the enrollments a migration moved back to the versions they came from, with the
    inverse mapping, as migration `{migration_id}-undo`. Steps the migration cancelled stay
    cancelled (docs/decisions.md D29). NotFound for an unknown migration."""
    rows = [r for r in audit.rows(migration_id) if r.outcome == "migrated"]
    if not audit.rows(migration_id):
        raise NotFound(f'no migration "{migration_id}"', {"migrationId": migration_id})
    by_version: dict[str, list[str]] = {}
    for row in rows:
        if row.from_version != row.to_version:
            by_version.setdefault(row.from_version, []).append(row.enduser_id)
    reports = []
    for version, endusers in sorted(by_version.items()):
        first = next(r for r in rows if r.from_version == version)
        reports.append(
            await apply_migration(
                client,
                plans,
                None,
                audit,
                first.journey_id,
                version,
                inverse(first.mapping),
                "cancel" if first.on_removed == "cancel" else "keep",
                by=by,
                migration_id=f"{migration_id}-undo",
                undoes=migration_id,
                endusers=endusers,
                batch_size=batch_size,
                wait=wait,
                progress=progress,
            )
        )
    return reports
