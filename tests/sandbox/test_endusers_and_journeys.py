"""Enduser constraints (unique email, consent initialisers, the `journeys` map) and journeys
(defaults, defaultState, deletion, membership endpoints, status updates)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

RELATED = {
    "message": "Could not find a related record for the given id(s)",
    "code": 400,
    "info": {},
}


def new_journey(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/journey", json={"title": f"Journey {uuid.uuid4().hex[:8]}", **fields})
    assert response.status_code == 200, response.text
    return response.json()


def test_unique_email_is_a_uniqueness_violation(api: httpx.Client, enduser) -> None:
    response = api.post("/v1/enduser", json={"email": enduser["email"]})
    assert response.status_code == 409
    assert response.json() == {
        "message": "Uniqueness Violation",
        "code": 409,
        "info": [
            {
                "conflictingFields": {"email": enduser["email"]},
                "existingRecord": {"_id": enduser["id"], "businessId": enduser["businessId"]},
            }
        ],
    }
    other = api.post("/v1/enduser", json={"fname": "Other"}).json()
    clash = api.patch(f"/v1/enduser/{other['id']}", json={"updates": {"email": enduser["email"]}})
    assert clash.status_code == 409 and clash.json()["message"] == "Uniqueness Violation"


def test_consent_defaults_follow_the_addresses(api: httpx.Client, unique_email) -> None:
    with_both = api.post("/v1/enduser", json={"email": unique_email(), "phone": "+15555550111"})
    assert (with_both.json()["emailConsent"], with_both.json()["phoneConsent"]) == (True, True)
    bare = api.post("/v1/enduser", json={"fname": "No contact"}).json()
    assert (bare["emailConsent"], bare["phoneConsent"]) == (False, False)
    explicit = api.post("/v1/enduser", json={"email": unique_email(), "emailConsent": False}).json()
    assert explicit["emailConsent"] is False


def test_journeys_map_must_reference_existing_journeys(api: httpx.Client, enduser) -> None:
    journey = new_journey(api)
    response = api.post(
        "/v1/enduser", json={"journeys": {journey["id"]: "New", "60398b0231a295e64f084fd9": ""}}
    )
    assert response.status_code == 400 and response.json() == RELATED
    bad = api.patch(
        f"/v1/enduser/{enduser['id']}",
        json={"updates": {"journeys": {"60398b0231a295e64f084fd9": "New"}}},
    )
    assert bad.json() == RELATED
    good = api.patch(
        f"/v1/enduser/{enduser['id']}", json={"updates": {"journeys": {journey["id"]: "New"}}}
    )
    assert good.json()["journeys"] == {journey["id"]: "New"}


def test_journey_defaults_and_default_state_constraint(api: httpx.Client) -> None:
    plain = new_journey(api)
    assert plain["defaultState"] == "New"
    assert plain["states"] == [{"name": "New", "priority": "N/A"}]
    named = new_journey(api, states=[{"name": "Intake", "priority": "N/A"}])
    assert named["defaultState"] == "Intake"
    bad = api.post(
        "/v1/journey",
        json={"title": f"J {uuid.uuid4().hex}", "defaultState": "Gone", "states": [{"name": "A"}]},
    )
    assert bad.status_code == 400
    assert bad.json()["message"] == "defaultState does not exist in states"
    dup = api.post("/v1/journey", json={"title": plain["title"]})
    assert dup.status_code == 409 and dup.json()["message"] == "Uniqueness Violation"


def test_journey_states_append_and_deletion(api: httpx.Client) -> None:
    journey = new_journey(api)
    updated = api.patch(
        f"/v1/journey/{journey['id']}",
        json={"updates": {"states": [{"name": "Delete Me", "priority": "N/A"}]}},
    ).json()
    assert [s["name"] for s in updated["states"]] == ["New", "Delete Me"]
    duplicate = api.patch(
        f"/v1/journey/{journey['id']}", json={"updates": {"states": [{"name": "New"}]}}
    )
    assert duplicate.status_code == 409
    after = api.request(
        "DELETE", f"/v1/journey/{journey['id']}/states", json={"states": ["Delete Me"]}
    )
    assert [s["name"] for s in after.json()["updated"]["states"]] == ["New"]


def test_deleting_a_journey_unsets_it_on_endusers(api: httpx.Client, make_enduser) -> None:
    keep, gone = new_journey(api), new_journey(api)
    enduser = make_enduser(journeys={keep["id"]: "New", gone["id"]: "Working"})
    assert api.delete(f"/v1/journey/{gone['id']}").status_code == 204
    assert api.get(f"/v1/enduser/{enduser['id']}").json()["journeys"] == {keep["id"]: "New"}


def test_status_update_writes_the_journey_state(api: httpx.Client, enduser) -> None:
    journey = new_journey(api)
    response = api.post(
        "/v1/enduser-status-update",
        json={"enduserId": enduser["id"], "journeyId": journey["id"], "status": "Intake sent"},
    )
    assert response.status_code == 200, response.text
    journeys = api.get(f"/v1/enduser/{enduser['id']}").json()["journeys"]
    assert journeys == {journey["id"]: "Intake sent"}


def test_add_and_remove_endusers_from_journey(api: httpx.Client, make_enduser) -> None:
    journey, other = new_journey(api), new_journey(api)
    first = make_enduser(journeys={other["id"]: "Kept"})
    second = make_enduser()
    added = api.post(
        "/v1/add-endusers-to-journey",
        json={"enduserIds": [first["id"], second["id"]], "journeyId": journey["id"]},
    )
    assert added.status_code == 200 and added.json() == {}
    assert api.get(f"/v1/enduser/{first['id']}").json()["journeys"] == {
        other["id"]: "Kept",
        journey["id"]: "",
    }
    api.post(
        "/v1/remove-endusers-from-journey",
        json={"enduserIds": [first["id"]], "journeyId": journey["id"]},
    )
    assert api.get(f"/v1/enduser/{first['id']}").json()["journeys"] == {other["id"]: "Kept"}
    missing = api.post(
        "/v1/add-endusers-to-journey",
        json={"enduserIds": [first["id"]], "journeyId": "60398b0231a295e64f084fd9"},
    )
    assert missing.status_code == 404
