"""Events into the trigger engine: Tellescope's admin trigger-events endpoint
(docs/semantics.md §9.5) and the normalised event for systems other than Tellescope. Both go through
`api.seam` to `triggers/`; until that package is installed they answer 501."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import TypeAdapter, ValidationError

from api import seam
from api.deps import StateDep, StoreDep, TellescopeDep, TemporalDep
from api.errors import ApiError, not_found, parse_json, validation_error
from api.openapi_extra import json_body, schema_of
from api.schemas import TriggerEventsRequest, TriggerEventsResponse
from api.services.journeys import require_endusers
from models.triggers import AutomationTriggerAction

router = APIRouter(prefix="/v1", tags=["events"])
_TRIGGER_ACTION = TypeAdapter(AutomationTriggerAction)


def _unavailable(error: seam.TriggersUnavailable) -> ApiError:
    return ApiError(501, str(error))


def _known_triggers(store) -> set[str]:
    return {
        trigger.id
        for plan in store.plans.current_plans()
        for trigger in plan.triggers
        if trigger.id
    }


def deps_for(state, temporal) -> Any:
    return seam.make_deps(
        client=temporal,
        plans=state.store.plans,
        ledger=state.store.ledger,
        task_queue=state.task_queue,
        tellescope=state.tellescope,
    )


@router.post(
    "/automation-triggers/trigger-events",
    response_model=TriggerEventsResponse,
    summary="Fire triggers' actions for endusers without checking their events (admin)",
)
async def trigger_events(
    body: TriggerEventsRequest,
    store: StoreDep,
    temporal: TemporalDep,
    tellescope: TellescopeDep,
    state: StateDep,
) -> TriggerEventsResponse:
    # Every check before the first firing: bad input changes nothing.
    known = _known_triggers(store)
    actions: list[Any] = []
    for index, item in enumerate(body.triggers):
        trigger_id = item.automationTriggerId
        if item.action is None:
            if trigger_id not in known:
                raise not_found(
                    f'Could not find a trigger "{trigger_id}"',
                    path=f"triggers[{index}].automationTriggerId",
                )
            actions.append(None)
            continue
        try:
            actions.append(_TRIGGER_ACTION.validate_python(item.action))
        except ValidationError as error:
            raise validation_error(error, ("triggers", index, "action")) from None
    await require_endusers(tellescope, [item.enduserId for item in body.triggers])
    try:
        deps = deps_for(state, temporal)
        results = []
        for item, action in zip(body.triggers, actions, strict=True):
            result = await seam.fire_trigger(
                item.automationTriggerId,
                item.enduserId,
                item.journeyContext,
                deps,
                inline_action=action,
            )
            results.append(seam.to_jsonable(result))
    except seam.TriggersUnavailable as error:
        raise _unavailable(error) from None
    except LookupError as error:  # deleted meanwhile
        raise not_found(str(error).strip("'\"")) from None
    return TriggerEventsResponse(results=results)


def _event_schema() -> dict[str, Any]:
    model = seam.event_model()
    schema = schema_of(model) if model is not None else {"type": "object"}
    return json_body(schema)


@router.post(
    "/events",
    summary="A normalised event from a system other than Tellescope, into the trigger engine",
    openapi_extra=_event_schema(),
    response_model=dict[str, Any],
)
async def post_event(request: Request, temporal: TemporalDep, state: StateDep) -> dict[str, Any]:
    data = parse_json(await request.body())
    try:
        model = seam.event_model()
        if model is None:
            raise seam.TriggersUnavailable(
                "the trigger engine is not installed (triggers.events.IncomingEvent is missing)"
            )
        try:
            event = model.model_validate(data)
        except ValidationError as error:
            raise validation_error(error) from None
        await require_endusers(state.tellescope, [event.enduserId])
        report = await seam.dispatch_event(event, deps_for(state, temporal))
    except seam.TriggersUnavailable as error:
        raise _unavailable(error) from None
    result = seam.to_jsonable(report)
    return result if isinstance(result, dict) else {"report": result}
