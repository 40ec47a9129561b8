"""Appointment and note actions (docs/semantics.md §8.7, §8.8): cancelFutureAppointments,
cancelCurrentEvent, confirmCurrentEvent, createNote."""

from __future__ import annotations

from activities.run import ActionRun, compact, epoch_ms, iso_ms
from models.runtime import ActionOutcome
from tellescope.client import Record
from tellescope.errors import cannot_perform, not_configured
from tellescope.idempotency import find_stamped, stamp


async def _enduser_events(run: ActionRun) -> list[Record]:
    events = await run.client.find_all("calendar_events", {"attendees.id": run.enduser_id})
    return [
        e
        for e in events
        if any(
            a.get("id") == run.enduser_id and a.get("type", "enduser") == "enduser"
            for a in e.get("attendees") or []
        )
    ]


async def cancel_future_appointments(run: ActionRun) -> ActionOutcome:
    """Set `cancelledAt` on the enduser's appointments that start after the action's `now` and
    are not cancelled yet; past appointments and other people's are left alone."""
    now_ms = epoch_ms(run.now)
    cancelled: list[str] = []
    for event in await _enduser_events(run):
        if event.get("cancelledAt") or (event.get("startTimeInMS") or 0) <= now_ms:
            continue
        await run.client.update("calendar_events", event["id"], {"cancelledAt": iso_ms(run.now)})
        cancelled.append(event["id"])
    return ActionOutcome(recordIds=cancelled, detail=f"{len(cancelled)} appointment(s) cancelled")


async def _current_event(run: ActionRun) -> Record:
    event_id = run.request.journeyContext.calendarEventId
    if not event_id:
        raise cannot_perform(
            f"{run.action_type} needs journeyContext.calendarEventId (the appointment that "
            "started this journey), and this enrollment has none"
        )
    return await run.client.get("calendar_events", event_id)


async def _stamp_current_event(run: ActionRun, field: str, verb: str) -> ActionOutcome:
    event = await _current_event(run)
    if event.get(field):
        return ActionOutcome(
            recordIds=[event["id"]], reused=True, detail=f"appointment {event['id']} already {verb}"
        )
    await run.client.update("calendar_events", event["id"], {field: iso_ms(run.now)})
    return ActionOutcome(recordIds=[event["id"]], detail=f"appointment {event['id']} {verb}")


async def cancel_current_event(run: ActionRun) -> ActionOutcome:
    return await _stamp_current_event(run, "cancelledAt", "cancelled")


async def confirm_current_event(run: ActionRun) -> ActionOutcome:
    return await _stamp_current_event(run, "confirmedAt", "confirmed")


async def create_note(run: ActionRun) -> ActionOutcome:
    info = run.info
    if info.aiSummaryConfiguration and not info.text:
        raise not_configured(
            "createNote with an AI summary is not configured: AI actions are out of scope "
            "(docs/decisions.md D12); give the note a text instead"
        )
    key = run.key("note")
    existing = await find_stamped(run.client, "notes", key, {"enduserId": run.enduser_id})
    if existing:
        return ActionOutcome(
            recordIds=[existing["id"]], reused=True, detail=f"note {existing['id']} reused"
        )
    body = {
        "enduserId": run.enduser_id,
        "title": await run.render(info.title),
        "text": await run.render(info.text) if info.text else None,
        "tags": info.tags,
        "hiddenFromTimeline": info.hiddenFromTimeline,
    }
    note = await run.client.create("notes", stamp("notes", key, compact(body)))
    return ActionOutcome(recordIds=[note["id"]], detail=f"note {note['id']}")


HANDLERS = {
    "cancelFutureAppointments": cancel_future_appointments,
    "cancelCurrentEvent": cancel_current_event,
    "confirmCurrentEvent": confirm_current_event,
    "createNote": create_note,
}


async def manage_records(run: ActionRun) -> ActionOutcome:
    handler = HANDLERS.get(run.action_type)
    if handler is None:
        raise cannot_perform(f"manage_records does not perform {run.action_type}")
    return await handler(run)
