"""Fault injection: the failures the engine's retries and idempotency must survive."""

from __future__ import annotations

import json

import httpx
import pytest


def configure(faults: httpx.Client, **plan) -> dict:
    response = faults.put("/sandbox/faults", json=plan)
    assert response.status_code == 200, response.text
    return response.json()


def sms_count(api: httpx.Client, enduser: dict) -> int:
    filter_ = json.dumps({"enduserId": enduser["id"]})
    return api.get("/v1/sms-messages", params={"filter": filter_, "returnCount": "true"}).json()[
        "count"
    ]


def test_error500_on_the_chosen_paths_only(api: httpx.Client, faults, enduser) -> None:
    configure(faults, rate=1.0, kinds=["error500"], paths=["/v1/sms-message"])
    response = api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert response.status_code == 500
    assert response.json()["code"] == 500 and response.json()["message"].startswith("Something")
    assert sms_count(api, enduser) == 0, "an error500 fault does not process the request"
    assert api.get(f"/v1/enduser/{enduser['id']}").status_code == 200
    assert api.get("/v1/sms-messages").status_code == 200, (
        "exact paths: /v1/sms-messages unaffected"
    )
    assert faults.get("/sandbox/stats").status_code == 200, "/sandbox is never faulted"


def test_accept_then_500_commits_the_record(api: httpx.Client, faults, enduser) -> None:
    configure(faults, kinds=["accept_then_500"], paths=["/v1/sms-message"], count=1)
    response = api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert response.status_code == 500
    assert sms_count(api, enduser) == 1, "Tellescope accepted it; the client never saw the answer"
    retry = api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert retry.status_code == 200, "count=1: only one fault"
    assert sms_count(api, enduser) == 2


def test_drop_closes_the_connection(api: httpx.Client, faults, enduser) -> None:
    configure(faults, kinds=["drop"], paths=["/v1/sms-message"], count=1)
    with pytest.raises(httpx.TransportError):
        api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert sms_count(api, enduser) == 0


def test_accept_then_drop(api: httpx.Client, faults, enduser) -> None:
    configure(faults, kinds=["accept_then_drop"], paths=["/v1/sms-message"], count=1)
    with pytest.raises(httpx.TransportError):
        api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert sms_count(api, enduser) == 1


def test_accept_then_hang_commits_then_outlasts_the_client(server, faults, enduser) -> None:
    configure(
        faults, kinds=["accept_then_hang"], paths=["/v1/sms-message"], count=1, timeoutSeconds=1.0
    )
    with httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": "API_KEY sandbox-dev-key"},
        timeout=0.3,
    ) as impatient:
        with pytest.raises(httpx.TimeoutException):
            impatient.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    with httpx.Client(base_url=server.base_url, params={"apiKey": "sandbox-dev-key"}) as api:
        assert sms_count(api, enduser) == 1, "the record exists though no answer ever came"


def test_timeout_outlasts_the_client(server, faults, enduser) -> None:
    configure(faults, kinds=["timeout"], paths=["/v1/sms-message"], count=1, timeoutSeconds=1.0)
    with httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": "API_KEY sandbox-dev-key"},
        timeout=0.3,
    ) as impatient:
        with pytest.raises(httpx.TimeoutException):
            impatient.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})


def test_rate_seed_and_count(api: httpx.Client, faults) -> None:
    def outcomes(seed: int) -> list[int]:
        configure(faults, rate=0.5, kinds=["error500"], paths=["/v1/users"], seed=seed)
        return [api.get("/v1/users").status_code for _ in range(20)]

    first, second = outcomes(42), outcomes(42)
    assert first == second, "the same seed injects the same faults"
    assert 0 < first.count(500) < 20
    configure(faults, rate=0.0, kinds=["error500"], paths=["/v1/users"])
    assert {api.get("/v1/users").status_code for _ in range(5)} == {200}
    configure(faults, rate=1.0, kinds=["error500"], paths=["/v1/user*"], count=2)
    assert [api.get("/v1/users").status_code for _ in range(4)] == [500, 500, 200, 200]


def test_stats_and_clearing(api: httpx.Client, faults) -> None:
    configure(faults, kinds=["error500"], paths=["/v1/templates"], count=3)
    for _ in range(3):
        api.get("/v1/templates")
    status = faults.get("/sandbox/faults").json()
    assert status["active"] and status["remaining"] == 0
    assert status["byKind"]["error500"] >= 3
    stats = faults.get("/sandbox/stats").json()
    assert stats["faults"]["injected"] >= 3
    cleared = faults.delete("/sandbox/faults").json()
    assert cleared["active"] is False
    assert api.get("/v1/templates").status_code == 200


def test_bad_fault_plans(faults) -> None:
    response = faults.put("/sandbox/faults", json={"kinds": ["explode"]})
    assert response.status_code == 400 and "explode" in response.json()["message"]
    assert faults.put("/sandbox/faults", json={"rate": 2}).status_code == 400


def test_slow_answers_late_but_normally(api: httpx.Client, faults, enduser) -> None:
    import time

    configure(faults, kinds=["slow"], paths=["/v1/sms-message"], count=1, timeoutSeconds=1.0)
    started = time.monotonic()
    response = api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"})
    assert response.status_code == 200 and time.monotonic() - started >= 1.0
    assert sms_count(api, enduser) == 1
