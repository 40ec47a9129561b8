"""Webhooks are notifications, Tellescope is the truth (docs/webhooks.md): the integrity hash covers the
record ids and the timestamp only, so a captured delivery re-sent with other fields keeps a valid
signature. The intake reads every record back from Tellescope by id and acts on that: forged
fields, a renamed model, forged attendees, chat rooms or before-states change nothing.

The deliveries here are real ones captured from the sandbox, altered only where the signature
does not reach (so each would pass the receiver, were it the first copy to arrive)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.seed import ADMIN_USER_ID, INTAKE_FORM
from triggers.intake import MAPPERS, map_webhook, process_webhook
from triggers.readback import ReadBackCache, TellescopeReadBack, Wanted

from .conftest import ok
from .test_intake import Records, payload

pytestmark = pytest.mark.asyncio(loop_scope="session")

VICTIM_FIELDS = {"fname": "Victor", "tags": ["untouched"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def forged(delivery: dict, **changes) -> dict:
    body = copy.deepcopy(delivery)
    body.update(changes)
    return body


def events_of(mapped) -> list[tuple[str, str, str]]:
    return [(e.type, e.enduserId, e.eventId) for _, m in mapped for e in m.events]


def signals_of(mapped) -> list[tuple[str, str]]:
    return [(s.signal, s.enduserId) for _, m in mapped for s in m.signals]


TRIGGERS_JOURNEY = """
journey: {{id: {journey}, title: Forgery target}}
steps:
  - id: mark
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: addEnduserTags, info: {{tags: [enrolled]}}}}
triggers:
  - id: appointment-{journey}
    title: Enroll on appointments
    status: Active
    event: {{type: Appointment Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
  - id: vip-{journey}
    title: Enroll VIPs
    status: Active
    event: {{type: Tag Added, info: {{tag: vip}}}}
    action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
  - id: form-{journey}
    title: Enroll on intake
    status: Active
    event: {{type: Form Submitted, info: {{formId: {form}}}}}
    action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
  - id: contact-{journey}
    title: Enroll new contacts
    status: Active
    event: {{type: Contact Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
"""


def started(reports) -> list[str]:
    return [f.workflowId for r in reports for d in r.dispatched for f in d.firings if f.started]


async def test_forged_fields_are_replaced_by_the_read_back_record(
    engine, api, hooks, make_enduser
) -> None:
    enduser = make_enduser(tags=["a"])
    hooks.take()
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"lname": "Real"}})
    [genuine] = hooks.about(hooks.take(), enduser["id"], "endusers")
    stored = engine.enduser(enduser["id"])
    body = forged(genuine)
    body["records"][0].update({"fname": "Mallory", "tags": ["a", "vip"], "fields": {"x": 1}})
    body["updates"][0]["recordBeforeUpdate"]["tags"] = []
    body["relatedRecords"] = {enduser["id"]: {"tags": ["vip"]}}
    mapped = await map_webhook(body, engine.deps)
    [(item, mapping)] = mapped
    assert item.record == stored and mapping.enduser == stored
    assert all(e.record == stored for e in mapping.events)
    # the forged before-state can only choose transitions the real record shows: tag "a" is
    # there (Tag Added), "vip" is not (and no trigger on "vip" could match)
    assert [e.type for e in mapping.events] == ["Field Equals", "Fields Changed", "Tag Added"]
    assert "vip" not in mapping.events[0].record["tags"]


async def test_a_renamed_model_reads_back_nothing(engine, api, hooks, make_enduser) -> None:
    """Ids are ObjectIds, unique across collections: the enduser's id is in no other model."""
    victim = make_enduser(**VICTIM_FIELDS)
    [genuine] = hooks.about(hooks.take(), victim["id"], "endusers")
    attendee = [{"type": "enduser", "id": victim["id"]}]
    for model in MAPPERS:
        if model == "endusers":
            continue
        body = forged(genuine, model=model)
        body["records"][0].update(
            {"attendees": attendee, "enduserId": victim["id"], "inbound": True}
        )
        body["records"][0].update({"submittedAt": "2030-01-01T00:00:00.000Z", "closedAt": "x"})
        for kind in ("create", "update"):
            mapped = await map_webhook({**body, "type": kind}, engine.deps)
            [(_, mapping)] = mapped
            assert mapping.events == [] and mapping.signals == [], (model, kind)
            assert mapping.ignored and (
                mapping.ignored.startswith(f"not in Tellescope's {model}")
                or "cannot be read back" in mapping.ignored
            ), (model, mapping.ignored)
    # and the other way round: an appointment's delivery renamed to endusers
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": 1_900_000_000_000,
                "durationInMinutes": 30,
                "attendees": attendee,
            },
        )
    )
    [appointment] = hooks.about(hooks.take(), event["id"], "calendar_events")
    [(_, mapping)] = await map_webhook(forged(appointment, model="endusers"), engine.deps)
    assert mapping.ignored.startswith("not in Tellescope's endusers") and not mapping.events


async def test_forged_attendees_enduser_ids_and_chat_rooms_reach_nobody(
    engine, api, helpers, hooks, make_enduser
) -> None:
    patient, victim = make_enduser(), make_enduser(**VICTIM_FIELDS)
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": 1_900_000_000_000,
                "durationInMinutes": 30,
                "attendees": [{"type": "enduser", "id": patient["id"]}],
            },
        )
    )
    chat = ok(
        helpers.post("/sandbox/patient/chat", json={"enduserId": patient["id"], "message": "hi"})
    )["chat"]
    reply = ok(api.post("/v1/chat", json={"roomId": chat["roomId"], "message": "Hello"}))
    delivered = hooks.take()
    [appointment] = hooks.about(delivered, event["id"], "calendar_events")
    [inbound] = hooks.about(delivered, chat["id"], "chats")
    [outbound] = hooks.about(delivered, reply["id"], "chats")

    genuine = await map_webhook(appointment, engine.deps)
    body = forged(appointment)
    body["records"][0]["attendees"] = [{"type": "enduser", "id": victim["id"]}]
    assert events_of(await map_webhook(body, engine.deps)) == events_of(genuine)
    assert {e[1] for e in events_of(genuine)} == {patient["id"]}

    body = forged(inbound)
    body["records"][0].update({"senderId": victim["id"], "enduserId": victim["id"]})
    assert signals_of(await map_webhook(body, engine.deps)) == [("incoming_message", patient["id"])]
    body = forged(outbound)
    body["relatedRecords"] = {chat["roomId"]: {"id": chat["roomId"], "enduserIds": [victim["id"]]}}
    body["records"][0]["roomId"] = "64f0000000000000000009aa"
    assert {e[1] for e in events_of(await map_webhook(body, engine.deps))} == {patient["id"]}


