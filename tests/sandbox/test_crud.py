"""Generic CRUD for every model the sandbox serves, with Tellescope's response shapes:
create → the record, bulk create → {created, errors}, read → the record, list → an array,
update → the record, delete → 204, then 404 with Tellescope's message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.seed import DIABETES_CONTENT, DR_RIVERA_ID, INTAKE_FORM

NOT_FOUND = {"message": "Could not find a record for the given id", "code": 404, "info": {}}

# path (singular, plural) -> minimal valid body given an enduser, plus a field to update
Body = Callable[[dict[str, Any], httpx.Client], dict[str, Any]]


def _room(enduser: dict[str, Any], api: httpx.Client) -> dict[str, Any]:
    room = api.post("/v1/chat-room", json={"enduserIds": [enduser["id"]], "userIds": []}).json()
    return {"roomId": room["id"], "message": "hello from the care team"}


def _journey(_: dict[str, Any], api: httpx.Client) -> dict[str, Any]:
    return {"title": f"journey {id(object())}-{_uid()}"}


def _uid() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


MODELS: dict[str, tuple[str, str, Body, dict[str, Any]]] = {
    "endusers": ("enduser", "endusers", lambda e, a: {"fname": "Crud"}, {"lname": "Updated"}),
    "users": (
        "user",
        "users",
        lambda e, a: {"email": f"user-{_uid()}@riverside.example", "fname": "New"},
        {"lname": "User"},
    ),
    "templates": (
        "template",
        "templates",
        lambda e, a: {"title": f"T {_uid()}", "subject": "S", "message": "Hi {{enduser.fname}}"},
        {"subject": "S2"},
    ),
    "emails": (
        "email",
        "emails",
        lambda e, a: {"enduserId": e["id"], "subject": "Hello", "textContent": "Body"},
        {"tags": ["x"]},
    ),
    "sms_messages": (
        "sms-message",
        "sms-messages",
        lambda e, a: {"enduserId": e["id"], "message": "Hello"},
        {"tags": ["x"]},
    ),
    "chat_rooms": (
        "chat-room",
        "chat-rooms",
        lambda e, a: {"enduserIds": [e["id"]], "title": "Room"},
        {"title": "Renamed"},
    ),
    "chats": ("chat", "chats", _room, {"tags": ["x"]}),
    "forms": ("form", "forms", lambda e, a: {"title": f"Form {_uid()}"}, {"description": "d"}),
    "form_fields": (
        "form-field",
        "form-fields",
        lambda e, a: {"formId": INTAKE_FORM, "title": "Extra question", "type": "string"},
        {"title": "Renamed"},
    ),
    "form_responses": (
        "form-response",
        "form-responses",
        lambda e, a: {"formId": INTAKE_FORM, "enduserId": e["id"]},
        {"tags": ["x"]},
    ),
    "tickets": (
        "ticket",
        "tickets",
        lambda e, a: {"title": "Call the patient", "enduserId": e["id"], "owner": DR_RIVERA_ID},
        {"priority": 2},
    ),
    "care_plans": (
        "care-plan",
        "care-plans",
        lambda e, a: {"title": "Plan", "enduserId": e["id"]},
        {"description": "d"},
    ),
    "user_notifications": (
        "user-notification",
        "user-notifications",
        lambda e, a: {"userId": DR_RIVERA_ID, "type": "alert", "message": "Look"},
        {"read": True},
    ),
    "managed_content_records": (
        "managed-content-record",
        "managed-content-records",
        lambda e, a: {"title": "Guide", "textContent": "Text"},
        {"title": "Guide 2"},
    ),
    "managed_content_record_assignments": (
        "managed-content-record-assignment",
        "managed-content-record-assignments",
        lambda e, a: {"contentId": DIABETES_CONTENT, "enduserId": e["id"]},
        {"note": "x"},
    ),
    "notes": ("note", "notes", lambda e, a: {"enduserId": e["id"], "text": "N"}, {"title": "T"}),
    "calendar_events": (
        "calendar-event",
        "calendar-events",
        lambda e, a: {"title": "Visit", "startTimeInMS": 1767000000000, "durationInMinutes": 30},
        {"cancelledAt": "2026-01-01T00:00:00.000Z"},
    ),
    "journeys": ("journey", "journeys", _journey, {"description": "d"}),
    "automated_actions": (
        "automated-action",
        "automated-actions",
        lambda e, a: {
            "enduserId": e["id"],
            "journeyId": "60398b0231a295e64f084fd9",
            "automationStepId": "60398b0231a295e64f084fd9",
            "event": {"type": "onJourneyStart", "info": {}},
            "action": {"type": "setEnduserStatus", "info": {"status": "Working"}},
            "status": "active",
            "processAfter": 0,
        },
        {"status": "finished"},
    ),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_crud_round_trip(api: httpx.Client, enduser: dict[str, Any], model: str) -> None:
    singular, plural, body, update = MODELS[model]
    created = api.post(f"/v1/{singular}", json=body(enduser, api))
    assert created.status_code == 200, created.text
    record = created.json()
    assert re.fullmatch(r"[0-9a-f]{24}", record["id"])
    assert record["businessId"] == "64f000000000000000000f01"
    assert record["createdAt"].endswith("Z") and record["updatedAt"] == record["createdAt"]

    assert api.get(f"/v1/{singular}/{record['id']}").json() == record
    page = api.get(f"/v1/{plural}", params={"limit": 1000})
    assert page.status_code == 200 and record["id"] in [r["id"] for r in page.json()]

    updated = api.patch(f"/v1/{singular}/{record['id']}", json={"updates": update})
    assert updated.status_code == 200, updated.text
    for key, value in update.items():
        assert updated.json()[key] == value or value[0] in updated.json()[key]
    assert updated.json()["updatedAt"] >= record["updatedAt"]

    deleted = api.delete(f"/v1/{singular}/{record['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    missing = api.get(f"/v1/{singular}/{record['id']}")
    assert missing.status_code == 404 and missing.json() == NOT_FOUND
    assert api.delete(f"/v1/{singular}/{record['id']}").json() == NOT_FOUND
    assert api.patch(f"/v1/{singular}/{record['id']}", json={"updates": update}).status_code == 404


def test_bulk_create_returns_created_and_errors(api: httpx.Client, unique_email) -> None:
    taken = unique_email()
    api.post("/v1/enduser", json={"email": taken})
    response = api.post(
        "/v1/endusers",
        json={
            "create": [{"fname": "A", "email": unique_email()}, {"email": taken}, {"fname": "C"}]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["fname"] for r in body["created"]] == ["A", "C"]
    assert body["errors"] == [{"index": 1, "error": "Uniqueness Violation", "code": 409}]


def test_bulk_create_where_every_record_fails_is_an_error(api: httpx.Client) -> None:
    response = api.post("/v1/tickets", json={"create": [{"enduserId": "x"}]})
    assert response.status_code == 400
    assert response.json()["message"] == "Value not provided for required field: title"


def test_chats_have_no_bulk_create(api: httpx.Client) -> None:
    """Tellescope's schema: chats avoid createMany."""
    response = api.post("/v1/chats", json={"create": []})
    assert response.status_code == 405
    assert response.json()["message"] == "Cannot POST /v1/chats"


