"""The AutomatedAction ledger in Tellescope's shape (docs/semantics.md §6.1): listing and
journey statistics.

Rows keep our readable ids; Tellescope clients see Tellescope ids: `journeyId` is the journey's
record id, `automationStepId` the step's id (`models.plan.tellescope_id`), and so are the step ids
inside the event snapshot and its cancel conditions.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from models.plan import OBJECT_ID, JourneyPlan, tellescope_id
from rules.dates import iso_ms
from services.errors import InvalidInput, MalformedInput
from store.ledger import Ledger
from store.plans import PlanStore
from store.tables import AutomatedActionRow

STATUSES = ("active", "finished", "cancelled", "error")


class FilterError(InvalidInput):
    """A filter the listing cannot apply; `path` names the offending key."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"Error parsing field filter: {message}", path=path)


def _step_ref(journey_id: str, step: Any) -> Any:
    return tellescope_id(journey_id, step) if isinstance(step, str) and step else step


def _cancel_condition(row: AutomatedActionRow, condition: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"automationStepId": _step_ref(row.journey_id, condition.get("stepId"))}
    if condition.get("type") == "formResponses" and row.unsubmitted_form_count is not None:
        info["unsubmittedFormCount"] = row.unsubmitted_form_count  # 2 -> 1 -> 0 as forms come in
    return {"type": condition.get("type"), "info": info}


def to_tellescope(row: AutomatedActionRow, journey_records: dict[str, str]) -> dict[str, Any]:
    """One ledger row as Tellescope's AutomatedAction JSON."""
    event = copy.deepcopy(row.event)
    info = event.get("info")
    # Created through the API (services.adhoc_actions): the step ids are the caller's, as given.
    if isinstance(info, dict) and not row.workflow_id.startswith("automated-action:"):
        if "automationStepId" in info:
            info["automationStepId"] = _step_ref(row.journey_id, info["automationStepId"])
        for condition in info.get("cancelConditions") or []:
            cinfo = condition.get("info") if isinstance(condition, dict) else None
            if isinstance(cinfo, dict) and "automationStepId" in cinfo:
                cinfo["automationStepId"] = _step_ref(row.journey_id, cinfo["automationStepId"])
    action = copy.deepcopy(row.action)
    ainfo = action.get("info")
    if isinstance(ainfo, dict) and isinstance(ainfo.get("journeyId"), str):
        target = ainfo["journeyId"]
        ainfo["journeyId"] = journey_records.get(target, target)
    record: dict[str, Any] = {
        "id": row.id,
        "enduserId": row.enduser_id,
        "journeyId": row.tellescope_journey_id,
        "automationStepId": row.tellescope_step_id,
        "event": event,
        "action": action,
        "status": row.status,
        "processAfter": row.process_after,
        "createdAt": iso_ms(row.created_at),
        "updatedAt": iso_ms(row.updated_at),
    }
    if row.cancel_reason is not None:
        record["cancelReason"] = row.cancel_reason
    if row.cancelled_by:
        record["cancelledBy"] = row.cancelled_by
    if row.cancel_conditions and row.workflow_id.startswith("automated-action:"):
        record["cancelConditions"] = copy.deepcopy(row.cancel_conditions)  # as created
    elif row.cancel_conditions:
        record["cancelConditions"] = [
            _cancel_condition(row, c) for c in row.cancel_conditions if isinstance(c, dict)
        ]
    if row.is_nop:
        record["isNOP"] = True  # done in the foreground (a ticket closed by hand), not executed
    if row.skipped:
        record["skipped"] = (
            row.skipped
        )  # why a finished action did nothing (docs/semantics.md §6.1)
    if row.acting_enduser_id:
        # switchToRelatedContact: the action was the related contact's (docs/semantics.md §8.4)
        record["enduserId"] = row.acting_enduser_id
    if row.did_delay_for_out_of_office:
        record["didDelayForOutOfOffice"] = True
    if row.error_message:
        record["errorMessage"] = row.error_message
    if row.enduser_conditions:
        record["enduserConditions"] = row.enduser_conditions
    if row.journey_context:
        record["journeyContext"] = row.journey_context
    return record


