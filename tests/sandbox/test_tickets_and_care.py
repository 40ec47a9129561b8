"""Tickets (create, close with reasons), care plans, user notifications, managed content,
notes, calendar events and automated actions."""

from __future__ import annotations

import json

import httpx

from sandbox.seed import DIABETES_CONTENT, DR_RIVERA_ID, FRONT_DESK_ID

STEP = "64f0000000000000000000cc"


def test_ticket_create_and_close_with_reason(api: httpx.Client, enduser) -> None:
    ticket = api.post(
        "/v1/ticket",
        json={
            "title": "Follow-up call with Pat",
            "enduserId": enduser["id"],
            "owner": FRONT_DESK_ID,
            "automationStepId": STEP,
            "closeReasons": ["Reached", "No answer", "Reached"],
            "dueDateInMS": 1767261600000,
        },
    ).json()
    assert ticket["closeReasons"] == ["Reached", "No answer"]
    assert "closedAt" not in ticket
    closed = api.post(
        "/v1/tickets/close", json={"ticketId": ticket["id"], "closedForReason": "No answer"}
    )
    assert closed.status_code == 200, closed.text
    updated = closed.json()["updated"]
    assert set(closed.json()) == {"updated"}
    assert updated["closedForReason"] == "No answer" and updated["closedAt"]
    assert updated["closedBy"] == "64f000000000000000000a00"
    assert (updated["automationStepId"], updated["dueDateInMS"]) == (STEP, 1767261600000)
    # Closing again changes nothing (a retried close cannot re-fire a branch).
    again = api.post(
        "/v1/tickets/close", json={"ticketId": ticket["id"], "closedForReason": "Reached"}
    )
    assert again.json()["updated"] == updated


def test_close_without_reason_and_unknown_ticket(api: httpx.Client) -> None:
    ticket = api.post("/v1/ticket", json={"title": "No reason"}).json()
    updated = api.post("/v1/tickets/close", json={"ticketId": ticket["id"]}).json()["updated"]
    assert updated["closedAt"] and "closedForReason" not in updated
    unknown = api.post("/v1/tickets/close", json={"ticketId": "60398b0231a295e64f084fd9"})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Could not find a record for the given id"


def test_ticket_owner_must_be_a_user(api: httpx.Client) -> None:
    response = api.post("/v1/ticket", json={"title": "t", "owner": "60398b0231a295e64f084fd9"})
    assert response.status_code == 400
    assert response.json()["message"] == "Could not find a related record for the given id(s)"


def test_closing_by_update_also_works(api: httpx.Client) -> None:
    ticket = api.post("/v1/ticket", json={"title": "Patch close"}).json()
    updated = api.patch(
        f"/v1/ticket/{ticket['id']}",
        json={"updates": {"closedAt": "2026-01-02T10:00:00.000Z", "closedForReason": "Reached"}},
    ).json()
    assert (updated["closedAt"], updated["closedForReason"]) == (
        "2026-01-02T10:00:00.000Z",
        "Reached",
    )


def test_patient_helper_closes_a_ticket(api: httpx.Client, helpers: httpx.Client) -> None:
    ticket = api.post("/v1/ticket", json={"title": "Call", "owner": DR_RIVERA_ID}).json()
    closed = helpers.post(
        f"/sandbox/patient/tickets/{ticket['id']}/close", json={"closedForReason": "Reached"}
    ).json()["updated"]
    assert (closed["closedForReason"], closed["closedBy"]) == ("Reached", DR_RIVERA_ID)


def test_care_plan_lifecycle(api: httpx.Client, enduser) -> None:
    plan = api.post(
        "/v1/care-plan",
        json={
            "title": "Diabetes care plan",
            "enduserId": enduser["id"],
            "journeyId": "60398b0231a295e64f084fd9",
            "highlightedEnduserFields": ["A1c"],
        },
    ).json()
    completed = api.patch(
        f"/v1/care-plan/{plan['id']}", json={"updates": {"completedAt": "2026-02-01T00:00:00Z"}}
    ).json()
    assert completed["completedAt"] == "2026-02-01T00:00:00Z"
    assert completed["highlightedEnduserFields"] == ["A1c"]


def test_user_notification(api: httpx.Client, enduser) -> None:
    note = api.post(
        "/v1/user-notification",
        json={
            "userId": DR_RIVERA_ID,
            "type": "Could not email results",
            "message": "Please call Pat",
            "relatedRecords": [{"type": "enduser", "id": enduser["id"]}],
        },
    )
    assert note.status_code == 200, note.text
    unknown_user = api.post(
        "/v1/user-notification",
        json={"userId": "60398b0231a295e64f084fd9", "type": "t", "message": "m"},
    )
    assert unknown_user.json()["message"] == "Could not find a related record for the given id(s)"


def test_content_assignment_is_unique_per_enduser(api: httpx.Client, enduser) -> None:
    body = {"contentId": DIABETES_CONTENT, "enduserId": enduser["id"]}
    assert api.post("/v1/managed-content-record-assignment", json=body).status_code == 200
    again = api.post("/v1/managed-content-record-assignment", json=body)
    assert again.status_code == 409
    assert again.json()["info"][0]["conflictingFields"] == body


def test_calendar_event_cancel(api: httpx.Client, enduser) -> None:
    event = api.post(
        "/v1/calendar-event",
        json={
            "title": "Office visit",
            "startTimeInMS": 1767261600000,
            "durationInMinutes": 30,
            "attendees": [{"type": "enduser", "id": enduser["id"]}],
        },
    ).json()
    cancelled = api.patch(
        f"/v1/calendar-event/{event['id']}",
        json={"updates": {"cancelledAt": "2026-01-01T09:00:00.000Z"}},
    ).json()
    assert cancelled["cancelledAt"] == "2026-01-01T09:00:00.000Z"
    assert cancelled["attendees"] == [{"type": "enduser", "id": enduser["id"]}]
    bad = api.patch(f"/v1/calendar-event/{event['id']}", json={"updates": {"cancelledAt": "soon"}})
    assert bad.json()["message"] == "Error parsing field cancelledAt: Invalid date"


def test_automated_actions_are_stored_as_given(api: httpx.Client, enduser) -> None:
    action = {
        "enduserId": enduser["id"],
        "journeyId": "60398b0231a295e64f084fd9",
        "automationStepId": STEP,
        "event": {"type": "afterAction", "info": {"automationStepId": STEP, "delayInMS": 0}},
        "action": {"type": "sendSMS", "info": {"templateId": "64f000000000000000000b01"}},
        "status": "active",
        "processAfter": 1767261600000,
    }
    created = api.post("/v1/automated-action", json=action).json()
    assert {k: created[k] for k in action} == action
    listed = api.get(
        "/v1/automated-actions", params={"filter": json.dumps({"automationStepId": STEP})}
    ).json()
    assert [a["id"] for a in listed] == [created["id"]]
