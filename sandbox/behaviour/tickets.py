"""Tickets: closing (`POST /v1/tickets/close`) and server-set fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.clock import now_iso
from sandbox.errors import invalid_field, not_found

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService


class TicketBehaviour(Behaviour):
    model = "tickets"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        record.setdefault("closeReasons", [])


def close_ticket(
    records: RecordService, caller: Caller, ticket_id: Any, closed_for_reason: Any = None
) -> dict[str, Any]:
    """Close a ticket once: `closedAt`, `closedBy` and the optional `closedForReason`.

    Closing an already-closed ticket changes nothing (and sends no webhook), so a client retrying
    a close it never saw the answer to cannot re-fire `ticketCompleted` branches.
    """
    if not isinstance(ticket_id, str) or not records.store.exists("tickets", ticket_id):
        raise not_found()
    if closed_for_reason is not None and not isinstance(closed_for_reason, str):
        raise invalid_field("closedForReason", "Expecting string value")
    ticket = records.get("tickets", ticket_id)
    if ticket.get("closedAt"):
        return ticket
    updates: dict[str, Any] = {"closedAt": now_iso(), "closedBy": caller.user_id}
    if closed_for_reason:
        updates["closedForReason"] = closed_for_reason
    return records.update(caller, "tickets", ticket_id, updates)
