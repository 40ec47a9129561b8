"""Reads the workflow needs to decide when and whether to act: the enduser record (conditions,
docs/decisions.md D2) and the anchor date of a date-relative delay (docs/semantics.md §5.4,
docs/decisions.md D6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.run import iso_ms
from models.runtime import AnchorDateRequest, ConditionInputs, ConditionInputsRequest
from rules.conditions import upcoming_event_view
from rules.dates import from_epoch_ms, parse_any_date
from tellescope.client import Record, TellescopeClient
from tellescope.errors import TellescopeRejected


def _as_iso(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso_ms(from_epoch_ms(value))
    parsed = parse_any_date(value) if isinstance(value, str) and value else None
    return iso_ms(parsed) if parsed else None


def _enduser_value(enduser: Record, field: str) -> Any:
    custom = (enduser.get("fields") or {}).get(field)
    if custom is not None:
        return custom.get("value") if isinstance(custom, dict) else custom
    return enduser.get(field)


async def _latest_submitted(
    client: TellescopeClient, enduser_id: str, form_id: str
) -> Record | None:
    scope = {"enduserId": enduser_id, "formId": form_id}
    responses = await client.find_all("form_responses", scope)
    submitted = [r for r in responses if r.get("submittedAt")]
    if not submitted:
        return None
    return max(submitted, key=lambda r: (str(r["submittedAt"]), r["id"]))


def _answer(response: Record, field_id: str) -> Any:
    for entry in response.get("responses") or []:
        if entry.get("fieldId") == field_id:
            answer = entry.get("answer") or {}
            return answer.get("value") if isinstance(answer, dict) else answer
    return None


async def resolve_anchor_date(client: TellescopeClient, request: AnchorDateRequest) -> str | None:
    """The ISO instant a date-relative delay counts from, or None when there is none (missing
    field, no submitted response or answer, no appointment, an unreadable date)."""
    try:
        if request.kind == "field":
            if not request.field:
                return None
            enduser = await client.get("endusers", request.enduserId)
            return _as_iso(_enduser_value(enduser, request.field))
        if request.kind == "form":
            if not request.formId:
                return None
            response = await _latest_submitted(client, request.enduserId, request.formId)
            if response is None:
                return None
            if not request.formFieldId:
                return _as_iso(response.get("submittedAt"))
            return _as_iso(_answer(response, request.formFieldId))
        event_id = request.journeyContext.calendarEventId
        if not event_id:
            return None
        event = await client.get("calendar_events", event_id)
        return _as_iso(event.get("startTimeInMS"))
    except TellescopeRejected as error:
        if error.status == 404:
            return None
        raise


async def upcoming_events(
    client: TellescopeClient, enduser_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The enduser's upcoming appointments as `__upcomingEvents__` counts them: calendar events
    the enduser attends, not cancelled, starting at or after `now`. One (paged) read."""
    now_ms = now.timestamp() * 1000
    events = await client.find_all("calendar_events", {"attendees.id": enduser_id})
    views = []
    for event in events:
        attends = any(
            a.get("id") == enduser_id and a.get("type", "enduser") == "enduser"
            for a in event.get("attendees") or []
        )
        view = upcoming_event_view(event, now_ms) if attends else None
        if view is not None:
            views.append(view)
    return views


async def condition_inputs(
    client: TellescopeClient, request: ConditionInputsRequest
) -> ConditionInputs:
    enduser = await client.get("endusers", request.enduserId)
    upcoming: list[dict[str, Any]] = []
    if request.upcomingEvents:
        now = parse_any_date(request.now) or datetime.now(UTC)
        upcoming = await upcoming_events(client, request.enduserId, now)
    return ConditionInputs(enduser=enduser, upcomingEvents=upcoming)
