"""Intake mapping on real deliveries: the sandbox posts its record webhooks to a receiver in the
test, and each captured payload is mapped to trigger events and enrollment signals
(`triggers.intake.map_webhook`; routing and dispatch are covered in test_firing)."""

from __future__ import annotations

import uuid

import pytest

from models.runtime import FormSubmitted, IncomingMessage, TicketClosed
from sandbox.seed import ADMIN_USER_ID, INTAKE_FORM, WELCOME_SMS
from triggers.intake import map_webhook, webhook_records
from triggers.models import trigger_action_id
from triggers.quiet import is_trigger_origin

from .conftest import ok

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEP_ID = "64f0000000000000000001a1"


async def mapped(engine, payloads, source=None):
    """Every (record, mapping) of the captured payloads, in delivery order (records read back
    from the sandbox, or from `source`)."""
    found = []
    for payload in payloads:
        found += await map_webhook(payload, engine.deps, source)
    return found


class Records:
    """Stands in for Tellescope's records where the sandbox cannot (models it does not serve,
    records of types Tellescope never sends): `read` answers like a bulk read."""

    def __init__(self, *records: tuple[str, dict]) -> None:
        self.by_model: dict[str, dict[str, dict]] = {}
        for model, record in records:
            self.put(model, record)

    def put(self, model: str, record: dict) -> None:
        self.by_model.setdefault(model, {})[record["id"]] = record

    async def read(self, model, wanted):
        held = self.by_model.get(model, {})
        return {w.id: held[w.id] for w in wanted if w.id in held}


def types(mapping) -> list[str]:
    return [e.type for e in mapping.events]


async def test_enduser_create_and_update(engine, api, hooks, make_enduser) -> None:
    enduser = make_enduser(fields={"Number": 1}, tags=["a"])
    [create] = hooks.about(hooks.take(), enduser["id"], "endusers")
    [(created_item, created)] = await mapped(engine, [create])
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"tags": ["b"], "fname": "Sam"}})
    [update] = hooks.about(hooks.take(), enduser["id"], "endusers")
    assert [p["type"] for p in (create, update)] == ["create", "update"]
    [(updated_item, updated)] = await mapped(engine, [update])

    assert types(created) == ["Contact Created", "Field Equals"]
    assert created.enduser == enduser and created.signals == []
    event = created.events[0]
    assert (event.enduserId, event.model, event.previous) == (enduser["id"], "endusers", None)
    assert event.record == enduser

    assert types(updated) == ["Field Equals", "Fields Changed", "Tag Added"]
    change = updated.events[1]
    assert change.previous == enduser
    assert change.update == {"tags": ["b"], "fname": "Sam"}
    assert change.record["tags"] == ["a", "b"] and change.record["fname"] == "Sam"
    # one id per (record, event type, update): different across updates and types
    ids = [e.eventId for e in created.events + updated.events]
    assert len(set(ids)) == len(ids)
    assert all(enduser["id"] in i for i in ids)


async def test_a_redelivered_webhook_maps_to_the_same_event_ids(engine, hooks, make_enduser):
    enduser = make_enduser()
    [payload] = hooks.about(hooks.take(), enduser["id"], "endusers")
    first = [e.eventId for _, m in await mapped(engine, [payload]) for e in m.events]
    again = [e.eventId for _, m in await mapped(engine, [dict(payload)]) for e in m.events]
    assert first == again and first


async def test_update_without_new_tags_has_no_tag_added(engine, api, hooks, make_enduser):
    enduser = make_enduser(tags=["a"])
    hooks.take()
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"lname": "New"}})
    [update] = hooks.about(hooks.take(), enduser["id"], "endusers")
    [(_, mapping)] = await mapped(engine, [update])
    assert types(mapping) == ["Field Equals", "Fields Changed"]


async def test_form_submission_signals_the_step_and_is_an_event(
    engine, api, helpers, hooks, make_enduser
) -> None:
    enduser = make_enduser()
    prepared = ok(
        api.post(
            "/v1/prepare-form-response",
            json={"formId": INTAKE_FORM, "enduserId": enduser["id"], "automationStepId": STEP_ID},
        )
    )
    response_id = prepared["response"]["id"]
    [create] = hooks.about(hooks.take(), response_id, "form_responses")
    [(_, prepared_map)] = await mapped(engine, [create])
    ok(
        helpers.post(
            f"/sandbox/patient/form-responses/{response_id}/submit",
            json={"answers": {"preferredName": "Pat"}},
        )
    )
    [update] = hooks.about(hooks.take(), response_id, "form_responses")
    assert [p["type"] for p in (create, update)] == ["create", "update"]
    [(_, submitted)] = await mapped(engine, [update])
    assert prepared_map.ignored == "form response not newly submitted"

    [signal] = submitted.signals
    assert signal.signal == "form_submitted" and signal.enduserId == enduser["id"]
    assert signal.automationStepId == STEP_ID
    assert isinstance(signal.payload, FormSubmitted)
    assert signal.payload.formResponseId == response_id
    assert signal.payload.formId == INTAKE_FORM and signal.payload.submittedAt
    [event] = submitted.events
    assert event.type == "Form Submitted"
    assert event.journeyContext.formResponseId == response_id
    assert event.record["responses"][0]["answer"]["value"] == "Pat"


