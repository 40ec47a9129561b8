"""Semantic checks on parsed journeys: references, graph shape and Tellescope's constraints.

Each check returns `CompileError`s and never raises, so every problem is reported in one run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from compiler.errors import CompileError
from compiler.parse import ParsedJourney
from compiler.pydantic_errors import did_you_mean
from compiler.yaml_source import PathPart
from models import DEPRECATED_TRIGGER_EVENT_TYPES, FORM_PRODUCING_ACTIONS
from models.events import (
    AfterActionEvent,
    AutomationEvent,
    Fires,
    FormsUnsubmittedEvent,
    FormUnsubmittedEvent,
    WaitForTriggerEvent,
    delay_info,
    parent_step_id,
    traits,
)
from models.triggers import AutomationTrigger

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")  # a Tellescope record id: a journey outside this repo

JOURNEY_ACTIONS = ("addToJourney", "removeFromJourney")
JOURNEY_TRIGGER_ACTIONS = ("Add To Journey", "Remove From Journey")


def check_all(journeys: list[ParsedJourney]) -> list[CompileError]:
    errors: list[CompileError] = []
    known_journeys: dict[str, ParsedJourney] = {}
    for parsed in journeys:
        first = known_journeys.get(parsed.journey_id)
        if first is not None:
            errors.append(
                parsed.error(
                    ["journey", "id"],
                    f'duplicate journey id "{parsed.journey_id}" (also in {first.doc.file})',
                )
            )
            continue
        known_journeys[parsed.journey_id] = parsed
    triggers = {tid: (p, t) for p in journeys for tid, t in p.triggers.items()}
    for parsed in journeys:
        errors += check_states(parsed)
        errors += check_step_references(parsed)
        errors += check_parent_kinds(parsed)
        errors += check_wait_for_trigger(parsed, triggers)
        errors += check_journey_references(parsed, set(known_journeys))
        errors += check_triggers(parsed, set(known_journeys))
        errors += check_cycles(parsed)
    return errors


def check_states(parsed: ParsedJourney) -> list[CompileError]:
    journey = parsed.journey
    if journey is None:
        return []
    errors: list[CompileError] = []
    seen: set[str] = set()
    names = [s.name for s in journey.states or []]
    for index, name in enumerate(names):
        if name in seen:
            errors.append(
                parsed.error(["journey", "states", index, "name"], f'duplicate state "{name}"')
            )
        seen.add(name)
    default = journey.defaultState
    if default and names and default not in seen:
        errors.append(
            parsed.error(
                ["journey", "defaultState"],
                f'defaultState "{default}" is not one of the states'
                f" ({', '.join(names)}){did_you_mean(default, names)}",
            )
        )
    return errors


def _events(parsed: ParsedJourney) -> Iterable[tuple[str, int, AutomationEvent]]:
    for step_id, step in parsed.steps.items():
        for index, event in enumerate(step.events):
            yield step_id, index, event


def check_step_references(parsed: ParsedJourney) -> list[CompileError]:
    errors: list[CompileError] = []
    ids = list(parsed.steps)
    for step_id, index, event in _events(parsed):
        parent = parent_step_id(event)
        if parent is not None and parent not in parsed.steps:
            errors.append(
                parsed.error(
                    parsed.step_path(step_id, "events", index, "info", "automationStepId"),
                    f'unknown step "{parent}"{did_you_mean(parent, ids)}',
                )
            )
        info = delay_info(event)
        conditions = (info.cancelConditions if info is not None else None) or []
        for c_index, condition in enumerate(conditions):
            target = condition.info.automationStepId
            if target not in parsed.steps:
                errors.append(
                    parsed.error(
                        parsed.step_path(
                            step_id,
                            "events",
                            index,
                            "info",
                            "cancelConditions",
                            c_index,
                            "info",
                            "automationStepId",
                        ),
                        f'unknown step "{target}"{did_you_mean(target, ids)}',
                    )
                )
    return errors


def check_parent_kinds(parsed: ParsedJourney) -> list[CompileError]:
    errors: list[CompileError] = []
    for step_id, index, event in _events(parsed):
        parent_id = parent_step_id(event)
        parent = parsed.steps.get(parent_id) if parent_id else None
        if parent is None:
            continue
        parent_action = parent.action.type
        path = parsed.step_path(step_id, "events", index, "type")
        event_traits = traits(event)
        if event_traits.form_parent and parent_action not in FORM_PRODUCING_ACTIONS:
            errors.append(
                parsed.error(
                    path,
                    f'{event.type} needs a parent that sends a form, but "{parent_id}" is'
                    f" {parent_action} (form-producing actions:"
                    f" {', '.join(sorted(FORM_PRODUCING_ACTIONS))})",
                )
            )
        # the event type's parent must be a specific action type
        required = event_traits.parent_actions
        if required and parent_action not in required:
            errors.append(
                parsed.error(
                    path,
                    f"{event.type} needs {_a(' or '.join(required))} parent, but"
                    f' "{parent_id}" is {parent_action}',
                )
            )
    return errors


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def check_wait_for_trigger(
    parsed: ParsedJourney, triggers: dict[str, tuple[ParsedJourney, AutomationTrigger]]
) -> list[CompileError]:
    errors: list[CompileError] = []
    for step_id, index, event in _events(parsed):
        if not isinstance(event, WaitForTriggerEvent):
            continue
        trigger_id = event.info.triggerId
        path = parsed.step_path(step_id, "events", index, "info", "triggerId")
        found = triggers.get(trigger_id)
        if found is None:
            errors.append(
                parsed.error(
                    path,
                    f'unknown trigger "{trigger_id}"{did_you_mean(trigger_id, list(triggers))}',
                )
            )
            continue
        _, trigger = found
        if trigger.action.type != "Move To Step":
            errors.append(
                parsed.error(
                    path,
                    f'trigger "{trigger_id}" must have action "Move To Step" to release this step'
                    f' (it has "{trigger.action.type}")',
                )
            )
        if trigger.journeyId != parsed.journey_id:
            errors.append(
                parsed.error(
                    path,
                    f'trigger "{trigger_id}" must be scoped to this journey'
                    f" (journeyId: {parsed.journey_id})",
                )
            )
    return errors


def _journey_ref_error(
    parsed: ParsedJourney, path: list[PathPart], journey_id: str, known: set[str]
) -> list[CompileError]:
    if journey_id in known or OBJECT_ID.match(journey_id):
        return []
    return [
        parsed.error(
            path, f'unknown journey "{journey_id}"{did_you_mean(journey_id, sorted(known))}'
        )
    ]


def check_journey_references(parsed: ParsedJourney, known: set[str]) -> list[CompileError]:
    errors: list[CompileError] = []
    for step_id, step in parsed.steps.items():
        if step.action.type in JOURNEY_ACTIONS:
            path = parsed.step_path(step_id, "action", "info", "journeyId")
            errors += _journey_ref_error(parsed, path, step.action.info.journeyId, known)
        for index, condition in enumerate(step.conditions or []):
            # atJourneyState (docs/semantics.md §4.1): the journey whose state gates the step.
            path = parsed.step_path(step_id, "conditions", index, "info", "journeyId")
            errors += _journey_ref_error(parsed, path, condition.info.journeyId, known)
    return errors


def check_triggers(parsed: ParsedJourney, known: set[str]) -> list[CompileError]:
    errors: list[CompileError] = []
    for trigger_id, trigger in parsed.triggers.items():
        if trigger.event.type in DEPRECATED_TRIGGER_EVENT_TYPES:
            errors.append(
                parsed.error(
                    parsed.trigger_path(trigger_id, "event", "type"),
                    f'trigger event "{trigger.event.type}" is deprecated and cannot be used:'
                    " use a formUnsubmitted step event instead",
                )
            )
        if trigger.journeyId:
            path = parsed.trigger_path(trigger_id, "journeyId")
            errors += _journey_ref_error(parsed, path, trigger.journeyId, known)
        if trigger.action.type in JOURNEY_TRIGGER_ACTIONS:
            path = parsed.trigger_path(trigger_id, "action", "info", "journeyId")
            errors += _journey_ref_error(parsed, path, trigger.action.info.journeyId, known)
        if trigger.action.type == "Move To Step" and not trigger.journeyId:
            errors.append(
                parsed.error(
                    parsed.trigger_path(trigger_id, "action", "type"),
                    '"Move To Step" needs the trigger to be scoped to a journey (journeyId)',
                )
            )
    return errors


def is_immediate(event: AutomationEvent) -> bool:
    """True when the child runs as soon as its parent finishes, with no delay and no wait."""
    # Events that wait for the outside world (a person, a ticket, a trigger): a loop through
    # them cannot spin on its own.
    if traits(event).waits or traits(event).fires is Fires.JOURNEY_START:
        return False
    match event:
        case AfterActionEvent(info=info):
            dated = any(
                (
                    info.dayOfMonthCondition,
                    info.fieldCondition,
                    info.formCondition,
                    info.eventCondition,
                )
            )
            return not dated and not (info.delayInMS or 0)
        case FormUnsubmittedEvent(info=info) | FormsUnsubmittedEvent(info=info):
            return not (info.delayInMS or 0)
    return True  # onError, onAIDecision: decided by the engine itself, at once


def check_cycles(parsed: ParsedJourney) -> list[CompileError]:
    """Report each cycle whose every hop is immediate: it would run steps in a tight loop."""
    edges: dict[str, list[tuple[str, int]]] = {step_id: [] for step_id in parsed.steps}
    for step_id, index, event in _events(parsed):
        parent = parent_step_id(event)
        if parent in edges and is_immediate(event):
            edges[parent].append((step_id, index))
    errors: list[CompileError] = []
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = fully explored
    for root in parsed.steps:
        if root in state:
            continue
        # iterative depth-first search: a long chain of steps must not hit the recursion limit
        path: list[str] = [root]
        cursors: list[int] = [0]
        state[root] = 1
        while path:
            node, cursor = path[-1], cursors[-1]
            if cursor == len(edges[node]):
                state[node] = 2
                path.pop()
                cursors.pop()
                continue
            cursors[-1] += 1
            child, event_index = edges[node][cursor]
            if state.get(child) == 1:
                cycle = path[path.index(child) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    loop = " -> ".join([*cycle, child])
                    errors.append(
                        parsed.error(
                            parsed.step_path(child, "events", event_index),
                            f"cycle without any delay or wait: {loop}",
                        )
                    )
            elif child not in state:
                state[child] = 1
                path.append(child)
                cursors.append(0)
    return errors
