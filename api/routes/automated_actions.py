"""AutomatedActions from the ledger, in Tellescope's JSON (docs/semantics.md §6.1).

GET parameters arrive as Tellescope's SDK sends them: `filter` is a JSON-encoded object
(`?filter={"enduserId":"..."}`), `lastId` the id of the last record of the previous page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.deps import StoreDep
from api.errors import ApiError, bad_request, not_found
from services.automated_actions import journey_records, list_actions, to_tellescope

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
