"""Moving an enrollment's state to another version of its journey (docs/live-change.md §3,
docs/decisions.md D29): pure, so the workflow can run it and the preview can share its rules.

A pending action moves to the step of the same id in the target version, or to the one the
mapping names, and to that step's event of the same type whose parent is the (mapped) parent of
the old event. It keeps its due time unless the event's delay changed: then the due time moves
by the difference (the action still counts from when it was created). An action with no such
event in the target is `removed`. Steps already done are history: nothing of them re-runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models.enrollment import ActionState, CancelOn, EnrollmentState
from models.events import AutomationEvent, delay_info, parent_step_id
from models.plan import JourneyPlan


@dataclass
class Remapped:
    """The target's state (pending actions moved), and what happened to each action."""

    state: EnrollmentState
    moved: dict[str, str] = field(default_factory=dict)  # action id -> "old -> new" line
    retimed: dict[str, int] = field(default_factory=dict)  # action id -> ms moved
    removed: list[ActionState] = field(default_factory=list)  # no event in the target


def target_event(
    old: JourneyPlan,
    target: JourneyPlan,
    step_id: str,
    event_index: int,
    mapping: Mapping[str, str],
) -> tuple[str, int] | None:
    """(step, event index) in the target for an action of `old`; None when the target lacks it."""
    event = old.steps[step_id].events[event_index]
    to_step = mapping.get(step_id, step_id)
    if to_step not in target.steps:
        return None
    parent = parent_step_id(event)
    to_parent = mapping.get(parent, parent) if parent is not None else None
    for index, candidate in enumerate(target.steps[to_step].events):
        if candidate.type == event.type and parent_step_id(candidate) == to_parent:
            return to_step, index
    return None


def delay_ms(event: AutomationEvent) -> int | None:
    info = delay_info(event)
    return info.delayInMS if info is not None else None


def _step(mapping: Mapping[str, str], step_id: str) -> str:
    return mapping.get(step_id, step_id)


def remap(
    state: EnrollmentState,
    old: JourneyPlan,
    target: JourneyPlan,
    mapping: Mapping[str, str],
) -> Remapped:
    """The state the enrollment would have on `target` (the input is not changed)."""
    moved = state.model_copy(deep=True)
    result = Remapped(state=moved)
    actions: dict[str, ActionState] = {}
    for action in moved.actions.values():
        found = target_event(old, target, action.stepId, action.eventIndex, mapping)
        if found is None:
            result.removed.append(action)
            continue
        to_step, to_index = found
        before = delay_ms(old.steps[action.stepId].events[action.eventIndex])
        after = delay_ms(target.steps[to_step].events[to_index])
        line = f"{action.stepId} -> {to_step}"
        if (
            action.scheduled
            and action.processAfter is not None
            and before is not None
            and after is not None
            and before != after
        ):
            action.processAfter += after - before
            result.retimed[action.id] = after - before
            line += f" (re-timed by {(after - before) / 3_600_000:+g} h)"
        result.moved[action.id] = line
        action.stepId, action.eventIndex = to_step, to_index
        action.cancelConditions = _conditions(action.cancelConditions, mapping)
        action.inheritable = _conditions(action.inheritable, mapping)
        actions[action.id] = action
    moved.actions = actions
    # What finished steps still listen for follows their step; a step the target lacks has
    # no children there, so its forms and tickets start nothing any more.
    moved.forms = {
        _step(mapping, s): t for s, t in moved.forms.items() if _step(mapping, s) in target.steps
    }
    moved.submissions = {_step(mapping, s): f for s, f in moved.submissions.items()}
    moved.tickets = {
        t: _step(mapping, s) for t, s in moved.tickets.items() if _step(mapping, s) in target.steps
    }
    moved.awaitingOutcome = [
        _step(mapping, s) for s in moved.awaitingOutcome if _step(mapping, s) in target.steps
    ]
    moved.stepEndusers = {_step(mapping, s): e for s, e in moved.stepEndusers.items()}
    moved.failedSteps = {_step(mapping, s) for s in moved.failedSteps}
    return result


def _conditions(conditions: list[CancelOn], mapping: Mapping[str, str]) -> list[CancelOn]:
    return [c.model_copy(update={"stepId": _step(mapping, c.stepId)}) for c in conditions]


def inverse(mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping that moves enrollments back (undo)."""
    return {new: old for old, new in mapping.items()}
