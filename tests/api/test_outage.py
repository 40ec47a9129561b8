"""Temporal really down (a dev server stopped, then started again on the same database): the
enrollment endpoints answer 503 with Retry-After and start nothing; /health/ready flips to 503
naming Temporal, and back to 200 when it returns; /health/live answers throughout."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from tests.api.conftest import free_port, harness, journey_yaml, worker_for
from tests.temporal_env import start_dev_server

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOURNEY = "outage-journey"


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert set(body) == {"message", "code", "info"} and body["code"] == 503
    assert "Temporal" in body["message"], body


async def workflow_exists(client: Client, workflow_id: str) -> bool:
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution={"workflow_id": workflow_id}
    )
    try:
        await client.workflow_service.describe_workflow_execution(request)
    except RPCError as error:
        assert error.status == RPCStatusCode.NOT_FOUND, error
        return False
    return True


async def ready_status(h, expected: int, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await h.http.get("/health/ready", headers={"Authorization": ""})
        if response.status_code == expected or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_temporal_down_answers_503_starts_nothing_and_ready_follows(
    tellescope, sandbox_http, tmp_path
):
    port, database = free_port(), str(tmp_path / "temporal.db")
    server = await start_dev_server(port=port, dev_server_database_filename=database)
    # The API's own client, retrying briefly (the default retries for about ten seconds).
    client = await Client.connect(
        f"127.0.0.1:{port}",
        data_converter=pydantic_data_converter,
        retry_config=RetryConfig(max_retries=2, max_elapsed_time_millis=2000),
    )
    restarted = None
    async with harness(client, tellescope, sandbox_http, tmp_path) as h:
        await h.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Outage journey")})
        people = [h.new_enduser() for _ in range(2)]
        ready = await h.http.get("/health/ready", headers={"Authorization": ""})
        assert ready.status_code == 200, ready.text
        assert ready.json()["temporal"] == "connected"
        try:
            await server.shutdown()  # Temporal is down from here

            not_ready = await ready_status(h, 503)
            assert not_ready.status_code == 503 and not_ready.json()["info"]["failed"] == [
                "temporal"
            ]
            assert int(not_ready.headers["Retry-After"]) > 0
            legacy = await h.http.get("/health", headers={"Authorization": ""})
            assert legacy.status_code == 503
            live = await h.http.get("/health/live", headers={"Authorization": ""})
            assert live.status_code == 200 and live.json() == {"status": "ok"}

            native = await h.http.post(
                f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people}
            )
            assert_unavailable(native)
            compatible = await h.http.post(
                "/v1/add-endusers-to-journey", json={"journeyId": JOURNEY, "enduserIds": people}
            )
            assert_unavailable(compatible)
            removed = await h.http.post(
                "/v1/remove-endusers-from-journey",
                json={"journeyId": JOURNEY, "enduserIds": people},
            )
            assert_unavailable(removed)
            one = await h.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{people[0]}")
            assert_unavailable(one)
        finally:
            restarted = await start_dev_server(port=port, dev_server_database_filename=database)
        try:
            back = await ready_status(h, 200)
            assert back.status_code == 200, back.text
            # nothing was started: no workflow, and with a worker polling, nothing happens
            for enduser_id in people:
                assert not await workflow_exists(client, f"journey:{JOURNEY}:{enduser_id}")
            async with worker_for(h):
                await asyncio.sleep(1.0)
            for enduser_id in people:
                assert await h.journey_state(enduser_id, JOURNEY) is None
                outbox = sandbox_http.get(
                    "/sandbox/outbox",
                    params={"enduserId": enduser_id, "inbound": "true"},
                    headers={"Accept": "application/json"},
                )
                assert outbox.status_code == 200 and outbox.json() == [], outbox.text
                assert h.ledger.query(where={"enduser_id": enduser_id}, limit=10) == []
            # and once Temporal is back, the same request enrolls them
            again = await h.http.post(
                f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people}
            )
            assert again.status_code == 200, again.text
            assert {r["status"] for r in again.json()["results"]} == {"started"}
        finally:
            await restarted.shutdown()


async def test_bulk_status_policy():
    from services.availability import bulk_status
    from services.enrollments import EnrollOutcome
    from services.errors import Unavailable, UpstreamFailed

    ok = EnrollOutcome("e1", "w1", "started", runId="r")
    down = EnrollOutcome("e2", "w2", "error", message="connection refused", code=503)
    refused = EnrollOutcome("e3", "w3", "error", message="refused", code=502)
    assert bulk_status([ok, ok]) == 200
    assert bulk_status([ok, down]) == 207
    assert bulk_status([refused, ok]) == 207
    with pytest.raises(Unavailable):
        bulk_status([down, refused])
    with pytest.raises(UpstreamFailed):
        bulk_status([refused])


async def test_database_down_answers_503_and_ready_names_it(
    env, tellescope, sandbox_http, tmp_path
):
    from sqlalchemy import create_engine

    from api.state import EngineStore

    async with harness(env.client, tellescope, sandbox_http, tmp_path) as h:
        await h.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Outage journey")})
        person = h.new_enduser()
        app = h.http._transport.app  # type: ignore[attr-defined]
        state = app.state.journeys
        working = state.store
        # the database server goes away: every connection is refused
        closed = free_port()
        state.store = EngineStore.for_engine(
            create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{closed}/journeys")
        )
        try:
            ready = await h.http.get("/health/ready", headers={"Authorization": ""})
            assert ready.status_code == 503, ready.text
            assert ready.json()["info"]["failed"] == ["database"]
            assert int(ready.headers["Retry-After"]) > 0
            live = await h.http.get("/health/live", headers={"Authorization": ""})
            assert live.status_code == 200

            enroll = await h.http.post(
                f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": [person]}
            )
            assert enroll.status_code == 503, enroll.text
            assert int(enroll.headers["Retry-After"]) > 0
            assert enroll.json()["code"] == 503 and "database" in enroll.json()["message"]
        finally:
            state.store = working
        assert not await workflow_exists(h.client, f"journey:{JOURNEY}:{person}")
        ready = await h.http.get("/health/ready", headers={"Authorization": ""})
        assert ready.status_code == 200, ready.text


async def test_remove_endusers_with_some_removals_failing_answers_207(api, monkeypatch):
    from workflows import starter

    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Outage journey")})
    people = [api.new_enduser() for _ in range(3)]
    added = await api.http.post(
        "/v1/add-endusers-to-journey", json={"journeyId": JOURNEY, "enduserIds": people[:2]}
    )
    assert added.status_code == 200, added.text
    real_remove = starter.remove

    async def flaky(client, journey_id, enduser_id, request):
        if enduser_id == people[1]:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        return await real_remove(client, journey_id, enduser_id, request)

    monkeypatch.setattr(starter, "remove", flaky)
    response = await api.http.post(
        "/v1/remove-endusers-from-journey", json={"journeyId": JOURNEY, "enduserIds": people}
    )
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["removed"] == [people[0]] and body["notEnrolled"] == [people[2]]
    assert body["failed"] == [
        {"enduserId": people[1], "code": 503, "message": "connection refused"}
    ]
    # every removal failing: nothing done, 503
    only = await api.http.post(
        "/v1/remove-endusers-from-journey", json={"journeyId": JOURNEY, "enduserIds": [people[1]]}
    )
    assert_unavailable(only)
    monkeypatch.undo()
    # the usual answer keeps Tellescope's shape: no `failed`
    done = await api.http.post(
        "/v1/remove-endusers-from-journey", json={"journeyId": JOURNEY, "enduserIds": [people[1]]}
    )
    assert done.status_code == 200 and set(done.json()) == {"journeyId", "removed", "notEnrolled"}
