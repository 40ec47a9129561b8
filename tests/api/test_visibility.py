"""Listing a journey's enrollments needs Temporal visibility: these run on a dev server (the
time-skipping test server has no List API), with their own app, store and worker. The dev server
also reports whether signal-with-start started a run, so the enrollment labels are checked here."""

from __future__ import annotations

import base64

import pytest

from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOURNEY = "listed-journey"


async def listing(dev, **params):
    response = await dev.http.get(f"/v1/journeys/{JOURNEY}/enrollments", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_labels_list_filter_and_pages(dev):
    await dev.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Listed journey")})
    endusers = [dev.new_enduser() for _ in range(3)]
    response = await dev.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": endusers}
    )
    assert [r["status"] for r in response.json()["results"]] == ["started"] * 3
    again = await dev.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserId": endusers[0], "restart": False}
    )
    assert again.json()["results"][0]["status"] == "alreadyEnrolled"

    async def all_started():
        body = await listing(dev, state="Started")
        return len(body["enrollments"]) == 3

    await dev.wait_for(all_started, "three enrollments in state Started")
    body = await listing(dev)
    assert {e["enduserId"] for e in body["enrollments"]} == set(endusers)
    version = dev.plans.current(JOURNEY).version
    assert {e["journeyVersion"] for e in body["enrollments"]} == {version}
    assert all(
        e["workflowId"] == f"journey:{JOURNEY}:{e['enduserId']}" for e in body["enrollments"]
    )
    assert all(e["nextActionAt"] for e in body["enrollments"])  # `later` is pending
    assert body["lastId"] is None
    assert (await listing(dev, state="Later"))["enrollments"] == []

    first = await listing(dev, limit=2)
    assert len(first["enrollments"]) == 2 and first["lastId"]
    other_filter = await dev.http.get(
        f"/v1/journeys/{JOURNEY}/enrollments",
        params={"limit": 2, "lastId": first["lastId"], "state": "Started"},
    )
    assert other_filter.status_code == 400  # a cursor belongs to its listing
    second = await listing(dev, limit=2, lastId=first["lastId"])
    seen = [e["enduserId"] for e in first["enrollments"] + second["enrollments"]]
    assert sorted(seen) == sorted(endusers)

    restarted = await dev.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserId": endusers[0], "restart": True}
    )
    assert restarted.json()["results"][0]["status"] == "restarted"

    removed = await dev.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{endusers[1]}")
    assert removed.status_code == 200

    async def two_left():
        return len((await listing(dev))["enrollments"]) == 2

    await dev.wait_for(two_left, "the removed enrollment is no longer running")


async def test_bad_cursor_and_unknown_journey(dev):
    await dev.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Listed journey")})
    response = await dev.http.get(f"/v1/journeys/{JOURNEY}/enrollments", params={"lastId": "%%%"})
    assert response.status_code == 400
    bogus = base64.urlsafe_b64encode(b"not a token").decode()
    for cursor in (bogus, bogus + ".0123456789abcdef"):
        response = await dev.http.get(
            f"/v1/journeys/{JOURNEY}/enrollments", params={"lastId": cursor}
        )
        assert response.status_code == 400, response.text
        assert response.json()["message"] == "lastId is not a cursor returned by this listing"
    response = await dev.http.get("/v1/journeys/nope/enrollments")
    assert response.status_code == 404
