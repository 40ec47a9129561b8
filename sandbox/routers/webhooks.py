"""Webhook configuration and on-demand webhooks.

POST  /v1/configure-webhooks                   {url, secret, subscriptions?} → {}
GET   /v1/webhook-configuration                → {url, subscriptions}
PATCH /v1/update-webhooks                      {url?, secret?, subscriptionUpdates?} → {}
POST  /v1/send-automation-webhook              {message?, enduserId?, automationStepId?,
                                                action?, context?} → {}
POST  /v1/send-calendar-event-reminder-webhook {id} → {}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.automation_webhooks import (
    send_automation_webhook,
    send_calendar_event_reminder_webhook,
)
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of
from sandbox.webhooks import configure_webhooks, update_webhooks, webhook_configuration

router = APIRouter(dependencies=[Depends(require_caller)], tags=["webhooks"])


@router.post("/v1/configure-webhooks")
async def configure(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    return configure_webhooks(sandbox.records, caller, sandbox.webhooks, body)


@router.get("/v1/webhook-configuration")
async def configuration(request: Request) -> Any:
    return webhook_configuration(sandbox_of(request).webhooks)


@router.patch("/v1/update-webhooks")
async def update(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    return update_webhooks(sandbox.records, caller, sandbox.webhooks, body)


@router.post("/v1/send-automation-webhook")
async def automation_webhook(request: Request, caller: CallerDep) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    return await send_automation_webhook(sandbox.records, caller, sandbox.webhooks, body)


@router.post("/v1/send-calendar-event-reminder-webhook")
async def calendar_reminder(request: Request) -> Any:
    sandbox = sandbox_of(request)
    body = await body_without_key(request)
    return await send_calendar_event_reminder_webhook(sandbox.records, sandbox.webhooks, body)