async def test_ticket_closed_signals_the_step(engine, api, helpers, hooks, make_enduser):
    enduser = make_enduser()
    ticket = ok(
        api.post(
            "/v1/ticket",
            json={"title": "Call back", "enduserId": enduser["id"], "automationStepId": STEP_ID},
        )
    )
    [(_, created)] = await mapped(engine, hooks.about(hooks.take(), ticket["id"], "tickets"))
    ok(
        helpers.post(
            f"/sandbox/patient/tickets/{ticket['id']}/close", json={"closedForReason": "Done"}
        )
    )
    [(_, closed)] = await mapped(engine, hooks.about(hooks.take(), ticket["id"], "tickets"))
    assert created.ignored == "ticket not newly closed"
    [signal] = closed.signals
    assert signal.signal == "ticket_closed" and signal.automationStepId == STEP_ID
    assert signal.payload == TicketClosed(
        ticketId=ticket["id"], automationStepId=STEP_ID, closedForReason="Done"
    )
    assert closed.events == []


async def test_inbound_sms_is_an_incoming_message_and_an_sms_reply(
    engine, api, helpers, hooks, make_enduser
) -> None:
    enduser = make_enduser()
    outbound = ok(
        api.post(
            "/v1/sms-messages/send-with-template",
            json={"enduserId": enduser["id"], "senderId": ADMIN_USER_ID, "templateId": WELCOME_SMS},
        )
    )["sms"]
    reply = ok(
        helpers.post("/sandbox/patient/sms", json={"enduserId": enduser["id"], "message": "YES"})
    )
    payloads = hooks.take()
    (_, sent), (_, received) = await mapped(
        engine, hooks.about(payloads, outbound["id"]) + hooks.about(payloads, reply["sms"]["id"])
    )
    assert sent.ignored == "outbound SMS" and sent.events == []
    [signal] = received.signals
    assert signal.signal == "incoming_message" and signal.automationStepId is None
    assert signal.payload == IncomingMessage(channel="SMS", messageId=reply["sms"]["id"])
    assert types(received) == ["Incoming Message", "SMS Reply"]
    incoming, sms_reply = received.events
    assert incoming.details["channel"] == "SMS"
    assert incoming.details["destination"] == outbound["phoneNumber"]
    assert incoming.journeyContext.smsId == reply["sms"]["id"]
    assert sms_reply.details["repliedTemplateIds"] == [WELCOME_SMS]


async def test_inbound_email(engine, helpers, hooks, make_enduser) -> None:
    enduser = make_enduser()
    email = ok(
        helpers.post(
            "/sandbox/patient/email", json={"enduserId": enduser["id"], "message": "Question"}
        )
    )["email"]
    [(_, mapping)] = await mapped(engine, hooks.about(hooks.take(), email["id"]))
    assert types(mapping) == ["Incoming Message"]
    assert mapping.events[0].details["channel"] == "Email"
    assert mapping.events[0].journeyContext.emailId == email["id"]
    assert mapping.signals[0].payload.channel == "Email"


