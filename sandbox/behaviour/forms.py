"""Form responses: prepare (access code + link), submit with the access code, and lookups.

An automation sends a form by preparing a response tied to its step (`automationStepId`); the
enduser opens the link and submits; the `form_responses` update webhook then carries
`submittedAt` and the step id, which is how `formResponse` branches fire.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.clock import now_iso, now_ms, parse_when
from sandbox.errors import TellescopeError, invalid_field, missing_field, not_found
from sandbox.ids import is_object_id

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService

FORM_PAGE_PATH = "/sandbox/forms/{access_code}"

# Parameters of `POST /v1/prepare-form-response` copied onto the response as they are.
_PREPARE_COPIED = (
    "automationStepId",
    "sharedVia",
    "isInternalNote",
    "parentResponseId",
    "rootResponseId",
    "carePlanId",
    "calendarEventId",
    "context",
    "groupId",
    "groupInstance",
    "groupPosition",
    "startedViaPinnedForm",
    "procedureCodes",
    "diagnosisCodes",
    # Sandbox extension: lets an engine stamp the journey on the response it prepares.
    "journeyId",
)


class FormResponseBehaviour(Behaviour):
    model = "form_responses"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        form = records.store.get("forms", record["formId"])
        if form is not None:
            record.setdefault("formTitle", form.get("title", ""))
        # Sandbox convenience: a response created directly (e.g. pushed to the portal) also gets
        # an access code, so the patient helpers and form pages can submit it.
        if not record.get("submittedAt"):
            record.setdefault("accessCode", new_access_code())


def new_access_code() -> str:
    return secrets.token_urlsafe(24)


def prepare_form_response(
    records: RecordService, caller: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    for name in ("formId", "enduserId"):
        if values.get(name) is None:
            raise missing_field(name)
        if not is_object_id(values[name]):
            raise invalid_field(name, "Invalid id")
    form = records.get("forms", values["formId"])
    records.get("endusers", values["enduserId"])
    access_code = new_access_code()
    response: dict[str, Any] = {
        "formId": form["id"],
        "enduserId": values["enduserId"],
        "formTitle": values.get("title") or form.get("title", ""),
        "accessCode": access_code,
        "responses": [],
    }
    for name in _PREPARE_COPIED:
        if values.get(name) is not None:
            response[name] = values[name]
    if values.get("expireAt") is not None:
        expires = parse_when(values["expireAt"])
        if expires is None:
            raise invalid_field("expireAt", "Invalid date")
        response["submissionExpiresAt"] = int(expires.timestamp() * 1000)
    created = records.create(caller, "form_responses", response)
    path = FORM_PAGE_PATH.format(access_code=access_code)
    return {
        "accessCode": access_code,
        "url": path,
        "fullURL": f"{records.settings.base_url}{path}",
        "response": records.present("form_responses", created),
    }


def response_for_access_code(records: RecordService, access_code: Any) -> dict[str, Any]:
    if not isinstance(access_code, str) or not access_code:
        raise missing_field("accessCode")
    found = records.find("form_responses", {"accessCode": access_code})
    if not found:
        raise not_found()
    return found[0]


def submit_form_response(
    records: RecordService, caller: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    """Store the answers and stamp `submittedAt` (once; a second submit is refused)."""
    if values.get("accessCode") is None:
        raise missing_field("accessCode")
    if values.get("responses") is None:
        raise missing_field("responses")
    responses = values["responses"]
    if not isinstance(responses, list):
        raise invalid_field("responses", f"Expecting a list of values but got {responses}")
    for answer in responses:
        if not isinstance(answer, dict) or not isinstance(answer.get("answer"), dict):
            raise invalid_field("responses", "Expecting an object with an answer")
        if "type" not in answer["answer"]:
            raise missing_field("responses.answer.type")
    response = response_for_access_code(records, values["accessCode"])
    if response.get("submittedAt"):
        raise TellescopeError(400, "This form has already been submitted")
    expires = response.get("submissionExpiresAt")
    if isinstance(expires, int | float) and expires < now_ms():
        raise TellescopeError(400, "This form response has expired")
    updates: dict[str, Any] = {
        "responses": responses,
        "submittedAt": now_iso(),
        "submittedBy": response.get("enduserId") or caller.user_id,
    }
    for name in ("automationStepId", "utm", "productIds", "customerId", "viewedInLanguage"):
        if values.get(name) is not None:
            updates[name] = values[name]
    if values.get("markedAsSubmitted") is not None:
        updates["markedAsSubmitted"] = values["markedAsSubmitted"]
    updated = records.update(
        caller,
        "form_responses",
        response["id"],
        updates,
        replace_object_fields=True,
        internal=True,
    )
    return {"formResponse": records.present("form_responses", updated)}


def form_info(records: RecordService, access_code: Any) -> dict[str, Any]:
    response = response_for_access_code(records, access_code)
    form = records.store.get("forms", response["formId"]) or {}
    fields = records.find("form_fields", {"formId": response["formId"]})
    return {"form": form, "fields": fields, "response": response}
