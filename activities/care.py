"""Tickets and care plans (docs/semantics.md §8.3): createTicket with every assignment strategy,
completeTickets, createCarePlan, completeCarePlan."""

from __future__ import annotations

from typing import Any

from activities.due_dates import ticket_due_date
from activities.people import (
    care_team,
    credentialed_in,
    organisation_users,
    primary_care_team_member,
    seeded_choice,
    tags_match,
    users_by_id,
)
from activities.run import ActionRun, compact, epoch_ms, iso_ms
from models.actions import CreateTicketInfo, ListOfStringsWithQualifier
from models.runtime import ActionOutcome
from tellescope.client import Record
from tellescope.errors import cannot_perform
from tellescope.idempotency import find_stamped, stamp

# Journey-context ids a ticket keeps when `preserveContext` is set (fields the Ticket type has).
_CONTEXT_FIELDS_ON_TICKETS = (
    "calendarEventId",
    "observationId",
    "phoneCallId",
    "smsId",
    "emailId",
    "orderId",
    "purchaseId",
    "chatRoomId",
    "databaseRecordId",
    "databaseRecordCreator",
    "faxLogId",
)


# --- owner selection ----------------------------------------------------------------------------


async def _eligible(run: ActionRun, info: CreateTicketInfo, user_ids: list[str]) -> list[str]:
    """`user_ids` narrowed by `restrictByState` (licensed in the enduser's state) and
    `restrictByCareTeam` (on the enduser's care team)."""
    enduser = await run.enduser()
    if info.restrictByCareTeam:
        team = set(care_team(enduser))
        user_ids = [u for u in user_ids if u in team]
    if info.restrictByState and user_ids:
        users = await users_by_id(run, user_ids)
        user_ids = [u["id"] for u in users if credentialed_in(u, enduser.get("state"), run.now)]
    return user_ids


async def _render_rule(
    run: ActionRun, rule: ListOfStringsWithQualifier
) -> ListOfStringsWithQualifier:
    """Tag values may be merge fields (`{{enduser.Tag}}`)."""
    values = [await run.render(v) for v in rule.values]
    return ListOfStringsWithQualifier(qualifier=rule.qualifier, values=values)


async def _previous_owner(run: ActionRun, own_key: str) -> str | None:
    async for ticket in run.client.iterate(
        "tickets", {"enduserId": run.enduser_id, "journeyId": run.request.journeyId}
    ):
        if own_key in (ticket.get("tags") or []):
            continue
        if ticket.get("owner"):
            return ticket["owner"]
    return None


async def _recent_appointment_host(run: ActionRun) -> str | None:
    event_id = run.request.journeyContext.calendarEventId
    if event_id:
        events = [await run.client.get("calendar_events", event_id)]
    else:
        events = await run.client.list(
            "calendar_events", {"attendees.id": run.enduser_id}, limit=20
        )
        events = [e for e in events if not e.get("cancelledAt")]
    for event in events:
        for attendee in event.get("attendees") or []:
            if attendee.get("type") == "user" and attendee.get("id"):
                return attendee["id"]
    return None


async def _form_submitter(run: ActionRun) -> str | None:
    response_id = run.request.journeyContext.formResponseId
    if not response_id:
        return None
    response = await run.client.get("form_responses", response_id)
    submitter = response.get("submittedBy")
    if not submitter or submitter == run.enduser_id:
        return None
    return submitter if await users_by_id(run, [submitter]) else None


