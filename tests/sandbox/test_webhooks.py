"""Record webhooks (delivery, integrity, subscriptions, dontSendWebhook, failure logging) and
automation webhooks, checked by an independent receiver that recomputes the integrity hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from sandbox.seed import INTAKE_FORM


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def verify_record_hook(body: dict[str, Any], secret: str) -> None:
    """The documented check: sha256 hex of (record ids concatenated + timestamp + secret)."""
    ids = "".join(r["id"] for r in body["records"])
    assert body["integrity"] == sha256(ids + body["timestamp"] + secret)


def hooks_for(receiver, model: str, kind: str, record_id: str) -> list[dict[str, Any]]:
    return [
        b
        for b in receiver.bodies()
        if b.get("model") == model
        and b.get("type") == kind
        and any(r["id"] == record_id for r in b["records"])
    ]


def test_configure_requires_a_long_secret(api: httpx.Client) -> None:
    response = api.post(
        "/v1/configure-webhooks", json={"url": "http://127.0.0.1:1/x", "secret": "short"}
    )
    assert response.status_code == 400
    assert (
        response.json()["message"] == "Error parsing field secret: Secret must exceed 15 characters"
    )


def test_create_update_delete_webhooks_with_integrity(api: httpx.Client, receiver, flush) -> None:
    enduser = api.post("/v1/enduser", json={"fname": "Hook", "tags": ["a"]}).json()
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"tags": ["b"]}})
    api.delete(f"/v1/enduser/{enduser['id']}")
    flush()
    created = hooks_for(receiver, "endusers", "create", enduser["id"])
    updated = hooks_for(receiver, "endusers", "update", enduser["id"])
    deleted = hooks_for(receiver, "endusers", "delete", enduser["id"])
    assert (len(created), len(updated), len(deleted)) == (1, 1, 1)
    for body in (created[0], updated[0], deleted[0]):
        verify_record_hook(body, receiver.secret)
        assert set(body) >= {"model", "type", "records", "timestamp", "integrity", "relatedRecords"}
        assert body["timestamp"].isdigit()
    assert created[0]["records"] == [enduser]
    assert updated[0]["records"][0]["tags"] == ["a", "b"]
    assert updated[0]["updates"] == [{"recordBeforeUpdate": enduser, "update": {"tags": ["b"]}}]
    order = [b["type"] for b in receiver.bodies() if b["records"][0]["id"] == enduser["id"]]
    assert order == ["create", "update", "delete"]


def test_bulk_create_is_one_webhook(api: httpx.Client, receiver, flush) -> None:
    created = api.post("/v1/endusers", json={"create": [{"fname": "A"}, {"fname": "B"}]}).json()
    flush()
    ids = [r["id"] for r in created["created"]]
    hooks = [b for b in receiver.bodies() if [r["id"] for r in b["records"]] == ids]
    assert len(hooks) == 1
    verify_record_hook(hooks[0], receiver.secret)


def test_dont_send_webhook(api: httpx.Client, receiver, flush, enduser) -> None:
    api.patch(
        f"/v1/enduser/{enduser['id']}",
        json={"updates": {"fname": "Quiet"}, "options": {"dontSendWebhook": True}},
    )
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fname": "Loud"}})
    flush()
    updates = hooks_for(receiver, "endusers", "update", enduser["id"])
    assert [u["records"][0]["fname"] for u in updates] == ["Loud"]


def test_related_records_and_message_models(api: httpx.Client, receiver, flush, enduser) -> None:
    sms = api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "Hi"}).json()
    flush()
    (hook,) = hooks_for(receiver, "sms_messages", "create", sms["id"])
    verify_record_hook(hook, receiver.secret)
    assert hook["relatedRecords"][enduser["id"]]["email"] == enduser["email"]
    assert hook["relatedRecords"]["64f000000000000000000a00"]["fname"] == "Sandbox"


def test_subscriptions_are_respected(api: httpx.Client, receiver, flush) -> None:
    response = api.patch(
        "/v1/update-webhooks",
        json={
            "subscriptionUpdates": {"endusers": {"create": False, "update": True, "delete": True}}
        },
    )
    assert response.status_code == 200 and response.json() == {}
    config = api.get("/v1/webhook-configuration").json()
    assert config["url"] == receiver.url
    assert config["subscriptions"]["endusers"] == {"create": False, "update": True, "delete": True}
    assert config["subscriptions"]["tickets"] == {"create": True, "update": True, "delete": True}
    enduser = api.post("/v1/enduser", json={"fname": "Unheard"}).json()
    ticket = api.post("/v1/ticket", json={"title": "Heard"}).json()
    flush()
    assert hooks_for(receiver, "endusers", "create", enduser["id"]) == []
    assert len(hooks_for(receiver, "tickets", "create", ticket["id"])) == 1


def test_patient_actions_fire_webhooks(
    api: httpx.Client, helpers, receiver, flush, enduser
) -> None:
    sms = helpers.post(
        "/sandbox/patient/sms", json={"enduserId": enduser["id"], "message": "STOP please"}
    ).json()["sms"]
    prepared = api.post(
        "/v1/prepare-form-response",
        json={
            "formId": INTAKE_FORM,
            "enduserId": enduser["id"],
            "automationStepId": "64f0000000000000000000dd",
        },
    ).json()
    helpers.post(
        f"/sandbox/patient/form-responses/{prepared['response']['id']}/submit",
        json={"answers": {"preferredName": "P"}},
    )
    ticket = api.post("/v1/ticket", json={"title": "Call", "closeReasons": ["Reached"]}).json()
    helpers.post(
        f"/sandbox/patient/tickets/{ticket['id']}/close", json={"closedForReason": "Reached"}
    )
    flush()
    (inbound,) = hooks_for(receiver, "sms_messages", "create", sms["id"])
    assert inbound["records"][0]["inbound"] is True
    submitted = hooks_for(receiver, "form_responses", "update", prepared["response"]["id"])
    assert submitted[-1]["records"][0]["submittedAt"]
    assert submitted[-1]["records"][0]["automationStepId"] == "64f0000000000000000000dd"
    closed = hooks_for(receiver, "tickets", "update", ticket["id"])
    assert closed[-1]["records"][0]["closedForReason"] == "Reached"
    for body in inbound, submitted[-1], closed[-1]:
        verify_record_hook(body, receiver.secret)


def test_failed_deliveries_are_logged_and_counted(api: httpx.Client, receiver, flush) -> None:
    receiver.status = 500
    before = api.get("/v1/webhooks").json()[0].get("deliveryFailureCount", 0)
    api.post("/v1/enduser", json={"fname": "Failing"})
    flush()
    config = api.get("/v1/webhooks").json()[0]
    assert config["deliveryFailureCount"] == before + 1
    assert "secret" not in config
    logs = api.get("/v1/webhook-logs", params={"limit": 5}).json()
    assert logs[0]["url"] == receiver.url and logs[0]["responseCode"] == 500
    receiver.status = 200
    api.post("/v1/enduser", json={"fname": "Working"})
    flush()
    assert api.get("/v1/webhooks").json()[0]["deliveryFailureCount"] == before + 1
    assert api.get("/v1/webhook-logs", params={"limit": 1}).json()[0]["responseCode"] == 200
    readonly = api.patch(
        f"/v1/webhook/{config['id']}", json={"updates": {"deliveryFailureCount": 0}}
    )
    assert readonly.status_code == 400


def test_unreachable_receiver_is_logged_without_code(api: httpx.Client, receiver, flush) -> None:
    api.patch("/v1/update-webhooks", json={"url": "http://127.0.0.1:9/unreachable"})
    api.post("/v1/enduser", json={"fname": "Nobody listens"})
    flush()
    log = api.get("/v1/webhook-logs", params={"limit": 1}).json()[0]
    assert log["url"] == "http://127.0.0.1:9/unreachable"
    assert "responseCode" not in log and isinstance(log["response"], str) and log["response"]


def test_automation_webhook_default_form(api: httpx.Client, receiver, enduser) -> None:
    response = api.post(
        "/v1/send-automation-webhook",
        json={"message": "lab-results-ready", "enduserId": enduser["id"]},
    )
    assert response.status_code == 200 and response.json() == {}
    (body,) = [b for b in receiver.bodies() if b.get("type") == "automation"]
    assert (body["message"], body["enduserId"]) == ("lab-results-ready", enduser["id"])
    assert body["integrity"] == sha256("lab-results-ready" + body["timestamp"] + receiver.secret)


def test_automation_webhook_extended_form(api: httpx.Client, helpers, enduser) -> None:
    helpers.delete("/sandbox/echo/log")
    action = {
        "type": "sendWebhook",
        "info": {
            "message": "lab-results-ready",
            "url": f"{api.base_url}/sandbox/echo",
            "method": "post",
            "secret": "per-action-secret-value",
            "headers": [{"field": "X-Patient", "value": "{{enduser.fname}}"}],
            "fields": [
                {"field": "enduserId", "value": "{{enduser.id}}"},
                {"field": "event", "value": "results-ready"},
            ],
        },
    }
    response = api.post(
        "/v1/send-automation-webhook",
        json={
            "enduserId": enduser["id"],
            "automationStepId": "64f0000000000000000000ee",
            "action": action,
        },
    )
    assert response.status_code == 200, response.text
    (received,) = helpers.get("/sandbox/echo/log").json()
    body = received["body"]
    assert (body["enduserId"], body["event"], body["type"]) == (
        enduser["id"],
        "results-ready",
        "automation",
    )
    assert body["integrity"] == sha256(
        "lab-results-ready" + body["timestamp"] + "per-action-secret-value"
    )
    assert received["headers"]["x-patient"] == enduser["fname"]


def test_automation_webhook_raw_json_body(api: httpx.Client, helpers, make_enduser) -> None:
    enduser = make_enduser(fields={"score": 7, "profile": {"a": 1}})
    helpers.delete("/sandbox/echo/log")
    raw = '{"id": "{{enduser.id}}", "score": {{enduser.score}}, "profile": "{{enduser.profile}}"}'
    api.post(
        "/v1/send-automation-webhook",
        json={
            "enduserId": enduser["id"],
            "action": {"info": {"url": f"{api.base_url}/sandbox/echo", "rawJSONBody": raw}},
        },
    )
    (received,) = helpers.get("/sandbox/echo/log").json()
    assert received["body"] == {
        "id": enduser["id"],
        "score": 7,
        "profile": json.dumps({"a": 1}, separators=(",", ":")),
    }


def test_failing_automation_webhook_is_an_error(api: httpx.Client, enduser) -> None:
    response = api.post(
        "/v1/send-automation-webhook",
        json={
            "enduserId": enduser["id"],
            "action": {"info": {"message": "x", "url": f"{api.base_url}/sandbox/echo?status=503"}},
        },
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Webhook delivery failed: status 503"


def test_automation_webhook_without_any_url(api: httpx.Client) -> None:
    response = api.post("/v1/send-automation-webhook", json={"message": "hello"})
    assert response.status_code == 400
    assert response.json()["message"] == "No webhook URL is configured for this organization"
