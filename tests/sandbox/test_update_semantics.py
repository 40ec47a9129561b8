"""Tellescope's API docs, "Updating Records": arrays are appended and objects merged key
by key unless `options.replaceObjectFields` is true; scalars are replaced."""

from __future__ import annotations

from typing import Any

import httpx


def patch(api: httpx.Client, enduser: dict[str, Any], updates: dict, **options: Any) -> dict:
    body: dict[str, Any] = {"updates": updates}
    if options:
        body["options"] = options
    response = api.patch(f"/v1/enduser/{enduser['id']}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_arrays_append_by_default(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(tags=["a", "b"], assignedTo=["64f000000000000000000a01"])
    updated = patch(api, enduser, {"tags": ["c"]})
    assert updated["tags"] == ["a", "b", "c"]
    # Tellescope's tags are a unique list: appending an existing tag changes nothing.
    assert patch(api, enduser, {"tags": ["a", "d"]})["tags"] == ["a", "b", "c", "d"]


def test_arrays_replace_with_replace_object_fields(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(tags=["a", "b"])
    updated = patch(api, enduser, {"tags": ["z"]}, replaceObjectFields=True)
    assert updated["tags"] == ["z"]


def test_objects_merge_by_default(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fields={"height": 70, "insurer": "Acme"})
    updated = patch(api, enduser, {"fields": {"insurer": "Beta", "labStatus": "Pending"}})
    assert updated["fields"] == {"height": 70, "insurer": "Beta", "labStatus": "Pending"}


def test_objects_replace_with_replace_object_fields(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fields={"height": 70, "insurer": "Acme"})
    updated = patch(api, enduser, {"fields": {"labStatus": "Received"}}, replaceObjectFields=True)
    assert updated["fields"] == {"labStatus": "Received"}


def test_scalars_are_replaced_and_other_fields_kept(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fname="Ann", tags=["t"])
    updated = patch(api, enduser, {"fname": "Anna"}, replaceObjectFields=True)
    assert (updated["fname"], updated["tags"], updated["email"]) == (
        "Anna",
        ["t"],
        enduser["email"],
    )
    assert api.get(f"/v1/enduser/{enduser['id']}").json() == updated


def test_first_write_of_an_array_or_object_field(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser()
    updated = patch(api, enduser, {"tags": ["new"], "fields": {"x": 1}})
    assert (updated["tags"], updated["fields"]) == (["new"], {"x": 1})


def test_updates_must_be_an_object(api: httpx.Client, enduser) -> None:
    response = api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": ["x"]})
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "Error parsing field updates: Expecting an object but got ['x']"
    )
