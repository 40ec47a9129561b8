"""`POST /v1/tickets/close {ticketId, closedForReason?}` → `{updated}`.

Tellescope also returns `generated` when closing synchronously creates the next ticket of a
journey; the sandbox runs no journeys, so it never does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.behaviour.tickets import close_ticket
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_caller)], tags=["tickets"])


@router.post("/v1/tickets/close")
async def close(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    ticket_id, reason = body.get("ticketId"), body.get("closedForReason")
    ticket = close_ticket(sandbox.records, caller, ticket_id, reason)
    return {"updated": sandbox.records.present("tickets", ticket)}
