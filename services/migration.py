"""Migrating running enrollments to another version of their journey: the preview (dry run).

`preview_migration` reports, for every running enrollment on another version, what it waits for
now and what it would wait for on the target version, changing nothing (docs/live-change.md §3,
docs/decisions.md D29). Applying a migration is not implemented: `apply_migration` raises
NotImplementedError naming the document, so nothing half-applies.

A pending action maps to the target step of the same id, or to the one `mapping` names. It keeps
its due time unless the target event's delay differs (then it is re-timed from when it was
created: the old due time minus the old delay plus the new one). A step the target lacks is
cancelled or kept on its old definition (`onRemoved`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from models.enrollment import EnrollmentStatus, PendingView
from models.events import AutomationEvent, delay_info, parent_step_id
from models.plan import JourneyPlan
from models.runtime import enrollment_workflow_id
from services.enrollments import bounded, describe_running, query_status
from services.errors import InvalidInput, NotFound
from services.pausing import running_endusers
from store.ledger import Ledger
from store.plans import PlanNotFound, PlanStore

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
        for pending in status.pending:
            move = move_of(pending, old, target, mapping, on_removed)
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


def apply_migration(*_: Any, **__: Any) -> None:
    """Applying (and undoing) a migration is not built yet: docs/decisions.md D29."""
    raise NotImplementedError(
        "applying a migration is not implemented yet (docs/live-change.md §3): preview it with"
        " a dry run; running enrollments stay on their version"
    )