async def test_forged_before_states_need_the_read_back_record(
    engine, api, hooks, make_enduser
) -> None:
    """`recordBeforeUpdate` cannot be read back: it picks which transition to look for, and the
    read-back record must show it. A response not submitted, a ticket not closed, a tag not
    present: nothing, whatever the forged body says."""
    enduser = make_enduser(tags=["a"])
    response = ok(
        api.post(
            "/v1/prepare-form-response", json={"formId": INTAKE_FORM, "enduserId": enduser["id"]}
        )
    )["response"]
    ticket = ok(api.post("/v1/ticket", json={"title": "Call", "enduserId": enduser["id"]}))
    delivered = hooks.take()
    [response_create] = hooks.about(delivered, response["id"], "form_responses")
    [ticket_create] = hooks.about(delivered, ticket["id"], "tickets")
    [enduser_create] = hooks.about(delivered, enduser["id"], "endusers")
    for genuine, record_changes in [
        (response_create, {"submittedAt": "2030-01-01T00:00:00.000Z", "automationStepId": "s"}),
        (ticket_create, {"closedAt": "2030-01-01T00:00:00.000Z", "automationStepId": "s"}),
        (enduser_create, {"tags": ["a", "vip"]}),
    ]:
        body = forged(genuine, type="update")
        body["records"][0].update(record_changes)
        body["updates"] = [{"recordBeforeUpdate": {"id": body["records"][0]["id"]}, "update": {}}]
        mapped = await map_webhook(body, engine.deps)
        assert signals_of(mapped) == []
        assert "Form Submitted" not in {e[0] for e in events_of(mapped)}
        # Tag Added may only report a tag the enduser really has ("a"), never the forged one
        assert all("vip" not in (e.record.get("tags") or []) for _, m in mapped for e in m.events)


async def test_a_forged_before_state_refires_nothing(engine, api, hooks, make_enduser) -> None:
    """A transition the real record supports, reported again by a forged delivery, has the
    genuine delivery's event id (stamped by the read-back record), so it fires nothing twice."""
    enduser = make_enduser()
    hooks.take()
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"tags": ["vip"]}})
    [genuine] = hooks.about(hooks.take(), enduser["id"], "endusers")
    first = events_of(await map_webhook(genuine, engine.deps))
    body = forged(genuine)
    body["updates"][0]["recordBeforeUpdate"] = {"id": enduser["id"], "fname": "x", "tags": []}
    body["updates"][0]["update"] = {"fname": "y", "tags": ["vip"]}
    body["records"][0]["updatedAt"] = "2031-01-01T00:00:00.000Z"  # forces a fresh read
    again = events_of(await map_webhook(body, engine.deps))
    assert [e for e in again if e[0] == "Tag Added"] == [e for e in first if e[0] == "Tag Added"]
    assert {e[2] for e in again} <= {e[2] for e in first}
    # an update forged into a create: Contact Created is stamped by the real createdAt
    created = events_of(await map_webhook(forged(genuine, type="create"), engine.deps))
    [contact] = [e for e in created if e[0] == "Contact Created"]
    assert contact[2].startswith(f"endusers:{enduser['id']}:contact-created:")
    stamp = int(datetime.fromisoformat(enduser["createdAt"]).timestamp() * 1000)
    assert contact[2].endswith(f":{stamp}")