async def test_chats_from_the_enduser_and_from_a_user(engine, api, helpers, hooks, make_enduser):
    enduser = make_enduser()
    inbound = ok(
        helpers.post("/sandbox/patient/chat", json={"enduserId": enduser["id"], "message": "hi"})
    )
    room_id = inbound["chat"]["roomId"]
    outbound = ok(api.post("/v1/chat", json={"roomId": room_id, "message": "Hello from the team"}))
    payloads = hooks.take()
    [(_, from_enduser)] = await mapped(
        engine, hooks.about(payloads, inbound["chat"]["id"], "chats")
    )
    [(_, from_user)] = await mapped(engine, hooks.about(payloads, outbound["id"], "chats"))
    assert types(from_enduser) == ["Incoming Message"]
    event = from_enduser.events[0]
    assert event.enduserId == enduser["id"] and event.details["channel"] == "Chat"
    assert event.journeyContext.chatRoomId == room_id
    assert from_enduser.signals[0].payload.channel == "Chat"
    assert types(from_user) == ["Outbound Chat Sent"] and from_user.signals == []
    assert from_user.events[0].enduserId == enduser["id"]
    # Outbound Chat Sent stamps the enduser, quietly (no endusers webhook), never backwards
    stamped = ok(api.get(f"/v1/enduser/{enduser['id']}"))
    assert stamped["recentOutboundChatAt"] == outbound["createdAt"]
    assert "recentOutboundChatAt" not in (from_enduser.events[0].record or {})
    assert hooks.about(hooks.take(), enduser["id"], "endusers") == []
    api.patch(
        f"/v1/enduser/{enduser['id']}",
        json={"updates": {"recentOutboundChatAt": "2999-01-01T00:00:00.000Z"}},
    )
    hooks.take()
    await mapped(engine, hooks.about(payloads, outbound["id"], "chats"))  # redelivered
    later = ok(api.get(f"/v1/enduser/{enduser['id']}"))["recentOutboundChatAt"]
    assert later == "2999-01-01T00:00:00.000Z"


async def test_calendar_event_transitions(engine, api, hooks, make_enduser) -> None:
    enduser = make_enduser()
    attendees = [{"type": "enduser", "id": enduser["id"]}, {"type": "user", "id": ADMIN_USER_ID}]
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Office visit",
                "startTimeInMS": 1_900_000_000_000,
                "durationInMinutes": 30,
                "attendees": attendees,
            },
        )
    )
    path = f"/v1/calendar-event/{event['id']}"

    async def delivered():
        return await mapped(engine, hooks.about(hooks.take(), event["id"], "calendar_events"))

    [created] = await delivered()
    api.patch(path, json={"updates": {"startTimeInMS": 1_900_000_360_000}})
    [moved] = await delivered()
    api.patch(path, json={"updates": {"completedAt": "2030-03-17T18:00:00.000Z"}})
    [completed] = await delivered()
    api.patch(path, json={"updates": {"durationInMinutes": 45}})
    [longer] = await delivered()
    assert types(created[1]) == ["Appointment Created"]
    assert created[1].events[0].enduserId == enduser["id"]  # the user attendee gets none
    assert created[1].events[0].journeyContext.calendarEventId == event["id"]
    assert types(moved[1]) == ["Appointment Rescheduled"]
    assert moved[1].events[0].details == {"manual": True}
    assert types(completed[1]) == ["Appointment Completed"]
    assert longer[1].ignored == "no appointment event for an enduser"


async def test_deletes_and_trigger_made_records_produce_nothing(engine, api, hooks, make_enduser):
    enduser = make_enduser()
    room = ok(api.post("/v1/chat-room", json={"enduserIds": [enduser["id"]]}))
    key = f"je:{trigger_action_id('trigger:t:e:x')}:reply"
    chat = ok(api.post("/v1/chat", json={"roomId": room["id"], "message": "auto", "tags": [key]}))
    api.delete(f"/v1/enduser/{enduser['id']}")
    payloads = hooks.take()
    [(_, by_trigger)] = await mapped(engine, hooks.about(payloads, chat["id"], "chats"))
    assert by_trigger.ignored == "made by a trigger action (no chaining)"
    assert is_trigger_origin("chats", chat)
    deleted = [p for p in hooks.about(payloads, enduser["id"], "endusers") if p["type"] == "delete"]
    [(_, mapping)] = await mapped(engine, deleted)
    assert mapping.ignored == "deletes produce no events"


def payload(model: str, kind: str, record: dict, before: dict | None = None) -> dict:
    """A webhook body in the documented shape, for models the sandbox does not serve."""
    body = {
        "model": model,
        "type": kind,
        "records": [record],
        "timestamp": "1772600000000",
        "integrity": "not-checked-here",
        "relatedRecords": {},
    }
    if before is not None:
        body["updates"] = [{"recordBeforeUpdate": before, "update": {}}]
    return body


