"""Record types beyond the engine's first needs: background errors, engagement events, enduser
orders (`{{order.*}}`), medications, form groups, waitlists (grant access), automation triggers
(trigger-events), journey webhooks, and a message linking one form twice."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from sandbox.seed import DR_RIVERA_ID, INTAKE_FORM


def _list(api: httpx.Client, path: str, filter_: dict[str, Any] | None = None) -> list[dict]:
    params = {"filter": json.dumps(filter_)} if filter_ else {}
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _journey(api: httpx.Client, title: str) -> dict[str, Any]:
    """Journey titles are unique: each gets a random suffix."""
    response = api.post("/v1/journey", json={"title": f"{title} {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_background_errors(api: httpx.Client) -> None:
    created = api.post(
        "/v1/background-error", json={"title": "Sync failed", "message": "EHR timed out"}
    )
    assert created.status_code == 200, created.text
    listed = _list(api, "/v1/background-errors")
    assert created.json()["id"] in [e["id"] for e in listed]
    missing = api.post("/v1/background-error", json={"title": "No message"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Value not provided for required field: message"


def test_engagement_events_for_journey_set_and_state_change(
    api: httpx.Client, make_enduser
) -> None:
    journey = _journey(api, "Engagement")
    enduser = make_enduser(journeys={journey["id"]: "New"})
    events = _list(api, "/v1/engagement-events", {"enduserId": enduser["id"]})
    assert [(e["type"], e["fields"]) for e in events] == [
        ("JOURNEY_SET", {"journeyId": journey["id"], "state": "New"})
    ]
    assert events[0]["significance"] == 1 and events[0]["timestamp"]

    api.patch(
        f"/v1/enduser/{enduser['id']}", json={"updates": {"journeys": {journey["id"]: "Active"}}}
    ).raise_for_status()
    # The same value again is no change.
    api.patch(
        f"/v1/enduser/{enduser['id']}", json={"updates": {"journeys": {journey["id"]: "Active"}}}
    ).raise_for_status()
    events = _list(api, "/v1/engagement-events", {"enduserId": enduser["id"]})
    changes = [e for e in events if e["type"] == "STATE_CHANGE"]
    assert [c["fields"] for c in changes] == [
        {"journeyId": journey["id"], "state": "Active", "previousState": "New"}
    ]


def test_no_engagement_event_without_journeys(api: httpx.Client, enduser) -> None:
    assert _list(api, "/v1/engagement-events", {"enduserId": enduser["id"]}) == []


def test_enduser_orders_and_order_merge_fields(api: httpx.Client, enduser) -> None:
    order = api.post(
        "/v1/enduser-order",
        json={
            "externalId": "ord-1",
            "source": "Lab partner",
            "enduserId": enduser["id"],
            "title": "A1C kit",
            "status": "Shipped",
            "fulfillment": {"carrier": "UPS"},
        },
    )
    assert order.status_code == 200, order.text
    out = api.post(
        "/v1/templated-message",
        json={
            "message": "Your {{order.title}} is {{order.status}} via {{order.fulfillment.carrier}}"
            " {{order.unknown}}",
            "userId": DR_RIVERA_ID,
            "enduserId": enduser["id"],
            "journeyContext": {"orderId": order.json()["id"]},
        },
    ).json()
    assert out["plaintext"] == "Your A1C kit is Shipped via UPS {{order.unknown}}"
    missing = api.post("/v1/enduser-order", json={"enduserId": enduser["id"], "title": "x"})
    assert missing.status_code == 400


def test_enduser_medications_go_with_the_enduser(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser()
    medication = api.post(
        "/v1/enduser-medication", json={"enduserId": enduser["id"], "title": "Metformin"}
    )
    assert medication.status_code == 200, medication.text
    assert _list(api, "/v1/enduser-medications", {"enduserId": enduser["id"]})[0]["title"] == (
        "Metformin"
    )
    api.delete(f"/v1/enduser/{enduser['id']}").raise_for_status()
    assert api.get(f"/v1/enduser-medication/{medication.json()['id']}").status_code == 404


def test_form_groups(api: httpx.Client) -> None:
    group = api.post("/v1/form-group", json={"title": "Intake bundle", "formIds": [INTAKE_FORM]})
    assert group.status_code == 200, group.text
    fetched = api.get(f"/v1/form-group/{group.json()['id']}").json()
    assert fetched["formIds"] == [INTAKE_FORM]
    bad = api.post("/v1/form-group", json={"title": "Bad", "formIds": ["nope"]})
    assert bad.status_code == 400


def test_waitlist_grant_access(api: httpx.Client, make_enduser) -> None:
    journey = _journey(api, "Waitlisted")
    first, second = make_enduser(), make_enduser()
    waitlist = api.post(
        "/v1/waitlist",
        json={
            "title": "Spring cohort",
            "journeyId": journey["id"],
            "enduserIds": [first["id"], second["id"]],
        },
    ).json()
    granted = api.post("/v1/waitlists/grant-access", json={"id": waitlist["id"], "count": 1})
    assert granted.status_code == 200, granted.text
    assert granted.json()["waitlist"]["enduserIds"] == [second["id"]]
    assert api.get(f"/v1/enduser/{first['id']}").json()["journeys"] == {journey["id"]: ""}
    assert journey["id"] not in (
        api.get(f"/v1/enduser/{second['id']}").json().get("journeys") or {}
    )
    # The SDK's path, double slash included.
    again = api.post("/v1//waitlists/grant-access", json={"id": waitlist["id"], "count": 5})
    assert again.json()["waitlist"]["enduserIds"] == []


def test_trigger_events_runs_plain_write_actions(api: httpx.Client, enduser) -> None:
    def trigger(action: dict[str, Any], status: str = "Active") -> str:
        response = api.post(
            "/v1/automation-trigger",
            json={
                "title": f"{action['type']} {status} {enduser['id']}",
                "status": status,
                "event": {"type": "Form Submitted", "info": {"formId": INTAKE_FORM}},
                "action": action,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def fire(trigger_id: str) -> httpx.Response:
        return api.post(
            "/v1/automation-triggers/trigger-events",
            json={"triggers": [{"automationTriggerId": trigger_id, "enduserId": enduser["id"]}]},
        )

    tags = trigger({"type": "Add Tags", "info": {"tags": ["vip"]}})
    paused = trigger({"type": "Add Tags", "info": {"tags": ["paused"]}}, status="Inactive")
    fields = trigger(
        {"type": "Set Fields", "info": {"fields": [{"field": "Plan", "value": "Gold"}]}}
    )
    for trigger_id in (tags, paused, fields):
        assert fire(trigger_id).json() == {}
    after = api.get(f"/v1/enduser/{enduser['id']}").json()
    assert "vip" in after["tags"] and "paused" not in after["tags"]
    assert after["fields"]["Plan"] == "Gold"

    missing = api.post("/v1/automation-triggers/trigger-events", json={})
    assert missing.json()["message"] == "Value not provided for required field: triggers"
    unknown_enduser = api.post(
        "/v1/automation-triggers/trigger-events",
        json={"triggers": [{"automationTriggerId": tags, "enduserId": "64f0000000000000000ff999"}]},
    )
    assert unknown_enduser.status_code == 404


def test_journey_webhooks_reach_the_engine(api: httpx.Client, receiver, flush) -> None:
    journey = _journey(api, "Deleted in Tellescope")
    api.delete(f"/v1/journey/{journey['id']}").raise_for_status()
    flush()
    kinds = [
        b["type"]
        for b in receiver.bodies()
        if b.get("model") == "journeys" and b["records"][0]["id"] == journey["id"]
    ]
    assert kinds == ["create", "delete"]


def test_a_message_linking_one_form_twice_makes_two_responses(api: httpx.Client, enduser) -> None:
    link = f"{{{{forms.{INTAKE_FORM}.link:Intake}}}}"
    out = api.post(
        "/v1/templated-message",
        json={
            "message": f"Now: {link}\nOr later: {link}",
            "userId": DR_RIVERA_ID,
            "enduserId": enduser["id"],
        },
    ).json()
    urls = re.findall(r"Intake: (\S+)", out["plaintext"])
    assert len(urls) == 2 and urls[0] != urls[1]
    assert re.findall(r'href="([^"]+)"', out["html"]) == urls, "html reuses the same two links"
    responses = _list(api, "/v1/form-responses", {"enduserId": enduser["id"]})
    assert len(responses) == 2
    assert {r["formId"] for r in responses} == {INTAKE_FORM}
