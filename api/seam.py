"""The seam to the trigger engine (`triggers/`, built beside this package).

Everything the API needs from it goes through here and is imported lazily, so the API, the CLI
and their tests work before that package exists (its routes then answer 501 with a clear
message) and pick it up as soon as it does. The contract:

    triggers/dispatch.py   @dataclass TriggerDeps(client, plans, ledger, task_queue,
                                              tellescope, now)
                           async def dispatch_event(event, deps) -> DispatchReport
                           async def fire_trigger(trigger_id, enduser_id, journey_context, deps,
                                                  *, inline_action=None)
    triggers/intake.py     async def process_webhook(payload: dict, deps) -> IntakeReport
    triggers/events.py     class IncomingEvent (pydantic)
    triggers/schedules.py  async def sync_schedules(client, plans, task_queue)
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from pydantic import BaseModel


class TriggersUnavailable(RuntimeError):
    """The trigger engine package is not installed (yet)."""


def module(name: str) -> ModuleType | None:
    """`triggers.<name>`, or None when the package or that module does not exist. Any other
    import error (a bug inside it) propagates."""
    qualified = f"triggers.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name in ("triggers", qualified):
            return None
        raise


def require(name: str, attribute: str) -> Any:
    found = module(name)
    if found is None or not hasattr(found, attribute):
        raise TriggersUnavailable(
            f"the trigger engine is not installed (triggers.{name}.{attribute} is missing)"
        )
    return getattr(found, attribute)


def available(name: str, attribute: str) -> bool:
    try:
        require(name, attribute)
    except TriggersUnavailable:
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def make_deps(*, client, plans, ledger, task_queue: str, tellescope, now: Callable | None = None):
    """A `TriggerDeps` from what the API holds. Fields are matched by name, so a field the
    dataclass gives a default may be left out; `now` is passed as a clock (callable) unless the
    field is annotated as a plain datetime."""
    deps_type = require("dispatch", "TriggerDeps")
    clock = now or _now
    available_values: dict[str, Any] = {
        "client": client,
        "plans": plans,
        "ledger": ledger,
        "task_queue": task_queue,
        "tellescope": tellescope,
    }
    values: dict[str, Any] = {}
    fields = dataclasses.fields(deps_type) if dataclasses.is_dataclass(deps_type) else ()
    for field in fields:
        if field.name in available_values:
            values[field.name] = available_values[field.name]
        elif field.name == "now":
            annotation = str(field.type)
            plain = annotation.strip("'\"") in ("datetime", "datetime.datetime")
            values["now"] = clock() if plain else clock
    if not fields:  # not a dataclass: hand it everything by keyword
        values = {**available_values, "now": clock}
    return deps_type(**values)


async def process_webhook(payload: dict[str, Any], deps: Any) -> Any:
    return await require("intake", "process_webhook")(payload, deps)


def event_model() -> type[BaseModel] | None:
    found = module("events")
    model = getattr(found, "IncomingEvent", None) if found is not None else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


async def dispatch_event(event: Any, deps: Any) -> Any:
    return await require("dispatch", "dispatch_event")(event, deps)


async def fire_trigger(
    trigger_id: str,
    enduser_id: str,
    journey_context: Any,
    deps: Any,
    *,
    inline_action: Any = None,
) -> Any:
    fire = require("dispatch", "fire_trigger")
    return await fire(trigger_id, enduser_id, journey_context, deps, inline_action=inline_action)


async def sync_schedules(client: Any, plans: Any, task_queue: str) -> Any:
    return await require("schedules", "sync_schedules")(client, plans, task_queue)


def to_jsonable(value: Any) -> Any:
    """A report (pydantic model, dataclass, mapping, list, scalar) as JSON-ready data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