def journey_records(plans: PlanStore) -> dict[str, str]:
    """readable journey id -> Tellescope record id, for every deployed journey."""
    return {row.journey_id: row.tellescope_journey_id for row in plans.current_rows()}


def _values(key: str, value: Any) -> Any:
    """A filter value: a scalar, or `{"_in": [...]}`."""
    if isinstance(value, dict):
        if set(value) == {"_in"} and isinstance(value["_in"], list):
            if not all(isinstance(v, str | int) for v in value["_in"]):
                raise FilterError(f"filter.{key}._in must list strings", f"filter.{key}._in")
            return list(value["_in"])
        raise FilterError(f"filter.{key}: only equality and _in are supported", f"filter.{key}")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FilterError(f"filter.{key} must be a string or {{_in: [...]}}", f"filter.{key}")
    return value


def translate_filter(filter: dict[str, Any], plans: PlanStore) -> dict[str, Any]:
    """Tellescope filter -> ledger columns. journeyId/automationStepId may be Tellescope or
    readable ids."""
    readable_journeys = set(plans.journey_ids())
    where: dict[str, Any] = {}
    for key, raw in filter.items():
        value = _values(key, raw)
        values = value if isinstance(value, list) else [value]
        if key == "id":
            where["id"] = value
        elif key == "enduserId":
            where["enduser_id"] = value
        elif key == "status":
            bad = [v for v in values if v not in STATUSES]
            if bad:
                raise FilterError(
                    f"filter.status: {bad[0]!r} is not one of {', '.join(STATUSES)}",
                    "filter.status",
                )
            where["status"] = value
        elif key == "cancelReason":
            try:
                numbers = [int(v) for v in values]
            except ValueError:
                raise FilterError(
                    "filter.cancelReason must be a number", "filter.cancelReason"
                ) from None
            where["cancel_reason"] = numbers if isinstance(value, list) else numbers[0]
        elif key == "journeyId":
            if all(v in readable_journeys for v in values):
                where["journey_id"] = value
            else:
                where["tellescope_journey_id"] = value
        elif key == "automationStepId":
            if all(isinstance(v, str) and OBJECT_ID.match(v) for v in values):
                where["tellescope_step_id"] = value
            else:
                where["automation_step_id"] = value
        else:
            raise FilterError(
                f"filter.{key} is not supported (use id, enduserId, journeyId,"
                " automationStepId, status or cancelReason)",
                f"filter.{key}",
            )
    return where


def list_actions(
    ledger: Ledger,
    plans: PlanStore,
    *,
    filter: dict[str, Any],
    last_id: str | None,
    limit: int,
    newest_first: bool,
    created_from: datetime | None,
    created_to: datetime | None,
) -> list[dict[str, Any]]:
    where = translate_filter(filter, plans)
    try:
        rows = ledger.query(
            where=where,
            last_id=last_id,
            limit=limit,
            newest_first=newest_first,
            created_from=created_from,
            created_to=created_to,
        )
    except LookupError as error:  # a lastId that names no row
        raise MalformedInput(str(error).strip("'\""), path="lastId") from None
    records = journey_records(plans)
    return [to_tellescope(row, records) for row in rows]


def _zero() -> dict[str, Any]:
    return {"count": 0, "activeCount": 0, "finishedCount": 0, "errorCount": 0, "cancelledCount": 0}


def statistics(ledger: Ledger, plan: JourneyPlan) -> dict[str, Any]:
    """docs/semantics.md §6.2: per step (Tellescope step id) counts by status, over every
    version; steps of the current version are listed even before they ran. `abTestLabels` counts
    the chosen A/B labels (docs/decisions.md D1); `stepNames` maps the ids back to readable
    step ids."""
    steps: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for step_id in plan.steps:
        record_id = plan.tellescopeStepIds[step_id]
        steps[record_id] = _zero()
        names[record_id] = step_id
    for step_id, record_id, status, label, count in ledger.step_counts(plan.journeyId):
        entry = steps.setdefault(record_id, _zero())
        names.setdefault(record_id, step_id)
        entry["count"] += count
        key = f"{status}Count"
        entry[key] = entry.get(key, 0) + count
        if label:
            labels = entry.setdefault("abTestLabels", {})
            labels[label] = labels.get(label, 0) + count
    return {"steps": steps, "stepNames": names}