def test_get_one_by_filter_and_bulk_read(api: httpx.Client, make_enduser) -> None:
    first, second = make_enduser(fname="Filtered"), make_enduser(fname="Other")
    found = api.get("/v1/enduser", params={"filter": json.dumps({"email": first["email"]})})
    assert found.status_code == 200 and found.json()["id"] == first["id"]
    nothing = api.get("/v1/enduser", params={"filter": json.dumps({"email": "no@example.com"})})
    assert nothing.status_code == 404 and nothing.json() == NOT_FOUND
    matches = api.post("/v1/endusers/bulk-read", json={"ids": [first["id"], second["id"]]})
    assert {m["id"] for m in matches.json()["matches"]} == {first["id"], second["id"]}


def test_return_count(api: httpx.Client, make_enduser) -> None:
    tag = f"count-{_uid()}"
    for _ in range(3):
        make_enduser(tags=[tag])
    response = api.get(
        "/v1/endusers", params={"filter": json.dumps({"tags": tag}), "returnCount": "true"}
    )
    assert response.json() == {"count": 3}


def test_shape_errors_use_tellescope_texts(api: httpx.Client, enduser: dict[str, Any]) -> None:
    cases = [
        (
            "/v1/enduser",
            {"email": "not-an-email"},
            "Error parsing field email: Invalid email: not-an-email",
        ),
        ("/v1/note", {"enduserId": "123"}, "Error parsing field enduserId: Invalid id"),
        (
            "/v1/enduser",
            {"fields": {"_secret": 1}},
            "Error parsing field fields: Fields that start with '_' are not allowed",
        ),
        (
            "/v1/ticket",
            {"title": "t", "dueDateInMS": "soon"},
            "Error parsing field dueDateInMS: Not a valid number",
        ),
        (
            "/v1/enduser",
            {"tags": "vip"},
            "Error parsing field tags: Expecting a list of values but got vip",
        ),
    ]
    for path, body, message in cases:
        response = api.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["message"] == message


def test_foreign_keys_must_exist(api: httpx.Client) -> None:
    response = api.post("/v1/note", json={"enduserId": "60398b0231a295e64f084fd9"})
    assert response.status_code == 400
    assert response.json()["message"] == "Could not find a related record for the given id(s)"


def test_readonly_fields_are_not_valid_for_updates(api: httpx.Client, enduser) -> None:
    for field in ("id", "businessId", "createdAt", "creator"):
        response = api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {field: "x"}})
        assert response.status_code == 400
        assert response.json()["message"] == (
            f"Error parsing field updates: {field} is not valid for updates"
        )


def test_deleting_an_enduser_deletes_their_records(api: httpx.Client, enduser) -> None:
    note = api.post("/v1/note", json={"enduserId": enduser["id"], "text": "x"}).json()
    ticket = api.post("/v1/ticket", json={"title": "t", "enduserId": enduser["id"]}).json()
    assert api.delete(f"/v1/enduser/{enduser['id']}").status_code == 204
    assert api.get(f"/v1/note/{note['id']}").status_code == 404
    assert api.get(f"/v1/ticket/{ticket['id']}").status_code == 404