async def choose_owner(run: ActionRun, info: CreateTicketInfo, own_key: str) -> dict[str, Any]:
    """`{owner}` or `{queueId}` per the assignment strategy (docs/semantics.md §8.3); every
    strategy that finds nobody falls back to `defaultAssignee`."""
    strategy = info.assignmentStrategy
    fallback = {"owner": info.defaultAssignee}
    kind = strategy.type
    if kind == "default":
        return fallback
    if kind == "queue":
        placed: dict[str, Any] = {"queueId": strategy.info.queueId}
        if strategy.info.tags and strategy.info.tags.values:
            rule = await _render_rule(run, strategy.info.tags)
            placed["restrictByTags"] = rule.values
            placed["restrictByTagsQualifier"] = rule.qualifier
        return placed
    enduser = await run.enduser()
    owner: str | None = None
    if kind == "care-team-primary":
        primary = primary_care_team_member(enduser)
        owner = next(iter(await _eligible(run, info, [primary])), None) if primary else None
    elif kind == "care-team-random":
        team = await _eligible(run, info, care_team(enduser))
        owner = seeded_choice(team, run.request.automatedActionId) if team else None
    elif kind == "by-tags":
        rule = await _render_rule(run, strategy.info)
        users = await organisation_users(run)
        matching = [u["id"] for u in users if tags_match(u.get("tags"), rule)]
        matching = await _eligible(run, info, matching)
        owner = seeded_choice(matching, run.request.automatedActionId) if matching else None
    elif kind == "previous-owner":
        owner = await _previous_owner(run, own_key)
    elif kind == "Recently-Booked Appointment Host":
        owner = await _recent_appointment_host(run)
    elif kind == "Form Submitter for Journey Trigger":
        owner = await _form_submitter(run)
    return {"owner": owner} if owner else fallback


# --- createTicket -------------------------------------------------------------------------------


async def _open_care_plan(run: ActionRun) -> Record | None:
    plans = await run.client.find_all(
        "care_plans", {"enduserId": run.enduser_id, "journeyId": run.request.journeyId}
    )
    return next((p for p in plans if not p.get("completedAt")), None)


def _preserved_context(run: ActionRun) -> dict[str, Any]:
    context = run.request.journeyContext
    kept = {name: getattr(context, name) for name in _CONTEXT_FIELDS_ON_TICKETS}
    if context.formResponseId:
        kept["formResponseIds"] = [context.formResponseId]
    return compact(kept)


async def _ticket_body(run: ActionRun, info: CreateTicketInfo, key: str) -> dict[str, Any]:
    enduser = await run.enduser()
    body: dict[str, Any] = {
        "title": await run.render(info.title),
        "enduserId": run.enduser_id,
        "automationStepId": run.request.automationStepId,
        "journeyId": run.request.journeyId,
        "closeReasons": list(dict.fromkeys(info.closeReasons or [])),
        "message": info.description,
        "htmlDescription": info.htmlDescription,
        "priority": info.priority,
        "hiddenFromTickets": info.hiddenFromTickets,
        "closeOnFinishedActions": info.closeOnFinishedActions,
        "requireConfirmation": info.requireConfirmation,
        "disableEditTitle": info.disableEditTitle,
        "skipCareTeamAssignment": info.skipCareTeamAssignment,
        "contextFormIds": info.contextFormIds,
        "contextEnduserFields": info.contextEnduserFields,
        "contextContentIds": info.contextContentIds,
        "tags": [await run.render(t) for t in info.tags or []] or None,
        "actions": [a.model_dump(mode="json", exclude_none=True) for a in info.actions or []]
        or None,
        "reminders": [r.model_dump(mode="json", exclude_none=True) for r in info.reminders or []]
        or None,
    }
    if info.dueDateOffsetInMS is not None:
        due = ticket_due_date(
            run.now, info.dueDateOffsetInMS, info.skipDaysOfWeekForDueDate, run.zone
        )
        body["dueDateInMS"] = epoch_ms(due)
    if info.restrictByState and enduser.get("state"):
        body["restrictByState"] = enduser["state"]
    if info.forCarePlan:
        plan = await _open_care_plan(run)
        if plan:
            body["carePlanId"] = plan["id"]
    if info.preserveContext:
        body.update(_preserved_context(run))
    body.update(await choose_owner(run, info, key))
    return stamp("tickets", key, compact(body))


async def _add_to_care_team(run: ActionRun, user_id: str) -> None:
    enduser = await run.enduser(refresh=True)
    if user_id in care_team(enduser):
        return
    run.remember_enduser(
        await run.client.update("endusers", run.enduser_id, {"assignedTo": [user_id]})
    )


