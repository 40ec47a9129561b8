"""Events into the trigger engine (`triggers/`): Tellescope's admin trigger-events endpoint
(docs/semantics.md §9.5) and the normalised event for systems other than Tellescope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import TypeAdapter, ValidationError

from api.deps import StoreDep, TellescopeDep, TriggerDepsDep
from api.errors import not_found, validation_error
from api.schemas import TriggerEventsRequest, TriggerEventsResponse
from models.triggers import AutomationTriggerAction
from services.journeys import require_endusers
from triggers.dispatch import dispatch_event, fire_trigger
from triggers.events import IncomingEvent
from triggers.models import DispatchReport

router = APIRouter(prefix="/v1", tags=["events"])
_TRIGGER_ACTION = TypeAdapter(AutomationTriggerAction)


def _known_triggers(store) -> set[str]:
    return {
        trigger.id
        for plan in store.plans.current_plans()
        for trigger in plan.triggers
        if trigger.id
    }


@router.post(
    "/automation-triggers/trigger-events",
    response_model=TriggerEventsResponse,
    summary="Fire triggers' actions for endusers without checking their events (admin)",
)
async def trigger_events(
    body: TriggerEventsRequest,
    store: StoreDep,
    tellescope: TellescopeDep,
    deps: TriggerDepsDep,
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
    results = []
    try:
        for item, action in zip(body.triggers, actions, strict=True):
            results.append(
                await fire_trigger(
                    item.automationTriggerId,
                    item.enduserId,
                    item.journeyContext,
                    deps,
                    inline_action=action,
                )
            )
    except LookupError as error:  # deleted meanwhile
        raise not_found(str(error).strip("'\"")) from None
    return TriggerEventsResponse(results=results)


@router.post(
    "/events",
    response_model=DispatchReport,
    summary="A normalised event from a system other than Tellescope, into the trigger engine",
)
async def post_event(
    event: IncomingEvent, tellescope: TellescopeDep, deps: TriggerDepsDep
) -> DispatchReport:
    await require_endusers(tellescope, [event.enduserId])
    return await dispatch_event(event, deps)