async def test_purchases_orders_and_medications(engine) -> None:
    enduser_id = "64f0000000000000000002aa"
    purchase = {"id": uuid.uuid4().hex[:24], "enduserId": enduser_id, "title": "Course", "cost": {}}
    order = {
        "id": uuid.uuid4().hex[:24],
        "enduserId": enduser_id,
        "title": "Kit",
        "status": "Pending",
        "source": "Shop",
    }
    medication = {"id": uuid.uuid4().hex[:24], "enduserId": enduser_id, "title": "Metformin"}
    steps = [
        ("purchases", "create", purchase, None),
        ("purchases", "update", {**purchase, "refundedAmount": 10}, purchase),
        ("enduser_orders", "create", order, None),
        ("enduser_orders", "update", {**order, "status": "Shipped"}, order),
        ("enduser_orders", "update", {**order, "title": "Kit 2"}, order),
        ("enduser_medications", "create", medication, None),
    ]
    tellescope, results = Records(), []
    for model, kind, record, before in steps:  # each delivery read back as its write left it
        tellescope.put(model, record)
        results += await mapped(engine, [payload(model, kind, record, before)], tellescope)
    assert [types(m) for _, m in results] == [
        ["Purchase Made"],
        ["Refund Issued"],
        ["Order Created", "Order Status Equals"],
        ["Order Status Equals"],
        [],
        ["Medication Added"],
    ]
    assert results[0][1].events[0].journeyContext.purchaseId == purchase["id"]
    assert results[3][1].events[0].journeyContext.orderId == order["id"]
    assert results[5][1].events[0].journeyContext.medicationId == medication["id"]


async def test_update_payload_records_carry_their_previous_state() -> None:
    before = {"id": "a", "tags": []}
    [item] = webhook_records(payload("endusers", "update", {"id": "a", "tags": ["x"]}, before))
    assert item.previous == before and item.kind == "update"
    [created] = webhook_records(payload("endusers", "create", {"id": "a"}))
    assert created.previous is None


async def test_updates_without_their_before_state_derive_no_transitions(engine) -> None:
    """Without `recordBeforeUpdate` nothing says what changed: endusers still give Field Equals
    (it needs no transition), other models nothing (a completed appointment would otherwise
    count as newly completed at every later update)."""
    enduser = {"id": "64f0000000000000000002ab", "tags": ["a"], "fname": "Pat"}
    appointment = {
        "id": "64f0000000000000000002ac",
        "completedAt": "x",
        "attendees": [{"type": "enduser", "id": enduser["id"]}],
    }
    results = await mapped(
        engine,
        [
            {**payload("endusers", "update", enduser), "updates": []},
            {**payload("calendar_events", "update", appointment)},
        ],
        Records(("endusers", enduser), ("calendar_events", appointment)),
    )
    assert types(results[0][1]) == ["Field Equals"]
    assert results[1][1].ignored == "update without recordBeforeUpdate: change unknown"


async def test_records_with_fields_of_the_wrong_type_are_ignored(engine) -> None:
    """Regression (reliability fuzzing): a signed delivery whose records hold values of
    types Tellescope never sends (a list for an id, strings for attendees, `updates` entries that
    are not objects) made the intake raise, and the receiver answer 500 (so Tellescope would
    redeliver it forever). Each such record is ignored with the reason; the others still map.
    (Records are read back now, so such values would have to come from Tellescope itself.)"""
    enduser_id = "64f0000000000000000002ad"
    good = {"id": "64f0000000000000000002ae", "enduserId": enduser_id, "status": "New"}
    orders = payload("enduser_orders", "create", {"id": "64f0000000000000000002af"})
    orders["records"] = [{**good, "id": "64f0000000000000000002b0", "enduserId": [1]}, good]
    appointment = {"id": "64f0000000000000000002b1", "completedAt": "x", "attendees": ["x"]}
    tellescope = Records(
        *(("enduser_orders", r) for r in orders["records"]),
        ("calendar_events", appointment),
        ("endusers", {"id": enduser_id}),
    )
    results = await mapped(
        engine,
        [
            orders,
            payload("calendar_events", "create", appointment),
            {**payload("endusers", "update", {"id": enduser_id}), "updates": [True]},
            {**payload("endusers", "update", {"id": enduser_id}), "updates": "x"},
            {**payload("endusers", "update", {"id": enduser_id}), "updates": [{"update": 1}]},
            payload("endusers", "update", {"id": enduser_id}, before=["not", "a", "record"]),
        ],
        tellescope,
    )
    (_, bad_order), (_, good_order), (_, bad_appointment), *updates = results
    assert bad_order.ignored.startswith("unreadable enduser_orders record (ValidationError")
    assert not bad_order.events and types(good_order) == ["Order Created", "Order Status Equals"]
    assert bad_appointment.ignored.startswith("unreadable calendar_events record (AttributeError")
    # Updates whose before-state cannot be read are updates with nothing known before them.
    assert [types(m) for _, m in updates] == [["Field Equals"]] * 4
    assert [item.previous for item, _ in updates] == [{}] * 4
    assert [item.update for item, _ in updates] == [None, None, None, {}]


