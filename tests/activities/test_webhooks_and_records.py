"""sendWebhook (default and extended forms, integrity recomputed here, failed delivery), appointment
actions, notes, and the not-configured actions."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.runtime import (
    ACTION_FAMILIES,
    NOT_CONFIGURED,
    TELLESCOPE_REJECTED,
    UNCONFIGURED_FAMILY,
)
from tellescope.idempotency import action_key
from tests.activities.conftest import find, get, ok

ORG_SECRET = "organisation-secret-of-more-than-15"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def echo(server, api: httpx.Client, helpers: httpx.Client):
    """The sandbox's /sandbox/echo as the organisation's webhook URL; returns a reader of the
    automation webhooks it received (record webhooks to the same URL are ignored)."""
    helpers.delete("/sandbox/echo/log")
    ok(
        api.post(
            "/v1/configure-webhooks",
            json={"url": f"{server.base_url}/sandbox/echo/org", "secret": ORG_SECRET},
        )
    )

    def received(path_prefix: str = "/sandbox/echo") -> list[dict[str, Any]]:
        return [
            entry
            for entry in ok(helpers.get("/sandbox/echo/log"))
            if entry["path"].startswith(path_prefix)
            and not (isinstance(entry["body"], dict) and "records" in entry["body"])
        ]

    yield received
    helpers.post("/sandbox/webhooks/flush")
    for config in ok(api.get("/v1/webhooks")):
        api.delete(f"/v1/webhook/{config['id']}")


async def test_default_webhook_goes_to_the_organisation_url(
    env, acts, request_for, enduser, echo
) -> None:
    action = {"type": "sendWebhook", "info": {"message": "Lab results ready"}}
    await env.run(acts.send_webhook, request_for(action, enduser))
    [entry] = echo("/sandbox/echo/org")
    body = entry["body"]
    assert entry["method"] == "POST"
    assert body["type"] == "automation"
    assert body["enduserId"] == enduser["id"]
    assert body["message"] == "Lab results ready"
    assert body["integrity"] == sha256(body["message"] + body["timestamp"] + ORG_SECRET)


async def test_extended_webhook_with_fields_headers_and_own_secret(
    env, acts, server, request_for, make_enduser, echo
) -> None:
    enduser = make_enduser(fname="Kai", fields={"MRN": "A-17"})
    action = {
        "type": "sendWebhook",
        "info": {
            "message": "ready",
            "url": f"{server.base_url}/sandbox/echo/lab",
            "method": "put",
            "secret": "per-action-secret",
            "headers": [{"field": "X-Patient", "value": "{{enduser.fname}}"}],
            "fields": [{"field": "mrn", "value": "{{enduser.MRN}}"}],
        },
    }
    await env.run(acts.send_webhook, request_for(action, enduser))
    [entry] = echo("/sandbox/echo/lab")
    body = entry["body"]
    assert entry["method"] == "PUT"
    assert entry["headers"]["x-patient"] == "Kai"
    assert body["mrn"] == "A-17"
    assert body["message"] == "ready" and body["enduserId"] == enduser["id"]
    assert body["integrity"] == sha256("ready" + body["timestamp"] + "per-action-secret")


async def test_raw_json_body_keeps_numbers_numbers(
    env, acts, server, request_for, make_enduser, echo
) -> None:
    enduser = make_enduser(fields={"Weight": 81})
    raw = '{"patient": "{{enduser.id}}", "weight": {{enduser.Weight}}}'
    action = {
        "type": "sendWebhook",
        "info": {"message": "", "url": f"{server.base_url}/sandbox/echo/raw", "rawJSONBody": raw},
    }
    await env.run(acts.send_webhook, request_for(action, enduser))
    [entry] = echo("/sandbox/echo/raw")
    assert entry["body"] == {"patient": enduser["id"], "weight": 81}


async def test_failed_delivery_is_the_steps_error(
    env, acts, server, request_for, enduser, echo
) -> None:
    action = {
        "type": "sendWebhook",
        "info": {"message": "x", "url": f"{server.base_url}/sandbox/echo/down?status=503"},
    }
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_webhook, request_for(action, enduser))
    assert raised.value.type == TELLESCOPE_REJECTED and raised.value.non_retryable
    assert "503" in raised.value.message


# --- appointments and notes ----------------------------------------------------------------------


def event(api: httpx.Client, start_ms: int, *attendees: dict) -> dict:
    return ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": start_ms,
                "durationInMinutes": 30,
                "attendees": list(attendees),
            },
        )
    )


async def test_cancel_future_appointments(
    env, acts, api, request_for, make_enduser, enduser
) -> None:
    me = {"type": "enduser", "id": enduser["id"]}
    someone_else = {"type": "enduser", "id": make_enduser()["id"]}
    now = "2030-01-01T00:00:00.000Z"
    past = event(api, 1_800_000_000_000, me)  # 2027
    future = event(api, 1_950_000_000_000, me)  # 2031
    theirs = event(api, 1_950_000_000_000, someone_else)
    outcome = await env.run(
        acts.manage_records, request_for({"type": "cancelFutureAppointments"}, enduser, now=now)
    )
    assert outcome.recordIds == [future["id"]]
    assert get(api, "calendar-event", future["id"])["cancelledAt"] == now
    assert not get(api, "calendar-event", past["id"]).get("cancelledAt")
    assert not get(api, "calendar-event", theirs["id"]).get("cancelledAt")


@pytest.mark.parametrize(
    ("kind", "field"),
    [("cancelCurrentEvent", "cancelledAt"), ("confirmCurrentEvent", "confirmedAt")],
)
async def test_current_event_actions(env, acts, api, request_for, enduser, kind, field) -> None:
    current = event(api, 1_950_000_000_000, {"type": "enduser", "id": enduser["id"]})
    other = event(api, 1_950_000_000_000, {"type": "enduser", "id": enduser["id"]})
    request = request_for(
        {"type": kind}, enduser, journey_context={"calendarEventId": current["id"]}
    )
    await env.run(acts.manage_records, request)
    assert get(api, "calendar-event", current["id"])[field]
    assert not get(api, "calendar-event", other["id"]).get(field)
    assert (await env.run(acts.manage_records, request)).reused


async def test_current_event_without_context_is_an_error(env, acts, request_for, enduser) -> None:
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.manage_records, request_for({"type": "cancelCurrentEvent"}, enduser))
    assert raised.value.non_retryable and "calendarEventId" in raised.value.message


async def test_create_note_once(env, acts, api, request_for, make_enduser) -> None:
    enduser = make_enduser(fname="Lu")
    action = {
        "type": "createNote",
        "info": {"title": "Call {{enduser.fname}}", "text": "Left a voicemail", "tags": ["calls"]},
    }
    request = request_for(action, enduser)
    first = await env.run(acts.manage_records, request)
    second = await env.run(acts.manage_records, request)
    [note] = find(api, "notes", enduserId=enduser["id"])
    assert note["title"] == "Call Lu" and note["text"] == "Left a voicemail"
    assert note["externalId"] == action_key(request.automatedActionId, "note")
    assert first.recordIds == second.recordIds == [note["id"]] and second.reused


# --- not configured (docs/decisions.md D11, D12) --------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "zusSync", "info": {}}, 'integration "zusSync" is not configured'),
        (
            {"type": "iterableSendEmail", "info": {"campaignId": "c1"}},
            'integration "iterableSendEmail" is not configured',
        ),
        (
            {"type": "aiDecision", "info": {"outcomes": ["a", "b"]}},
            'AI/telephony action "aiDecision"',
        ),
        ({"type": "outboundCall", "info": {"treeId": "t"}}, 'AI/telephony action "outboundCall"'),
    ],
)
async def test_unconfigured_actions_fail_clearly(
    env, acts, request_for, enduser, action, message
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, request_for(action, enduser))
    assert raised.value.type == NOT_CONFIGURED and raised.value.non_retryable
    assert raised.value.message.startswith(message)


async def test_an_action_sent_to_the_wrong_family_is_refused(
    env, acts, request_for, enduser
) -> None:
    action = {"type": "setEnduserStatus", "info": {"status": "x"}}
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request_for(action, enduser))
    assert raised.value.non_retryable


def test_every_family_has_an_activity(acts) -> None:
    names = {activity._Definition.must_from_callable(fn).name for fn in acts.all()}
    expected = (set(ACTION_FAMILIES) - {"control_journeys"}) | {UNCONFIGURED_FAMILY}
    reads = {
        "get_enduser",
        "get_condition_inputs",
        "record_background_error",
        "set_journey_state",
        "resolve_anchor_date",
    }
    assert expected | reads == names
