"""Reading lists as Tellescope's SDK asks for them: per-key JSON-encoded query objects, `lastId`
pagination, `limit` (default 100, max 1000), `sort`, `filter` (equality on dotted fields, array
contains, `_in`/`_exists`/... operators), `from`/`to`/`fromUpdated`, `ids[]`."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest


@pytest.fixture
def tagged(make_enduser) -> tuple[str, list[dict[str, Any]]]:
    tag = f"page-{uuid.uuid4().hex[:8]}"
    return tag, [make_enduser(fname=f"P{i}", tags=[tag], fields={"rank": i}) for i in range(7)]


def page(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    response = api.get("/v1/endusers", params=encoded)
    assert response.status_code == 200, response.text
    return response.json()


def test_pages_with_last_id_newest_first(api: httpx.Client, tagged) -> None:
    tag, created = tagged
    seen: list[str] = []
    sizes = []
    last_id = None
    while True:
        params: dict[str, Any] = {"filter": {"tags": tag}, "limit": 3}
        if last_id:
            params["lastId"] = last_id
        loaded = page(api, **params)
        sizes.append(len(loaded))
        seen.extend(r["id"] for r in loaded)
        if len(loaded) < 3:
            break
        last_id = loaded[-1]["id"]
    assert sizes == [3, 3, 1]
    assert seen == [r["id"] for r in reversed(created)]  # default sort: newest first


def test_old_first(api: httpx.Client, tagged) -> None:
    tag, created = tagged
    first = page(api, filter={"tags": tag}, limit=4, sort="oldFirst")
    rest = page(api, filter={"tags": tag}, limit=4, sort="oldFirst", lastId=first[-1]["id"])
    assert [r["id"] for r in first + rest] == [r["id"] for r in created]


def test_default_limit_is_100_and_max_1000(api: httpx.Client, make_enduser) -> None:
    tag = f"many-{uuid.uuid4().hex[:8]}"
    response = api.post("/v1/endusers", json={"create": [{"tags": [tag]} for _ in range(105)]})
    assert len(response.json()["created"]) == 105
    assert len(page(api, filter={"tags": tag})) == 100
    assert len(page(api, filter={"tags": tag}, limit=5000)) == 105


def test_filters(api: httpx.Client, tagged) -> None:
    tag, created = tagged
    assert [r["id"] for r in page(api, filter={"tags": tag, "fields.rank": 2})] == [
        created[2]["id"]
    ]
    assert len(page(api, filter={"tags": tag, "fields.rank": {"_gte": 5}})) == 2
    in_filter = {"tags": tag, "fname": {"_in": ["P0", "P6"]}}
    assert {r["fname"] for r in page(api, filter=in_filter)} == {"P0", "P6"}
    assert page(api, filter={"tags": tag, "lname": {"_exists": False}}) == []
    assert len(page(api, filter={"tags": tag, "fname": {"_ne": "P0"}})) == 6
    assert page(api, filter={"tags": tag, "fields.rank": "2"}) == []  # equality is typed


def test_ids_array_encoding(api: httpx.Client, tagged) -> None:
    """The SDK sends arrays as repeated `key[]` parameters."""
    _, created = tagged
    ids = [created[1]["id"], created[4]["id"]]
    response = api.get("/v1/endusers", params=[("ids[]", i) for i in ids])
    assert {r["id"] for r in response.json()} == set(ids)


def test_created_and_updated_ranges(api: httpx.Client, make_enduser) -> None:
    tag = f"range-{uuid.uuid4().hex[:8]}"
    old = make_enduser(tags=[tag])
    time.sleep(0.01)
    middle = api.get(f"/v1/enduser/{old['id']}").json()["createdAt"]
    time.sleep(0.01)
    new = make_enduser(tags=[tag])
    assert [r["id"] for r in page(api, filter={"tags": tag}, **{"from": new["createdAt"]})] == [
        new["id"]
    ]
    assert [r["id"] for r in page(api, filter={"tags": tag}, to=middle)] == [old["id"]]
    time.sleep(0.01)
    since = api.patch(f"/v1/enduser/{old['id']}", json={"updates": {"fname": "x"}}).json()
    updated = page(api, filter={"tags": tag}, fromUpdated=since["updatedAt"])
    assert [r["id"] for r in updated] == [old["id"]]


def test_bad_list_parameters(api: httpx.Client) -> None:
    response = api.get("/v1/endusers", params={"filter": "not json"})
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "Error parsing field filter: Expecting an object but got not json"
    )
    response = api.get("/v1/endusers", params={"limit": "many"})
    assert response.json()["message"] == "Error parsing field limit: Not a valid number"
