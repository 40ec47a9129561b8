"""Form responses by access code.

POST  /v1/prepare-form-response  {formId, enduserId, automationStepId?, ...}
                                 → {accessCode, url, fullURL, response}
PATCH /v1/submit-form-response   {accessCode, responses, automationStepId?} → {formResponse}
GET   /v1/form-info-for-access-code?accessCode=... → {form, fields, response}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from sandbox.auth import CallerDep, require_caller
from sandbox.behaviour.forms import form_info, prepare_form_response, submit_form_response
from sandbox.request_body import body_without_key
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_caller)], tags=["form_responses"])


@router.post("/v1/prepare-form-response")
async def prepare(request: Request, caller: CallerDep) -> Any:
    body = await body_without_key(request)
    return prepare_form_response(sandbox_of(request).records, caller, body)


@router.patch("/v1/submit-form-response")
async def submit(request: Request, caller: CallerDep) -> Any:
    body = await body_without_key(request)
    return submit_form_response(sandbox_of(request).records, caller, body)


@router.get("/v1/form-info-for-access-code")
async def info(request: Request) -> Any:
    return form_info(sandbox_of(request).records, request.query_params.get("accessCode"))
