"""Contract tests driven by Tellescope's REST docs (`doc_endpoints.json`, extracted from
Tellescope's API docs by `extract_doc_endpoints.py`): every documented endpoint of the implemented
resource families is routed, and omitting any documented required field is refused with Tellescope's
message naming that field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

ENDPOINTS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "doc_endpoints.json").read_text(encoding="utf-8")
)
PLACEHOLDER_ID = "60398b0231a295e64f084fd9"  # Tellescope's example id; exists in no sandbox
PLACEHOLDERS = {
    "string": PLACEHOLDER_ID,
    "Date": "2024-12-21T20:04:47.234Z",
    "number": 1,
    "boolean": True,
    "list": [PLACEHOLDER_ID],
    "object": {"placeholder": PLACEHOLDER_ID},
}


def _path(endpoint: dict[str, Any]) -> str:
    return endpoint["path"].replace(":id", PLACEHOLDER_ID)


def _call(api: httpx.Client, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    if method == "GET":
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return api.get(path, params=params)
    return api.request(method, path, json=body)


def test_the_extracted_docs_cover_every_implemented_family() -> None:
    sections = {e["section"] for e in ENDPOINTS}
    assert {
        "Endusers",
        "Templates",
        "Emails",
        "SmsMessages",
        "FormResponses",
        "Tickets",
    } <= sections
    assert {"CarePlans", "UserNotifications", "Notes", "CalendarEvents", "Webhooks"} <= sections
    assert len(ENDPOINTS) >= 120


@pytest.mark.parametrize(
    "endpoint", ENDPOINTS, ids=[f"{e['method']} {e['path']}" for e in ENDPOINTS]
)
def test_documented_endpoint_is_routed(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    response = _call(api, endpoint["method"], _path(endpoint), {})
    body = response.json() if response.content else {}
    route_missing = f"Cannot {endpoint['method']} "
    assert not str(body.get("message", "") if isinstance(body, dict) else "").startswith(
        route_missing
    ), f"{endpoint['method']} {endpoint['path']} is not routed: {response.status_code} {body}"
    assert response.status_code != 401


REQUIRED_CASES = [
    (endpoint, field)
    for endpoint in ENDPOINTS
    for field in endpoint["required"]
    if endpoint["method"] in ("POST", "PATCH", "DELETE", "GET")
]


@pytest.mark.parametrize(
    ("endpoint", "missing"),
    REQUIRED_CASES,
    ids=[f"{e['method']} {e['path']} without {f}" for e, f in REQUIRED_CASES],
)
def test_missing_required_field_is_named(
    api: httpx.Client, endpoint: dict[str, Any], missing: str
) -> None:
    body = {
        name: PLACEHOLDERS[endpoint["kinds"].get(name, "string")]
        for name in endpoint["required"]
        if name != missing
    }
    response = _call(api, endpoint["method"], _path(endpoint), body)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "message": f"Value not provided for required field: {missing}",
        "code": 400,
        "info": {},
    }


def test_documented_list_parameters_are_accepted(api: httpx.Client) -> None:
    """The read-many shape of the docs: lastId, limit, sort, filter (and from/to/fromUpdated
    from Getting Started), encoded as the SDK encodes them."""
    lists = [e for e in ENDPOINTS if e["method"] == "GET" and not e["path"].endswith(":id")]
    documented = {"lastId", "limit", "sort", "filter"}
    for endpoint in lists:
        if not documented <= set(endpoint["optional"]):
            continue
        response = api.get(
            endpoint["path"],
            params={
                "lastId": PLACEHOLDER_ID,
                "limit": 5,
                "sort": "oldFirst",
                "filter": json.dumps({"id": {"_exists": True}}),
                "from": "2020-01-01T00:00:00.000Z",
                "to": "2100-01-01T00:00:00.000Z",
                "fromUpdated": "2020-01-01T00:00:00.000Z",
            },
        )
        assert response.status_code == 200, (endpoint["path"], response.text)
        assert isinstance(response.json(), list)
