"""Play the patient (no API key; loopback only).

    POST /sandbox/patient/sms                      {enduserId, message}          → {sms}
    POST /sandbox/patient/email                    {enduserId, textContent|message, subject?}
                                                                                  → {email}
    POST /sandbox/patient/chat                     {enduserId, message, roomId?} → {chat}
    POST /sandbox/patient/form-responses/{id}/submit {answers?: {externalId: value} | responses?}
                                                                                  → {formResponse}
    POST /sandbox/patient/tickets/{id}/close       {closedForReason?}            → {updated}
    GET/POST /sandbox/forms/{accessCode}           the form page a form link opens
    GET  /sandbox/content/{id}                     the page a content link opens

Bodies may be JSON or an HTML form post; form posts are redirected back to the outbox.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox import patient
from sandbox.auth import require_loopback
from sandbox.behaviour.forms import response_for_access_code
from sandbox.errors import TellescopeError
from sandbox.pages import content_page, form_page, message_page
from sandbox.request_body import json_body
from sandbox.runtime import sandbox_of

router = APIRouter(dependencies=[Depends(require_loopback)], tags=["sandbox: patient"])


def _answer(request: Request, result: dict[str, Any]) -> Response:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return RedirectResponse("/sandbox/outbox", status_code=303)
    return JSONResponse(result)


@router.post("/sandbox/patient/sms")
async def patient_sms(request: Request) -> Response:
    result = patient.reply_sms(sandbox_of(request).records, await json_body(request))
    return _answer(request, result)


@router.post("/sandbox/patient/email")
async def patient_email(request: Request) -> Response:
    result = patient.reply_email(sandbox_of(request).records, await json_body(request))
    return _answer(request, result)


@router.post("/sandbox/patient/chat")
async def patient_chat(request: Request) -> Response:
    result = patient.reply_chat(sandbox_of(request).records, await json_body(request))
    return _answer(request, result)


@router.post("/sandbox/patient/form-responses/{response_id}/submit")
async def patient_submit_form(response_id: str, request: Request) -> Response:
    body = await json_body(request)
    result = patient.submit_form(sandbox_of(request).records, response_id, body)
    return _answer(request, result)


@router.post("/sandbox/patient/tickets/{ticket_id}/close")
async def patient_close_ticket(ticket_id: str, request: Request) -> Response:
    body = await json_body(request)
    result = patient.close_ticket_as_staff(sandbox_of(request).records, ticket_id, body)
    return _answer(request, result)


@router.get("/sandbox/forms/{access_code}", response_class=HTMLResponse)
async def show_form(access_code: str, request: Request) -> HTMLResponse:
    records = sandbox_of(request).records
    response = response_for_access_code(records, access_code)
    form = records.store.get("forms", response["formId"]) or {"title": "Form"}
    fields = records.find("form_fields", {"formId": response["formId"]})
    return HTMLResponse(form_page(form, fields, response))


@router.post("/sandbox/forms/{access_code}", response_class=HTMLResponse)
async def submit_form_page(access_code: str, request: Request) -> HTMLResponse:
    records = sandbox_of(request).records
    response = response_for_access_code(records, access_code)
    answers = await json_body(request)
    try:
        patient.submit_form(records, response["id"], {"answers": answers})
    except TellescopeError as error:
        return HTMLResponse(message_page("Not submitted", error.message), status_code=error.status)
    return HTMLResponse(message_page("Thank you", "Your answers were submitted."))


@router.get("/sandbox/content/{content_id}", response_class=HTMLResponse)
async def show_content(content_id: str, request: Request) -> HTMLResponse:
    record = sandbox_of(request).records.get("managed_content_records", content_id)
    return HTMLResponse(content_page(record))
