"""Turning a journey YAML document into typed models, one section at a time.

Each step and trigger is validated on its own, so one broken step does not hide the errors of the
others. `delayInMS` is derived from `delay` + `unit` before validation when the author omitted it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compiler.errors import CompileError, CompileWarning
from compiler.pydantic_errors import translate
from compiler.yaml_source import PathPart, YamlDocument, dotted
from models.events import DELAY_EVENT_TYPES
from models.journey import Journey
from models.organization import Organization
from models.steps import AutomationStep
from models.triggers import AutomationTrigger
from rules.schedule import delay_in_ms


@dataclass
class ParsedJourney:
    doc: YamlDocument
    journey_id: str
    journey: Journey | None
    steps: dict[str, AutomationStep] = field(default_factory=dict)  # by id, file order
    step_index: dict[str, int] = field(default_factory=dict)  # step id -> index in `steps:`
    triggers: dict[str, AutomationTrigger] = field(default_factory=dict)
    trigger_index: dict[str, int] = field(default_factory=dict)

    def step_path(self, step_id: str, *rest: PathPart) -> list[PathPart]:
        return ["steps", self.step_index[step_id], *rest]

    def trigger_path(self, trigger_id: str, *rest: PathPart) -> list[PathPart]:
        return ["triggers", self.trigger_index[trigger_id], *rest]

    def error(self, path: Sequence[PathPart], message: str) -> CompileError:
        return self.doc.error(path, message, display_path(self.doc, path))

    def warning(self, path: Sequence[PathPart], message: str) -> CompileWarning:
        error = self.error(path, message)
        return CompileWarning(error.file, error.line, error.col, error.path, error.message)


def display_path(doc: YamlDocument, path: Sequence[PathPart]) -> str:
    """Show `steps[3]` as `steps.send-intake` (and triggers likewise) when the item has an id."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] in ("steps", "triggers") and isinstance(parts[1], int):
        items = doc.data.get(parts[0]) if isinstance(doc.data, dict) else None
        if isinstance(items, list) and parts[1] < len(items):
            item = items[parts[1]]
            item_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(item_id, str) and item_id:
                return dotted([f"{parts[0]}.{item_id}"] + parts[2:])
    return dotted(parts)


def _with_derived_delays(step: dict[str, Any]) -> dict[str, Any]:
    """Fill `delayInMS` from `delay` + `unit` where the author gave only those. The YAML data is
    left untouched (errors are located in it); events that change are copied."""
    events = step.get("events")
    if not isinstance(events, list):
        return step
    return {**step, "events": [_derive_delay(event) for event in events]}


def _derive_delay(event: Any) -> Any:
    info = event.get("info") if isinstance(event, dict) else None
    if not isinstance(info, dict) or event.get("type") not in DELAY_EVENT_TYPES:
        return event
    delay, unit = info.get("delay"), info.get("unit")
    if info.get("delayInMS") is not None or not isinstance(unit, str):
        return event
    if not isinstance(delay, int | float) or isinstance(delay, bool):
        return event
    try:
        return {**event, "info": {**info, "delayInMS": delay_in_ms(delay, unit)}}
    except (ValueError, KeyError):
        return event  # the model reports the bad unit at its place


def parse_journey(
    doc: YamlDocument, default_id: str | None = None
) -> tuple[ParsedJourney, list[CompileError]]:
    """The journey in `doc`; its id is `journey.id`, else `default_id`, else the file's stem."""
    errors: list[CompileError] = []
    data = doc.data

    def show(path: Sequence[PathPart]) -> str:
        return display_path(doc, path)

    raw_journey = data.get("journey")
    journey: Journey | None = None
    journey_id = default_id or Path(doc.file).stem
    if not isinstance(raw_journey, dict):
        errors.append(doc.error(["journey"], "expected a mapping (title, states, ...)", "journey"))
    else:
        if isinstance(raw_journey.get("id"), str) and raw_journey["id"]:
            journey_id = raw_journey["id"]
        try:
            journey = Journey.model_validate(raw_journey)
        except ValidationError as exc:
            errors.extend(translate(doc, ["journey"], exc, show))

    parsed = ParsedJourney(doc=doc, journey_id=journey_id, journey=journey)
    errors.extend(_parse_items(parsed, "steps", show))
    errors.extend(_parse_items(parsed, "triggers", show))
    return parsed, errors


def _parse_items(
    parsed: ParsedJourney, section: str, show: Callable[[Sequence[PathPart]], str]
) -> list[CompileError]:
    doc = parsed.doc
    errors: list[CompileError] = []
    items = doc.data.get(section)
    if items is None:
        if section == "steps":
            errors.append(doc.error([], 'missing required key "steps"', "steps"))
        return errors
    if not isinstance(items, list):
        return [doc.error([section], "expected a list", section)]
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(doc.error([section, index], "expected a mapping", show([section, index])))
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            errors.append(
                doc.error([section, index], 'missing required field "id"', show([section, index]))
            )
            continue
        if item_id in seen:
            line = doc.position([section, seen[item_id]])[0]
            what = "step" if section == "steps" else "trigger"
            errors.append(
                doc.error(
                    [section, index, "id"],
                    f'duplicate {what} id "{item_id}" (first defined on line {line})',
                    show([section, index, "id"]),
                )
            )
            continue
        seen[item_id] = index
        try:
            if section == "steps":
                payload = _with_derived_delays(item)
                payload.setdefault("journeyId", parsed.journey_id)
                parsed.steps[item_id] = AutomationStep.model_validate(payload)
                parsed.step_index[item_id] = index
            else:
                parsed.triggers[item_id] = AutomationTrigger.model_validate(item)
                parsed.trigger_index[item_id] = index
        except ValidationError as exc:
            errors.extend(translate(doc, [section, index], exc, show))
    return errors


def parse_organization(doc: YamlDocument) -> tuple[Organization | None, list[CompileError]]:
    try:
        return Organization.model_validate(doc.data.get("organization") or {}), []
    except ValidationError as exc:
        return None, translate(doc, ["organization"], exc, lambda p: dotted(p))
