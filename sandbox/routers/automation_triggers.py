"""`POST /v1/automation-triggers/trigger-events {triggers: [{automationTriggerId, enduserId,
journeyContext?}]}` → `{}` (Tellescope: "Triggers a list of events for endusers", admin only).

The sandbox runs no automations, but it carries out the trigger actions whose effect is a plain
record write, as Tellescope does: `Add To Journey` (`journeys[journeyId] = ""`), `Remove From
Journey`, `Add Tags`, `Remove Tags`, `Set Fields`. Other action types are accepted and do nothing.
A trigger whose `status` is not `Active` does nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.behaviour.endusers import remove_from_journey, set_journey_state
from sandbox.errors import invalid_field, missing_field
from sandbox.ids import is_object_id
from sandbox.records import Caller, RecordService
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_caller)], tags=["automation_triggers"])


@router.post("/v1/automation-triggers/trigger-events")
async def trigger_events(request: Request, caller: CallerDep) -> Any:
    records = sandbox_of(request).records
    triggers = (await body_without_key(request)).get("triggers")
    if triggers is None:
        raise missing_field("triggers")
    if not isinstance(triggers, list):
        raise invalid_field("triggers", f"Expecting a list of values but got {triggers}")
    resolved = []
    for item in triggers:
        if not isinstance(item, dict):
            raise invalid_field("triggers", f"Expecting an object but got {item}")
        for key in ("automationTriggerId", "enduserId"):
            if item.get(key) is None:
                raise missing_field(f"triggers.{key}")
            if not is_object_id(item[key]):
                raise invalid_field(f"triggers.{key}", "Invalid id")
        trigger = records.get("automation_triggers", item["automationTriggerId"])
        records.get("endusers", item["enduserId"])
        resolved.append((trigger, item["enduserId"]))
    for trigger, enduser_id in resolved:
        if trigger.get("status") == "Active":
            run_trigger_action(records, caller, trigger.get("action") or {}, enduser_id)
    return {}


def run_trigger_action(
    records: RecordService, caller: Caller, action: dict[str, Any], enduser_id: str
) -> None:
    info = action.get("info") or {}
    kind = action.get("type")
    if kind == "Add To Journey" and info.get("journeyId"):
        set_journey_state(records, caller, enduser_id, info["journeyId"], "")
    elif kind == "Remove From Journey" and info.get("journeyId"):
        remove_from_journey(records, caller, enduser_id, info["journeyId"])
    elif kind == "Add Tags" and info.get("tags"):
        records.update(caller, "endusers", enduser_id, {"tags": list(info["tags"])})
    elif kind == "Remove Tags" and info.get("tags"):
        enduser = records.get("endusers", enduser_id)
        kept = [t for t in enduser.get("tags") or [] if t not in info["tags"]]
        records.update(caller, "endusers", enduser_id, {"tags": kept}, replace_object_fields=True)
    elif kind == "Set Fields" and info.get("fields"):
        fields = {f["field"]: f.get("value") for f in info["fields"] if isinstance(f, dict)}
        if fields:
            records.update(caller, "endusers", enduser_id, {"fields": fields})