async def test_calls_vitals_and_database_entries(engine) -> None:
    """Missed Call / Left Voicemail from phone_calls, Vital Update from enduser_observations,
    Database Entry Added from database_records (models the sandbox does not serve)."""
    enduser_id = "64f0000000000000000002c0"
    call = {
        "id": uuid.uuid4().hex[:24],
        "enduserId": enduser_id,
        "inbound": True,
        "to": "+15550001111",
    }
    missed = {**call, "isVoicemail": True}
    voicemail = {**missed, "recordingURI": "https://example.test/r.mp3"}
    transcribed = {**voicemail, "transcription": "call me"}
    outbound = {**call, "id": uuid.uuid4().hex[:24], "inbound": False, "isVoicemail": True}
    vital = {"id": uuid.uuid4().hex[:24], "enduserId": enduser_id, "category": "vital"}
    quiet = {**vital, "id": uuid.uuid4().hex[:24], "dontTrigger": True}
    entry = {"id": uuid.uuid4().hex[:24], "databaseId": "db1", "creator": enduser_id}
    steps = [
        ("phone_calls", "create", call, None),
        ("phone_calls", "update", missed, call),
        ("phone_calls", "update", voicemail, missed),
        ("phone_calls", "update", transcribed, voicemail),
        ("phone_calls", "create", voicemail, None),
        ("phone_calls", "create", outbound, None),
        ("enduser_observations", "create", vital, None),
        ("enduser_observations", "update", {**vital, "notes": "x"}, vital),
        ("enduser_observations", "create", quiet, None),
        ("database_records", "create", entry, None),
        ("database_records", "update", entry, entry),
    ]
    tellescope, results = Records(), []
    for model, kind, record, before in steps:
        tellescope.put(model, record)
        results += await mapped(engine, [payload(model, kind, record, before)], tellescope)
    assert [types(m) for _, m in results] == [
        [],
        ["Missed Call"],
        ["Left Voicemail"],
        [],
        ["Missed Call", "Left Voicemail"],
        [],
        ["Vital Update"],
        [],
        [],
        ["Database Entry Added"],
        [],
    ]
    assert results[1][1].events[0].journeyContext.phoneCallId == call["id"]
    assert results[1][1].events[0].details["destination"] == "+15550001111"
    assert results[6][1].events[0].journeyContext.observationId == vital["id"]
    added = results[9][1].events[0]
    assert added.enduserId == enduser_id and added.journeyContext.databaseRecordId == entry["id"]


async def test_message_opened_clicked_and_failed(engine) -> None:
    """Updates of outbound emails / SMS: `openedAt` -> Message Opened, `linkClickedAt` ->
    Message Link Clicked, `deliveryFailedAt` or a failed `deliveryStatus` -> Message Delivery
    Failure; inbound messages and other updates produce nothing."""
    enduser_id = "64f0000000000000000002c1"
    email = {
        "id": uuid.uuid4().hex[:24],
        "enduserId": enduser_id,
        "subject": "Hi",
        "textContent": "Hi",
        "templateId": "t1",
    }
    opened = {**email, "openedAt": "2026-03-04T10:00:00.000Z"}
    clicked = {**opened, "linkClickedAt": "2026-03-04T10:01:00.000Z"}
    sms = {"id": uuid.uuid4().hex[:24], "enduserId": enduser_id, "message": "Hi"}
    failed_sms = {**sms, "deliveryStatus": "undelivered"}
    bounced = {**email, "id": uuid.uuid4().hex[:24], "deliveryFailedAt": "2026-03-04T10:00:00Z"}
    inbound = {**sms, "id": uuid.uuid4().hex[:24], "inbound": True}
    steps = [
        ("emails", "update", opened, email),
        ("emails", "update", clicked, opened),
        ("emails", "update", {**clicked, "subject": "x"}, clicked),
        ("sms_messages", "update", failed_sms, sms),
        ("sms_messages", "update", failed_sms, failed_sms),
        ("emails", "update", bounced, {**bounced, "deliveryFailedAt": None}),
        ("sms_messages", "update", {**inbound, "openedAt": "2026-03-04T10:00:00Z"}, inbound),
    ]
    tellescope, results = Records(), []
    for model, kind, record, before in steps:
        tellescope.put(model, record)
        results += await mapped(engine, [payload(model, kind, record, before)], tellescope)
    assert [types(m) for _, m in results] == [
        ["Message Opened"],
        ["Message Link Clicked"],
        [],
        ["Message Delivery Failure"],
        [],
        ["Message Delivery Failure"],
        [],
    ]
    assert results[0][1].events[0].journeyContext.emailId == email["id"]
    assert results[0][1].events[0].record["templateId"] == "t1"
    assert results[3][1].events[0].journeyContext.smsId == sms["id"]
    assert results[2][1].ignored == "message updates produce no events"