async def test_a_create_of_an_old_record_is_not_a_create(engine) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    enduser = {
        "id": "64f0000000000000000003aa",
        "createdAt": old.isoformat().replace("+00:00", "Z"),
        "updatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    sms = {**enduser, "id": "64f0000000000000000003ab", "enduserId": enduser["id"]}
    sms["inbound"] = True
    tellescope = Records(("endusers", enduser), ("sms_messages", sms))
    now = str(int(datetime.now(UTC).timestamp() * 1000))
    for model, record in (("endusers", enduser), ("sms_messages", sms)):
        body = {**payload(model, "create", {"id": record["id"]}), "timestamp": now}
        [(_, mapping)] = await map_webhook(body, engine.deps, tellescope)
        assert mapping.ignored == f"{model} created long before this delivery: not a create"
        assert not mapping.events and not mapping.signals


async def test_forged_deliveries_start_nothing_and_change_nothing(
    engine, api, helpers, hooks, make_enduser
) -> None:
    """process_webhook end to end (the intake's whole effect: signals, firings, Tellescope
    writes): forged copies of real deliveries aimed at a victim start no workflow and write
    nothing, where the genuine deliveries do fire."""
    journey = unique("target")
    engine.deploy(TRIGGERS_JOURNEY.format(journey=journey, form=INTAKE_FORM))
    victim = make_enduser(**VICTIM_FIELDS)
    patient = make_enduser()
    response = ok(
        api.post(
            "/v1/prepare-form-response", json={"formId": INTAKE_FORM, "enduserId": patient["id"]}
        )
    )["response"]
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": 1_900_000_000_000,
                "durationInMinutes": 30,
                "attendees": [
                    {"type": "enduser", "id": patient["id"]},
                    {"type": "user", "id": ADMIN_USER_ID},
                ],
            },
        )
    )
    delivered = hooks.take()
    [appointment] = hooks.about(delivered, event["id"], "calendar_events")
    [response_create] = hooks.about(delivered, response["id"], "form_responses")
    [victim_create] = hooks.about(delivered, victim["id"], "endusers")

    attack = []
    body = forged(appointment)
    body["records"][0]["attendees"] = [{"type": "enduser", "id": victim["id"]}]
    attack.append(forged(victim_create, model="calendar_events"))
    attack[-1]["records"][0]["attendees"] = [{"type": "enduser", "id": victim["id"]}]
    attack.append(forged(victim_create, model="form_responses", type="update"))
    attack[-1]["records"][0].update({"enduserId": victim["id"], "formId": INTAKE_FORM})
    attack[-1]["records"][0]["submittedAt"] = "2030-01-01T00:00:00.000Z"
    attack.append(forged(response_create, type="update"))
    attack[-1]["records"][0].update({"enduserId": victim["id"], "submittedAt": "2030-01-01"})
    attack[-1]["updates"] = [{"recordBeforeUpdate": {}, "update": {}}]
    attack.append(forged(victim_create, type="update"))
    attack[-1]["records"][0]["tags"] = ["vip"]
    attack[-1]["updates"] = [{"recordBeforeUpdate": {"tags": []}, "update": {"tags": ["vip"]}}]
    attack.append(forged(victim_create, type="delete"))
    victim_before = engine.enduser(victim["id"])

    before_ids = list(engine.started.ids)
    reports = [await process_webhook(body, engine.deps) for body in attack]
    assert started(reports) == [] and engine.started.ids == before_ids
    assert all(not r.signals for r in reports)
    assert engine.enduser(victim["id"]) == victim_before
    assert not engine.ledger.list(enduser_id=victim["id"])

    # the real appointment fires for its real attendee, the forged attendee list changes nothing
    forged_report = await process_webhook(body, engine.deps)
    assert [w.split(":")[2] for w in started([forged_report])] == [patient["id"]]


async def test_the_read_back_cache_reuses_a_record_briefly_and_never_an_older_version(
    engine, make_enduser
) -> None:
    enduser = make_enduser()
    clock = [0.0]
    cache = ReadBackCache(ttl=5.0, clock=lambda: clock[0])
    calls: list[list[str]] = []
    tellescope = engine.deps.tellescope

    original = tellescope.bulk_read

    async def counting(model, ids, **kwargs):
        calls.append(list(ids))
        return await original(model, ids, **kwargs)

    source = TellescopeReadBack(tellescope, cache)
    tellescope.bulk_read = counting  # type: ignore[method-assign]
    try:
        same = Wanted(enduser["id"], enduser["updatedAt"])
        assert (await source.read("endusers", [same]))[enduser["id"]] == enduser
        await source.read("endusers", [same])
        assert len(calls) == 1  # reused within the TTL
        newer = Wanted(enduser["id"], "2031-01-01T00:00:00.000Z")
        await source.read("endusers", [newer])
        assert len(calls) == 2  # a delivery about a newer version reads again
        await source.read("endusers", [Wanted(enduser["id"], None)])
        assert len(calls) == 3  # no claim, no reuse
        clock[0] = 6.0
        await source.read("endusers", [same])
        assert len(calls) == 4  # expired
        missing = Wanted("64f0000000000000000003ff", None)
        assert await source.read("endusers", [missing, same]) == {enduser["id"]: enduser}
        assert calls[-1] == ["64f0000000000000000003ff"]
    finally:
        del tellescope.bulk_read
