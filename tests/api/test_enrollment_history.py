"""An enduser's enrollments with `include=all` (docs/operator-view.md §1): a finished and a removed
enrollment stay listed with their outcome, beside a running one; pages by offset. The app on the
time-skipping test server with a real worker, the sandbox as Tellescope."""

from __future__ import annotations

import textwrap

import pytest

from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")

SHORT = "history-short"
LONG = "history-long"
OTHER = "history-other"
ENDED = "history-ended"


def short_journey() -> str:
    return textwrap.dedent(
        f"""
        journey:
          id: {SHORT}
          title: Short journey
          states: [{{name: Done, priority: N/A}}]
        steps:
          - id: only
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: Done}}}}
        """
    ).lstrip()


async def history(api, enduser_id: str, **params) -> dict:
    response = await api.http.get(
        f"/v1/endusers/{enduser_id}/journeys", params={"include": "all", **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_finished_and_removed_enrollments_are_listed_with_their_outcome(api):
    await api.deploy(
        {
            f"{SHORT}.yaml": short_journey(),
            f"{LONG}.yaml": journey_yaml(LONG, "Long journey"),
            f"{OTHER}.yaml": journey_yaml(OTHER, "Other journey"),
            f"{ENDED}.yaml": journey_yaml(ENDED, "Ended journey"),
        }
    )
    enduser_id = api.new_enduser()
    for journey in (SHORT, LONG, OTHER, ENDED):
        response = await api.http.post(
            f"/v1/journeys/{journey}/enrollments", json={"enduserId": enduser_id}
        )
        assert response.status_code == 200, response.text

    async def short_done():
        body = await history(api, enduser_id)
        return any(
            e["journeyId"] == SHORT and e["status"] == "completed" for e in body["enrollments"]
        )

    await api.wait_for(short_done, "the short journey completed")
    await api.wait_for(lambda: api.journey_state(enduser_id, LONG), "the long journey started")
    response = await api.http.delete(f"/v1/journeys/{LONG}/enrollments/{enduser_id}")
    assert response.status_code == 200, response.text

    async def long_removed():
        body = await history(api, enduser_id)
        return any(e["journeyId"] == LONG and e["status"] == "removed" for e in body["enrollments"])

    await api.wait_for(long_removed, "the long journey removed")
    # an operator ends one in Temporal: listed as terminated, with the reason given
    await api.wait_for(lambda: api.journey_state(enduser_id, ENDED), "the ended journey started")
    handle = api.client.get_workflow_handle(f"journey:{ENDED}:{enduser_id}")
    await handle.terminate(reason="ended by an operator")
    body = await history(api, enduser_id)
    by_journey = {e["journeyId"]: e for e in body["enrollments"]}
    assert set(by_journey) == {SHORT, LONG, OTHER, ENDED}
    assert body["nextOffset"] is None

    short = by_journey[SHORT]
    assert short["status"] == "completed" and short["closedAt"] >= short["startedAt"]
    assert short["state"] == "Done"
    assert short["planVersion"] == api.plans.current(SHORT).version
    assert short["outcome"]["finished"] == 1
    assert short["outcome"]["cancelled"] == short["outcome"]["errors"] == 0

    removed = by_journey[LONG]
    assert removed["status"] == "removed" and removed["closedAt"]
    assert removed["outcome"]["cancelReason"] == 0
    assert removed["outcome"]["cancelReasonLabel"] == "Removed by User"
    assert removed["outcome"]["cancelled"] == 1  # `later` was pending

    ended = by_journey[ENDED]
    assert ended["status"] == "terminated" and ended["closedAt"]
    assert ended["outcome"]["failure"] == "ended by an operator"

    running = by_journey[OTHER]
    assert running["status"] == "running" and running["outcome"] is None
    assert [p["stepId"] for p in running["pending"]] == ["later"]

    # without include=all: the running one only, as before
    response = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert [e["journeyId"] for e in response.json()["enrollments"]] == [OTHER]

    # pages: newest start first, offset/limit, nextOffset until the last
    first = await history(api, enduser_id, limit=2)
    assert len(first["enrollments"]) == 2 and first["nextOffset"] == 2
    second = await history(api, enduser_id, limit=2, offset=2)
    assert len(second["enrollments"]) == 2 and second["nextOffset"] is None
    listed = [e["journeyId"] for e in first["enrollments"] + second["enrollments"]]
    assert sorted(listed) == sorted(by_journey)
    starts = [e["startedAt"] for e in first["enrollments"] + second["enrollments"]]
    assert starts == sorted(starts, reverse=True)

    too_many = await api.http.get(
        f"/v1/endusers/{enduser_id}/journeys", params={"include": "all", "limit": 101}
    )
    assert too_many.status_code == 422
    assert "limit" in too_many.text


async def test_earlier_runs_of_a_journey_are_listed_from_visibility(dev):
    """Enrolled again after the first enrollment ended: both runs listed (a dev server, whose
    visibility lists the earlier run; the time-skipping server has no List API)."""
    await dev.deploy({f"{SHORT}.yaml": short_journey()})
    enduser_id = dev.new_enduser()
    runs = []
    for _ in range(2):
        response = await dev.http.post(
            f"/v1/journeys/{SHORT}/enrollments", json={"enduserId": enduser_id}
        )
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert result["status"] == "started"
        runs.append(result["runId"])
        await dev.client.get_workflow_handle(result["workflowId"], run_id=result["runId"]).result()

    async def both_listed():
        body = await history(dev, enduser_id)
        return body if len(body["enrollments"]) == 2 else None

    body = await dev.wait_for(both_listed, "both runs listed", timeout=30)
    listed = body["enrollments"]
    assert [e["runId"] for e in listed] == runs[::-1]  # newest first
    assert all(e["journeyId"] == SHORT and e["status"] == "completed" for e in listed)
    assert all(e["outcome"]["finished"] == 1 and e["state"] == "Done" for e in listed)
    assert listed[1]["planVersion"] == dev.plans.current(SHORT).version
