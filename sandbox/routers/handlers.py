"""The sandbox's stand-in AI and telephony provider (no API key; loopback only;
docs/handlers.md §4).

POST /sandbox/handler-actions                  the engine's sandbox handler records an action
                                               {idempotencyKey, actionType, info, enduserId,
                                               journeyId, stepId, automationStepId,
                                               automatedActionId} -> the record (`reused`)
GET  /sandbox/handler-actions                  every recorded action (?enduserId= ?actionType=)
POST /sandbox/handler-actions/{id}/outcome     {outcome}: a call / AI conversation ended; delivered
                                               to the engine's POST /v1/step-outcomes
PUT  /sandbox/handler-actions/delivery         {url, apiKey}: where outcomes are delivered
GET  /sandbox/handler-actions/delivery         {url} (null when not configured; never the key)
PUT  /sandbox/ai-decisions                     {byStep: {stepId: outcome}, default?}: scripted
                                               aiDecision answers
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox import handler_actions
from sandbox.auth import require_loopback
from sandbox.request_body import json_body
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_loopback)], tags=["sandbox: AI and telephony"])


@router.post("/sandbox/handler-actions")
async def record_action(request: Request) -> Any:
    return handler_actions.record_action(sandbox_of(request).store, await json_body(request))


@router.get("/sandbox/handler-actions")
async def list_actions(request: Request) -> Any:
    params = request.query_params
    return handler_actions.list_actions(
        sandbox_of(request).store,
        enduser_id=params.get("enduserId") or None,
        action_type=params.get("actionType") or None,
    )


@router.put("/sandbox/handler-actions/delivery")
async def configure_delivery(request: Request) -> Any:
    return handler_actions.configure_delivery(sandbox_of(request).store, await json_body(request))


@router.get("/sandbox/handler-actions/delivery")
async def delivery(request: Request) -> Any:
    return handler_actions.delivery_target(sandbox_of(request).store)


@router.post("/sandbox/handler-actions/{action_id}/outcome")
async def choose_outcome(action_id: str, request: Request) -> Any:
    sandbox = sandbox_of(request)
    return await handler_actions.choose_outcome(
        sandbox.store, action_id, await json_body(request), sandbox.settings.webhook_timeout_seconds
    )


@router.put("/sandbox/ai-decisions")
async def script_decisions(request: Request) -> Any:
    return handler_actions.script_decisions(sandbox_of(request).store, await json_body(request))
