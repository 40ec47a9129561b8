"""The sandbox's AI and telephony handlers (docs/handlers.md §4): used by `journeys dev` and the
tests, and the example to copy for a real provider.

Each action is recorded in the sandbox over HTTP (`POST /sandbox/handler-actions`; the engine
never imports sandbox/). The sandbox answers aiDecision with a scripted decision; a call or AI
conversation is "started" there, and its outcome is chosen later through the sandbox
(`POST /sandbox/handler-actions/{id}/outcome`), which delivers it to the engine's
`POST /v1/step-outcomes`. The idempotency key makes a retried activity get the first record back:
one call per AutomatedAction.

Configure all six types with `ACTION_HANDLERS` pointing at `activities.sandbox_handler:handle`
(what `journeys dev` does, SANDBOX_HANDLER_TYPES). The sandbox's URL is `TELLESCOPE_BASE_URL`
(the sandbox by default).
"""

from __future__ import annotations

from typing import Any

import httpx

from activities.action_handlers import (
    HandlerError,
    HandlerRequest,
    HandlerResult,
    decided,
    done,
    started,
)
from models.actions import AI_ACTION_TYPES
from settings import TellescopeSettings

REFERENCE = "activities.sandbox_handler:handle"
SANDBOX_HANDLER_TYPES: dict[str, str] = dict.fromkeys(sorted(AI_ACTION_TYPES), REFERENCE)


async def handle(request: HandlerRequest) -> HandlerResult:
    settings = TellescopeSettings()
    body: dict[str, Any] = {
        "idempotencyKey": request.idempotencyKey,
        "actionType": request.actionType,
        "info": request.info,
        "enduserId": request.enduserId,
        "journeyId": request.journeyId,
        "stepId": request.stepId,
        "automationStepId": request.automationStepId,
        "automatedActionId": request.automatedActionId,
    }
    try:
        async with httpx.AsyncClient(
            base_url=settings.base_url, timeout=settings.timeout_seconds
        ) as client:
            answer = await client.post("/sandbox/handler-actions", json=body)
    except httpx.HTTPError as error:  # the sandbox may be restarting: try again later
        raise HandlerError(f"sandbox unreachable: {error!r}", retryable=True) from None
    if answer.status_code >= 500 or answer.status_code in (408, 429):
        raise HandlerError(f"sandbox answered {answer.status_code}", retryable=True)
    if answer.status_code >= 400:
        message = answer.json().get("message") if answer.content else None
        raise HandlerError(message or f"sandbox answered {answer.status_code}", retryable=False)
    record = answer.json()
    reused = " (reused)" if record.get("reused") else ""
    if record["status"] == "decided":
        return decided(record["outcome"], f"sandbox decided {record['outcome']}{reused}")
    if record["status"] == "done":
        return done(f"{request.actionType} recorded in the sandbox{reused}")
    return started(record["id"], f"{request.actionType} {record['id']} started{reused}")
