"""AutomatedActions from the ledger, in Tellescope's JSON (docs/semantics.md §6.1), and
AutomatedActions created directly (docs/semantics.md §6.2, docs/decisions.md D22): `POST
/v1/automated-action` (or the SDK's bulk `POST /v1/automated-actions {create: [...]}`) stores one
and runs it when `processAfter` is due; `PATCH /v1/automated-action/{id}` with `status:
cancelled` (Tellescope's `{updates: {...}}`, or the fields alone) and `DELETE` cancel one still
waiting.

GET parameters arrive as Tellescope's SDK sends them: `filter` is a JSON-encoded object
(`?filter={"enduserId":"..."}`), `lastId` the id of the last record of the previous page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from api.deps import StateDep, StoreDep, TellescopeDep, TemporalDep
from api.errors import ApiError, bad_request, not_found, parse_json, unprocessable, validation_error
from models.automated_action import AutomatedAction, CancelReason
from services import adhoc_actions
from services.automated_actions import journey_records, list_actions, to_tellescope
from services.errors import Conflict
from services.journeys import require_endusers

router = APIRouter(prefix="/v1", tags=["automated-actions"])


def _json_object(text: str | None, name: str) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise bad_request(f"Error parsing field {name}: not JSON ({error})", path=name) from None
    if not isinstance(value, dict):
        raise ApiError(422, f"Error parsing field {name}: expecting an object", {"path": name})
    return value


def _date(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422, f"Error parsing field {name}: expecting an ISO 8601 date", {"path": name}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get(
    "/automated-actions",
    response_model=list[dict[str, Any]],
    summary="Get a page of AutomatedActions (newest first by default)",
)
def get_automated_actions(
    store: StoreDep,
    filter: Annotated[
        str | None,
        Query(
            max_length=10_000,
            description='JSON object: {"enduserId": ..., "journeyId": ..., "status": ...,'
            ' "automationStepId": ..., "cancelReason": ..., "id": ...}; values may be'
            ' {"_in": [...]}',
        ),
    ] = None,
    lastId: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    sort: Annotated[Literal["oldFirst", "newFirst"], Query()] = "newFirst",
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    conditions = _json_object(filter, "filter")
    return list_actions(
        store.ledger,
        store.plans,
        filter=conditions,
        last_id=lastId,
        limit=limit,
        newest_first=sort == "newFirst",
        created_from=_date(from_, "from"),
        created_to=_date(to, "to"),
    )


@router.get(
    "/automated-action/{id}",
    response_model=dict[str, Any],
    summary="Get an AutomatedAction",
)
def get_automated_action(
    store: StoreDep, id: Annotated[str, Path(min_length=1, max_length=64)]
) -> dict[str, Any]:
    rows = store.ledger.query(where={"id": id}, limit=1)
    if not rows:
        raise not_found("Could not find a record for the given id", id=id)
    return to_tellescope(rows[0], journey_records(store.plans))


IdPath = Annotated[str, Path(min_length=1, max_length=64)]
BULK_LIMIT = 100  # records per bulk create
CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _parse(data: Any, prefix: tuple[Any, ...] = ()) -> AutomatedAction:
    path = ".".join(str(p) for p in prefix).replace(".[", "[")
    try:
        return adhoc_actions.parse(data, path)
    except ValidationError as error:
        raise validation_error(error, prefix) from None


@router.post(
    "/automated-action",
    response_model=dict[str, Any],
    summary="Create an AutomatedAction: it runs when processAfter (epoch ms) is due",
    description="Tellescope's body (`enduserId`, `journeyId`, `automationStepId`, `event`,"
    " `action`, `status`, `processAfter`, optional `id`). An `active` action runs once, even"
    " when the create is retried with the same `id` or `Idempotency-Key`. An unknown enduser"
    " is a 404. Journey control,"
    " forms and switchToRelatedContact cannot run standalone (422 on `action.type`).",
    openapi_extra=CREATE_BODY,
)
async def create_automated_action(
    request: Request,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    tellescope: TellescopeDep,
) -> dict[str, Any]:
    record = _parse(parse_json(await request.body()))
    await require_endusers(tellescope, [record.enduserId])  # 404 now, not an error when due
    return await adhoc_actions.create(
        temporal, store.plans, store.ledger, record, task_queue=state.task_queue
    )


@router.post(
    "/automated-actions",
    response_model=dict[str, Any],
    summary="Create AutomatedActions (Tellescope's bulk `{create: [...]}`)",
    description="Every record is validated before any is stored (a bad one: 422 naming"
    " `create[i].field`). Answers `{created: [...], errors: [{index, error}]}` (an `id` that"
    " names another action is an error; the others are created).",
    openapi_extra=CREATE_BODY,
)
async def create_automated_actions(
    request: Request,
    store: StoreDep,
    temporal: TemporalDep,
    state: StateDep,
    tellescope: TellescopeDep,
) -> dict[str, Any]:
    data = parse_json(await request.body())
    items = data.get("create") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise unprocessable("Error parsing field create: expecting a list", path="create")
    if len(items) > BULK_LIMIT:
        raise unprocessable(f"create: at most {BULK_LIMIT} records", path="create")
    records = [_parse(item, ("create", i)) for i, item in enumerate(items)]
    await require_endusers(tellescope, list(dict.fromkeys(r.enduserId for r in records)))
    created: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            created.append(
                await adhoc_actions.create(
                    temporal, store.plans, store.ledger, record, task_queue=state.task_queue
                )
            )
        except Conflict as error:  # its id names another action: the others are created
            errors.append({"index": index, "error": error.message})
    return {"created": created, "errors": errors}


def _cancel_fields(data: Any) -> tuple[int, str | None]:
    """`{updates: {status: "cancelled", cancelReason?, cancelledBy?}}` (or the fields alone) ->
    (cancelReason, cancelledBy). Nothing else of an AutomatedAction can be updated."""
    if not isinstance(data, dict):
        raise unprocessable("Error parsing request: expecting an object", path="")
    prefix = ""
    if "updates" in data:
        prefix, data = "updates.", data["updates"]
        if not isinstance(data, dict):
            raise unprocessable("Error parsing field updates: expecting an object", "updates")
    allowed = {"status", "cancelReason", "cancelledBy"}
    for key in data:
        if key not in allowed:
            raise unprocessable(
                f"Error parsing field {prefix}{key}: only status (cancelled), cancelReason and"
                " cancelledBy can be updated",
                path=f"{prefix}{key}",
            )
    if data.get("status") != "cancelled":
        raise unprocessable(
            f'Error parsing field {prefix}status: only "cancelled" is accepted',
            path=f"{prefix}status",
        )
    reason = data.get("cancelReason", int(CancelReason.REMOVED_BY_USER))
    if isinstance(reason, bool) or not isinstance(reason, int) or reason not in set(CancelReason):
        raise unprocessable(
            f"Error parsing field {prefix}cancelReason: one of {[int(r) for r in CancelReason]}",
            path=f"{prefix}cancelReason",
        )
    by = data.get("cancelledBy")
    if by is not None and (not isinstance(by, str) or len(by) > 64):
        raise unprocessable(
            f"Error parsing field {prefix}cancelledBy: a user id", path=f"{prefix}cancelledBy"
        )
    return reason, by


@router.patch(
    "/automated-action/{id}",
    response_model=dict[str, Any],
    summary="Cancel an AutomatedAction created through the API that is still waiting",
    description="`{updates: {status: cancelled, cancelReason?}}` (or the fields alone). 409 when"
    " it already ran (or belongs to a journey enrollment).",
    openapi_extra=CREATE_BODY,
)
async def update_automated_action(
    id: IdPath, request: Request, store: StoreDep, temporal: TemporalDep
) -> dict[str, Any]:
    reason, by = _cancel_fields(parse_json(await request.body()))
    return await adhoc_actions.cancel(
        temporal, store.plans, store.ledger, id, cancel_reason=reason, cancelled_by=by
    )


@router.delete(
    "/automated-action/{id}",
    response_model=dict[str, Any],
    summary="Cancel an AutomatedAction created through the API (the ledger keeps the row)",
)
async def delete_automated_action(
    id: IdPath, store: StoreDep, temporal: TemporalDep
) -> dict[str, Any]:
    return await adhoc_actions.cancel(temporal, store.plans, store.ledger, id)