async def create_ticket(run: ActionRun) -> ActionOutcome:
    info: CreateTicketInfo = run.info
    key = run.key("ticket")
    ticket = await find_stamped(run.client, "tickets", key, {"enduserId": run.enduser_id})
    reused = ticket is not None
    if ticket is None:
        ticket = await run.client.create("tickets", await _ticket_body(run, info, key))
    # Also on reuse: the attempt that created the ticket may have stopped before this.
    if ticket.get("owner") and not info.skipCareTeamAssignment:
        await _add_to_care_team(run, ticket["owner"])
    where = f"owner {ticket['owner']}" if ticket.get("owner") else f"queue {ticket.get('queueId')}"
    return ActionOutcome(
        recordIds=[ticket["id"]],
        ticketId=ticket["id"],
        reused=reused,
        detail=f"ticket {ticket['id']} ({where})" + (" reused" if reused else ""),
    )


# --- completeTickets ----------------------------------------------------------------------------


async def complete_tickets(run: ActionRun) -> ActionOutcome:
    """Close the enduser's open tickets created by the listed journeys (default: this one).
    Closed tickets are skipped, so a retry closes nothing twice."""
    journey_ids = run.info.journeyIds or [run.request.journeyId]
    closed: list[str] = []
    for journey_id in dict.fromkeys(journey_ids):
        tickets = await run.client.find_all(
            "tickets", {"enduserId": run.enduser_id, "journeyId": journey_id}
        )
        for ticket in tickets:
            if ticket.get("closedAt"):
                continue
            await run.client.close_ticket(ticket["id"])
            closed.append(ticket["id"])
    return ActionOutcome(recordIds=closed, detail=f"{len(closed)} ticket(s) closed")


# --- care plans ---------------------------------------------------------------------------------


async def create_care_plan(run: ActionRun) -> ActionOutcome:
    """One open care plan per (enduser, journey, title): an existing open one is reused. Care
    plans have no free field for a key, so the natural key is the guard."""
    info = run.info
    title = await run.render(info.title)
    scope = {"enduserId": run.enduser_id, "journeyId": run.request.journeyId, "title": title}
    plans = await run.client.find_all("care_plans", scope)
    existing = [p for p in plans if not p.get("completedAt")]
    if existing:
        plan = existing[0]
        return ActionOutcome(
            recordIds=[plan["id"]], reused=True, detail=f"care plan {plan['id']} already open"
        )
    body = {
        **scope,
        "htmlDescription": info.htmlDescription,
        "hideRemainingTicketsProgress": info.hideRemainingTicketsProgress,
        "highlightedEnduserFields": info.highlightedEnduserFields,
        "closeAutomaticallyByTicket": info.closeAutomaticallyByTicket,
    }
    plan = await run.client.create("care_plans", compact(body))
    return ActionOutcome(recordIds=[plan["id"]], detail=f"care plan {plan['id']}")


async def complete_care_plan(run: ActionRun) -> ActionOutcome:
    plans = await run.client.find_all(
        "care_plans", {"enduserId": run.enduser_id, "journeyId": run.request.journeyId}
    )
    completed: list[str] = []
    for plan in plans:
        if plan.get("completedAt"):
            continue
        await run.client.update("care_plans", plan["id"], {"completedAt": iso_ms(run.now)})
        completed.append(plan["id"])
    return ActionOutcome(recordIds=completed, detail=f"{len(completed)} care plan(s) completed")


HANDLERS = {
    "createTicket": create_ticket,
    "completeTickets": complete_tickets,
    "createCarePlan": create_care_plan,
    "completeCarePlan": complete_care_plan,
}


async def manage_care(run: ActionRun) -> ActionOutcome:
    handler = HANDLERS.get(run.action_type)
    if handler is None:
        raise cannot_perform(f"manage_care does not perform {run.action_type}")
    return await handler(run)
