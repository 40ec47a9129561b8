"""Tellescope's SDK sends custom actions as `"/v1/" + "/tickets/close"`; Tellescope's server
accepts the double slash on every route, and so does the sandbox."""

from __future__ import annotations

import httpx

from sandbox.paths import collapse_slashes


def test_collapse_slashes() -> None:
    assert collapse_slashes("/v1//tickets/close") == "/v1/tickets/close"
    assert collapse_slashes("//v1///enduser//") == "/v1/enduser/"
    assert collapse_slashes("/v1/enduser") == "/v1/enduser"


def test_custom_action_with_double_slash(api: httpx.Client, enduser: dict) -> None:
    ticket = api.post("/v1/ticket", json={"title": "Call back", "enduserId": enduser["id"]}).json()
    response = api.post("/v1//tickets/close", json={"ticketId": ticket["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["updated"]["closedAt"]


def test_default_operations_with_double_slash(api: httpx.Client, enduser: dict) -> None:
    assert api.get(f"/v1//enduser/{enduser['id']}").json()["id"] == enduser["id"]
    updated = api.patch(f"/v1//enduser//{enduser['id']}", json={"updates": {"fname": "Sam"}})
    assert updated.status_code == 200 and updated.json()["fname"] == "Sam"


def test_double_slash_still_authenticates_and_reports_errors(api: httpx.Client) -> None:
    unauthenticated = httpx.post(
        str(api.base_url) + "/v1//tickets/close",
        json={"ticketId": "64f000000000000000000000"},
        headers={"Authorization": "API_KEY wrong"},
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"message": "Unauthenticated", "code": 401, "info": {}}
    missing = api.post("/v1//tickets/close", json={"ticketId": "64f000000000000000000000"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "Could not find a record for the given id"


def test_unknown_route_names_the_path_as_sent(api: httpx.Client) -> None:
    response = api.post("/v1//no-such-action", json={})
    assert response.status_code == 404
    assert response.json()["message"] == "Cannot POST /v1//no-such-action"


def test_fault_paths_match_the_normalised_path(api: httpx.Client, helpers: httpx.Client) -> None:
    helpers.put(
        "/sandbox/faults",
        json={"rate": 1, "kinds": ["error500"], "paths": ["/v1/tickets/close"], "count": 1},
    ).raise_for_status()
    try:
        response = api.post("/v1//tickets/close", json={"ticketId": "64f000000000000000000000"})
        assert response.status_code == 500
    finally:
        helpers.delete("/sandbox/faults")
