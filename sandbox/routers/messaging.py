"""Templates rendered for an enduser, and messages sent from templates.

    POST /v1/templated-message              → {plaintext, html, subject?, linkOpenTrackingIds}
    POST /v1/emails/send-with-template      → {email}
    POST /v1/sms-messages/send-with-template → {sms}

The send-with-template actions also accept `automationStepId`, `journeyId` and `journeyContext`
(a sandbox extension: form links then carry the step, and the message records its origin).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.behaviour.templates import (
    send_email_with_template,
    send_sms_with_template,
    templated_message,
)
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_caller)], tags=["messaging"])


@router.post("/v1/templated-message")
async def get_templated_message(request: Request, caller: CallerDep) -> Any:
    return templated_message(sandbox_of(request).records, caller, await body_without_key(request))


@router.post("/v1/emails/send-with-template")
async def email_with_template(request: Request, caller: CallerDep) -> Any:
    body = await body_without_key(request)
    return send_email_with_template(sandbox_of(request).records, caller, body)


@router.post("/v1/sms-messages/send-with-template")
async def sms_with_template(request: Request, caller: CallerDep) -> Any:
    body = await body_without_key(request)
    return send_sms_with_template(sandbox_of(request).records, caller, body)
