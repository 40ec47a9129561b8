"""Acting as the patient: replies, form submissions, ticket closing.

These are what a person (or a test) does on the other side of a journey; each goes through the
record service like any API write, so the same records and webhooks result as in production
(inbound SMS/email/chat records with `inbound: true`, a submitted form response, a closed ticket).
"""

from __future__ import annotations

from typing import Any

from sandbox.behaviour.forms import submit_form_response
from sandbox.behaviour.tickets import close_ticket
from sandbox.errors import TellescopeError, missing_field
from sandbox.records import Caller, RecordService
from sandbox.seed import ADMIN


def _enduser(records: RecordService, values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("enduserId"):
        raise missing_field("enduserId")
    return records.get("endusers", values["enduserId"])


def _as_enduser(enduser: dict[str, Any]) -> Caller:
    return Caller(user_id=enduser["id"], business_id=enduser.get("businessId") or ADMIN.business_id)


def _latest(records: RecordService, model: str, filter_: dict[str, Any]) -> dict[str, Any]:
    found = records.find(model, filter_)
    return found[-1] if found else {}


def reply_sms(records: RecordService, values: dict[str, Any]) -> dict[str, Any]:
    enduser = _enduser(records, values)
    text = values.get("message")
    if not text:
        raise missing_field("message")
    last = _latest(records, "sms_messages", {"enduserId": enduser["id"], "inbound": False})
    sms: dict[str, Any] = {
        "enduserId": enduser["id"],
        "message": text,
        "inbound": True,
        "userId": last.get("userId"),
        "enduserPhoneNumber": enduser.get("phone") or "+15555550199",
    }
    if last.get("phoneNumber"):
        sms["phoneNumber"] = last["phoneNumber"]
    created = records.create(_as_enduser(enduser), "sms_messages", sms)
    return {"sms": created}


def reply_email(records: RecordService, values: dict[str, Any]) -> dict[str, Any]:
    enduser = _enduser(records, values)
    text = values.get("textContent") or values.get("message")
    if not text:
        raise missing_field("textContent")
    last = _latest(records, "emails", {"enduserId": enduser["id"], "inbound": False})
    default_subject = f"Re: {last['subject']}" if last.get("subject") else "Reply"
    subject = values.get("subject") or default_subject
    email = {
        "enduserId": enduser["id"],
        "subject": subject,
        "textContent": text,
        "inbound": True,
        "userId": last.get("userId"),
        "replyTo": last.get("id"),
    }
    return {"email": records.create(_as_enduser(enduser), "emails", email)}


def reply_chat(records: RecordService, values: dict[str, Any]) -> dict[str, Any]:
    enduser = _enduser(records, values)
    text = values.get("message")
    if not text:
        raise missing_field("message")
    room_id = values.get("roomId")
    if room_id:
        room = records.get("chat_rooms", room_id)
    else:
        room = _latest(records, "chat_rooms", {"enduserIds": enduser["id"]})
        if not room:
            room = records.create(
                ADMIN,
                "chat_rooms",
                {
                    "type": "external",
                    "title": " ".join(p for p in (enduser.get("fname"), enduser.get("lname")) if p)
                    or "Patient chat",
                    "enduserIds": [enduser["id"]],
                    "userIds": list(enduser.get("assignedTo") or []),
                },
            )
    chat = {"roomId": room["id"], "message": text, "senderId": enduser["id"]}
    return {"chat": records.create(_as_enduser(enduser), "chats", chat)}


def submit_form(records: RecordService, response_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Submit a pending form response by id. `responses` (Tellescope's shape) is used as given;
    otherwise `answers` maps field externalId (or title) → value, and unanswered fields get ""."""
    response = records.get("form_responses", response_id)
    if not response.get("accessCode"):
        raise TellescopeError(400, "This form response has no access code to submit with")
    responses = values.get("responses")
    if responses is None:
        answers = values.get("answers") or {}
        if not isinstance(answers, dict):
            raise TellescopeError(400, "answers must map field externalId or title to a value")
        responses = build_responses(records, response["formId"], answers)
    submitter = response.get("enduserId") or ADMIN.user_id
    caller = Caller(user_id=submitter, business_id=ADMIN.business_id)
    return submit_form_response(
        records, caller, {"accessCode": response["accessCode"], "responses": responses}
    )


def build_responses(
    records: RecordService, form_id: str, answers: dict[str, Any]
) -> list[dict[str, Any]]:
    responses = []
    for field in records.find("form_fields", {"formId": form_id}):
        key = field.get("externalId") or field["id"]
        value = answers.get(key, answers.get(field["id"], answers.get(field.get("title"), "")))
        responses.append(
            {
                "fieldId": field["id"],
                "fieldTitle": field.get("title", ""),
                "externalId": field.get("externalId"),
                "answer": {"type": field.get("type", "string"), "value": value},
            }
        )
    return responses


def close_ticket_as_staff(
    records: RecordService, ticket_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    ticket = records.get("tickets", ticket_id)
    caller = Caller(user_id=ticket.get("owner") or ADMIN.user_id, business_id=ADMIN.business_id)
    updated = close_ticket(records, caller, ticket_id, values.get("closedForReason") or None)
    return {"updated": updated}
