"""Enduser mutations (status, every field setter, tags, access tags, contact type, care team),
the journey-state writes and reads the workflow uses, and anchor dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError

from activities.field_setters import date_difference
from activities.run import answered_enduser
from models.runtime import (
    AnchorDateRequest,
    ConditionInputsRequest,
    EnduserRef,
    JourneyStateUpdate,
)
from tellescope.idempotency import INCREMENTS_FIELD
from tests.activities.conftest import get, object_id, ok

NOW = "2024-03-10T14:30:00.000Z"  # 10:30 in New York (EDT started that morning)


def fields_action(*setters: dict) -> dict:
    return {"type": "setEnduserFields", "info": {"fields": list(setters)}}


async def test_set_enduser_status(env, acts, api, request_for, enduser, journey) -> None:
    action = {"type": "setEnduserStatus", "info": {"status": "Working"}}
    outcome = await env.run(acts.update_enduser, request_for(action, enduser))
    assert outcome.journeyState == "Working"
    assert get(api, "enduser", enduser["id"])["journeys"] == {journey["id"]: "Working"}


async def test_every_setter_type(env, acts, api, request_for, make_enduser) -> None:
    enduser = make_enduser(
        fname="Gil",
        fields={"Visits": 2, "Started": "2024-01-15T10:00:00Z", "Score": "4"},
    )
    action = fields_action(
        {"name": "Greeting", "type": "Custom Value", "value": "Hello {{enduser.fname}}"},
        {"name": "timezone", "type": "Custom Value", "value": "America/Chicago"},
        {"name": "Seen", "type": "Current Timestamp"},
        {"name": "Reminder", "type": "Current Timestamp", "increment": 3_600_000},
        {"name": "Today", "type": "Current Date"},
        {"name": "Tomorrow", "type": "Current Date", "increment": 86_400_000},
        {"name": "Visits", "type": "Increment Number"},
        {"name": "Score", "type": "Increment Number", "increment": 2.5},
        {"name": "Fresh", "type": "Increment Number", "increment": 5},
        {
            "name": "DaysIn",
            "type": "Date Difference",
            "dateDifferenceOptions": {"date1": "Started", "date2": "01-25-2024"},
        },
        {
            "name": "Bad",
            "type": "Date Difference",
            "dateDifferenceOptions": {"date1": "not a date", "date2": "$now"},
        },
    )
    await env.run(acts.update_enduser, request_for(action, enduser, now=NOW))

    stored = get(api, "enduser", enduser["id"])
    fields = stored["fields"]
    assert fields["Greeting"] == "Hello Gil"
    assert stored["timezone"] == "America/Chicago" and "timezone" not in fields
    assert fields["Seen"] == "2024-03-10T14:30:00.000Z"
    assert fields["Reminder"] == "2024-03-10T15:30:00.000Z"
    assert fields["Today"] == "03-10-2024"
    assert fields["Tomorrow"] == "03-11-2024"
    assert fields["Visits"] == 3
    assert fields["Score"] == 6.5
    assert fields["Fresh"] == 5
    assert fields["DaysIn"] == 10
    assert fields["Bad"] == ""


async def test_custom_value_from_the_journey_context(env, acts, api, request_for, enduser) -> None:
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={"title": "Visit", "startTimeInMS": 1_735_000_000_000, "durationInMinutes": 30},
        )
    )
    action = fields_action(
        {"name": "Appointment", "type": "Custom Value", "value": "{{calendar_event.start}}"}
    )
    await env.run(
        acts.update_enduser,
        request_for(action, enduser, journey_context={"calendarEventId": event["id"]}),
    )
    stored = get(api, "enduser", enduser["id"])["fields"]["Appointment"]
    assert datetime.fromisoformat(stored.replace("Z", "+00:00")) == datetime.fromtimestamp(
        1_735_000_000, UTC
    )


@pytest.mark.parametrize(
    ("date1", "date2", "fields", "expected"),
    [
        ("2024-01-15T10:00:00Z", "01-25-2024", {}, 10),
        ("2024-01-01", "01-31-2024", {}, 30),
        ("01-31-2024", "2024-01-01", {}, 30),  # absolute
        ("2024-01-15T23:59:00Z", "2024-01-16T00:01:00Z", {}, 1),  # start of UTC day
        ("2024-01-15T22:00:00-05:00", "2024-01-16", {}, 0),  # 03:00Z on the 16th
        ("Start", "$now", {"Start": "03-01-2024"}, 9),
        ("Start", "$now", {"Start": ""}, ""),  # empty field: "Start" is read as a date
        ("2024-01-15 10:00", "2024-01-16", {}, ""),  # not ISO (space), not MM-DD-YYYY
        ("13-01-2024", "$now", {}, ""),
    ],
)
def test_date_difference(date1, date2, fields, expected) -> None:
    now = datetime(2024, 3, 10, 14, 30, tzinfo=UTC)
    assert date_difference(date1, date2, fields, now) == expected


async def test_increment_number_never_increments_twice(
    env, acts, api, request_for, make_enduser
) -> None:
    enduser = make_enduser(fields={"Count": 1})
    request = request_for(fields_action({"name": "Count", "type": "Increment Number"}), enduser)
    await env.run(acts.update_enduser, request)
    await env.run(acts.update_enduser, request)
    stored = get(api, "enduser", enduser["id"])["fields"]
    assert stored["Count"] == 2
    assert len(stored[INCREMENTS_FIELD]) == 1
    await env.run(
        acts.update_enduser,
        request_for(fields_action({"name": "Count", "type": "Increment Number"}), enduser),
    )
    assert get(api, "enduser", enduser["id"])["fields"]["Count"] == 3, "a new action increments"


async def test_increment_accepted_then_failed_applies_once(
    env, acts, api, request_for, make_enduser, faults
) -> None:
    enduser = make_enduser(fields={"Count": 10})
    request = request_for(fields_action({"name": "Count", "type": "Increment Number"}), enduser)
    faults(
        kinds=["accept_then_500"],
        paths=[f"/v1/enduser/{enduser['id']}"],
        methods=["PATCH"],
        count=1,
    )
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.update_enduser, request)
    assert not raised.value.non_retryable
    assert get(api, "enduser", enduser["id"])["fields"]["Count"] == 11
    await env.run(acts.update_enduser, request)
    assert get(api, "enduser", enduser["id"])["fields"]["Count"] == 11


async def test_tags(env, acts, api, request_for, make_enduser) -> None:
    enduser = make_enduser(fname="Vi", tags=["existing"])
    add = {"type": "addEnduserTags", "info": {"tags": ["vip", "name-{{enduser.fname}}"]}}
    await env.run(acts.update_enduser, request_for(add, enduser))
    await env.run(acts.update_enduser, request_for(add, enduser))
    assert get(api, "enduser", enduser["id"])["tags"] == ["existing", "vip", "name-Vi"]

    remove = {"type": "removeEnduserTags", "info": {"tags": ["existing"]}}
    await env.run(acts.update_enduser, request_for(remove, enduser))
    assert get(api, "enduser", enduser["id"])["tags"] == ["vip", "name-Vi"]

    replace = {"type": "addEnduserTags", "info": {"tags": ["only"], "replaceExisting": True}}
    await env.run(acts.update_enduser, request_for(replace, enduser))
    assert get(api, "enduser", enduser["id"])["tags"] == ["only"]


async def test_access_tags(env, acts, api, request_for, make_enduser) -> None:
    enduser = make_enduser(accessTags=["north"])
    add = {"type": "addAccessTags", "info": {"tags": ["south"]}}
    await env.run(acts.update_enduser, request_for(add, enduser))
    assert get(api, "enduser", enduser["id"])["accessTags"] == ["north", "south"]
    remove = {"type": "removeAccessTags", "info": {"tags": ["north"]}}
    await env.run(acts.update_enduser, request_for(remove, enduser))
    assert get(api, "enduser", enduser["id"])["accessTags"] == ["south"]
    replace = {"type": "addAccessTags", "info": {"tags": ["east"], "replaceExisting": True}}
    await env.run(acts.update_enduser, request_for(replace, enduser))
    assert get(api, "enduser", enduser["id"])["accessTags"] == ["east"]


async def test_change_contact_type(env, acts, api, request_for, enduser) -> None:
    custom_type = object_id()
    action = {"type": "changeContactType", "info": {"type": custom_type}}
    await env.run(acts.update_enduser, request_for(action, enduser))
    assert get(api, "enduser", enduser["id"])["customTypeId"] == custom_type
    back = {"type": "changeContactType", "info": {"type": ""}}
    await env.run(acts.update_enduser, request_for(back, enduser))
    assert get(api, "enduser", enduser["id"])["customTypeId"] == ""


async def test_assign_care_team(env, acts, api, request_for, make_enduser, make_user) -> None:
    tag = f"dietitian-{object_id()[-6:]}"
    first, second = make_user(tags=[tag]), make_user(tags=[tag, "senior"])
    make_user(tags=["other"])
    enduser = make_enduser()
    rule = {"qualifier": "One Of", "values": [tag]}
    action = {"type": "assignCareTeam", "info": {"tags": rule}}
    await env.run(acts.update_enduser, request_for(action, enduser))
    await env.run(acts.update_enduser, request_for(action, enduser))
    assert get(api, "enduser", enduser["id"])["assignedTo"] == [first["id"], second["id"]]

    one = make_enduser()
    limited = {
        "type": "assignCareTeam",
        "info": {"tags": rule, "limitToOneUser": True, "setAsPrimary": True},
    }
    await env.run(acts.update_enduser, request_for(limited, one))
    await env.run(acts.update_enduser, request_for(limited, one))
    stored = get(api, "enduser", one["id"])
    assert stored["assignedTo"] == [first["id"]] and stored["primaryAssignee"] == first["id"]

    all_of = {
        "type": "assignCareTeam",
        "info": {"tags": {"qualifier": "All Of", "values": [tag, "senior"]}},
    }
    other = make_enduser()
    await env.run(acts.update_enduser, request_for(all_of, other))
    assert get(api, "enduser", other["id"])["assignedTo"] == [second["id"]]


async def test_assign_care_team_restricted_by_state(
    env, acts, api, request_for, make_enduser, make_user
) -> None:
    tag = f"md-{object_id()[-6:]}"
    make_user(tags=[tag], credentialedStates=[{"state": "NY"}])
    licensed = make_user(tags=[tag], credentialedStates=[{"state": "FL"}])
    make_user(tags=[tag], credentialedStates=[{"state": "FL", "expiresAt": "2020-01-01"}])
    enduser = make_enduser(state="FL")
    action = {
        "type": "assignCareTeam",
        "info": {"tags": {"qualifier": "One Of", "values": [tag]}, "restrictByState": True},
    }
    await env.run(acts.update_enduser, request_for(action, enduser))
    assert get(api, "enduser", enduser["id"])["assignedTo"] == [licensed["id"]]


async def test_assign_care_team_without_a_match_changes_nothing(
    env, acts, api, request_for, enduser
) -> None:
    action = {
        "type": "assignCareTeam",
        "info": {"tags": {"qualifier": "One Of", "values": ["x-none"]}},
    }
    await env.run(acts.update_enduser, request_for(action, enduser))
    assert not get(api, "enduser", enduser["id"]).get("assignedTo")


async def test_remove_care_team(env, acts, api, request_for, make_enduser, make_user) -> None:
    tag = f"rotating-{object_id()[-6:]}"
    leaving, staying = make_user(tags=[tag]), make_user(tags=["core"])
    enduser = make_enduser(assignedTo=[leaving["id"], staying["id"]])
    action = {"type": "removeCareTeam", "info": {"tags": {"qualifier": "One Of", "values": [tag]}}}
    await env.run(acts.update_enduser, request_for(action, enduser))
    await env.run(acts.update_enduser, request_for(action, enduser))
    assert get(api, "enduser", enduser["id"])["assignedTo"] == [staying["id"]]


async def test_switch_to_related_contact_names_the_related_contact(
    env, acts, request_for, make_enduser
) -> None:
    """docs/semantics.md §8.4: the step reports the related contact of that relationship type
    (`type`, else `otherTypes`); the workflow hands it to the rest of the branch."""
    parent = make_enduser(fname="Dana")
    child = make_enduser(fname="Kim", relationships=[{"type": "Parent", "id": parent["id"]}])
    action = {"type": "switchToRelatedContact", "info": {"type": "Parent"}}
    outcome = await env.run(acts.update_enduser, request_for(action, child))
    assert outcome.switchedToEnduserId == parent["id"]
    other = {
        "type": "switchToRelatedContact",
        "info": {"type": "Guardian", "otherTypes": ["Parent"]},
    }
    outcome = await env.run(acts.update_enduser, request_for(other, child))
    assert outcome.switchedToEnduserId == parent["id"]


async def test_switch_without_a_related_contact_fails_clearly(
    env, acts, request_for, enduser
) -> None:
    action = {"type": "switchToRelatedContact", "info": {"type": "Parent"}}
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.update_enduser, request_for(action, enduser))
    assert raised.value.non_retryable
    assert "no related contact of type Parent" in raised.value.message


# --- workflow support activities ----------------------------------------------------------------


async def test_set_and_unset_journey_state(env, acts, api, enduser, journey) -> None:
    other = ok(api.post("/v1/journey", json={"title": f"Other {object_id()}"}))
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"journeys": {other["id"]: "Kept"}}})
    update = JourneyStateUpdate(enduserId=enduser["id"], journeyId=journey["id"], state="")
    await env.run(acts.set_journey_state, update)
    assert get(api, "enduser", enduser["id"])["journeys"] == {
        other["id"]: "Kept",
        journey["id"]: "",
    }
    removal = JourneyStateUpdate(enduserId=enduser["id"], journeyId=journey["id"], state=None)
    await env.run(acts.set_journey_state, removal)
    await env.run(acts.set_journey_state, removal)
    assert get(api, "enduser", enduser["id"])["journeys"] == {other["id"]: "Kept"}


async def test_get_enduser_returns_tellescopes_json(env, acts, api, enduser) -> None:
    assert await env.run(acts.get_enduser, EnduserRef(enduserId=enduser["id"])) == get(
        api, "enduser", enduser["id"]
    )


async def test_condition_inputs_read_upcoming_appointments_once(env, acts, api, enduser) -> None:
    """docs/semantics.md §10.1 rule 2: the enduser's appointments not cancelled and starting at
    or after `now`, as `{id, startTimeInMS, templateId}`."""
    now_ms = 1_720_000_000_000
    attendees = [{"type": "enduser", "id": enduser["id"]}]

    def appointment(start: int, **extra) -> dict:
        body = {"title": "Visit", "startTimeInMS": start, "durationInMinutes": 30}
        return ok(api.post("/v1/calendar-event", json={**body, "attendees": attendees, **extra}))

    upcoming = appointment(now_ms + 3_600_000, templateId="64f000000000000000000e01")
    appointment(now_ms - 3_600_000)  # past
    appointment(now_ms + 7_200_000, cancelledAt="2024-07-01T00:00:00.000Z")
    other = {"title": "Other", "startTimeInMS": now_ms + 1, "durationInMinutes": 30}
    ok(api.post("/v1/calendar-event", json=other))  # someone else's
    now = datetime.fromtimestamp(now_ms / 1000, UTC).isoformat()
    inputs = await env.run(
        acts.get_condition_inputs,
        ConditionInputsRequest(enduserId=enduser["id"], now=now, upcomingEvents=True),
    )
    assert inputs.enduser["id"] == enduser["id"]
    assert inputs.upcomingEvents == [
        {
            "id": upcoming["id"],
            "startTimeInMS": now_ms + 3_600_000,
            "templateId": "64f000000000000000000e01",
        }
    ]
    without = await env.run(
        acts.get_condition_inputs, ConditionInputsRequest(enduserId=enduser["id"], now=now)
    )
    assert without.upcomingEvents == []


async def test_anchor_dates(env, acts, api, make_enduser) -> None:
    enduser = make_enduser(fields={"Surgery": "04-02-2024"}, dateOfBirth="01-31-1990")
    ask = lambda **kw: env.run(  # noqa: E731
        acts.resolve_anchor_date, AnchorDateRequest(enduserId=enduser["id"], **kw)
    )
    assert await ask(kind="field", field="Surgery") == "2024-04-02T00:00:00.000Z"
    assert await ask(kind="field", field="dateOfBirth") == "1990-01-31T00:00:00.000Z"
    assert await ask(kind="field", field="Missing") is None

    form_id, field_id = "64f000000000000000000c04", "64f000000000000000000d09"
    assert await ask(kind="form", formId=form_id, formFieldId=field_id) is None
    for when, answer in (
        ("2024-05-01T00:00:00Z", "2024-06-01"),
        ("2024-05-02T00:00:00Z", "2024-07-01"),
    ):
        ok(
            api.post(
                "/v1/form-response",
                json={
                    "formId": form_id,
                    "enduserId": enduser["id"],
                    "submittedAt": when,
                    "responses": [
                        {
                            "fieldId": field_id,
                            "fieldTitle": "When",
                            "answer": {"type": "dateString", "value": answer},
                        }
                    ],
                },
            )
        )
    assert (
        await ask(kind="form", formId=form_id, formFieldId=field_id) == "2024-07-01T00:00:00.000Z"
    )

    event = ok(
        api.post(
            "/v1/calendar-event",
            json={"title": "Visit", "startTimeInMS": 1_720_000_000_000, "durationInMinutes": 30},
        )
    )
    assert await ask(kind="event", journeyContext={"calendarEventId": event["id"]}) == (
        "2024-07-03T09:46:40.000Z"
    )
    assert await ask(kind="event") is None


async def test_an_action_after_its_join_reads_the_enduser_the_join_answered(
    env, acts, api, client, request_for, make_enduser, journey
) -> None:
    """docs/decisions.md D41: the folded shape's join is written just before the first step, in
    the same attempt; Tellescope's answer to it is the enduser, which the step then reads instead
    of asking again. Without an answer the step reads the enduser itself."""
    add = {"type": "addEnduserTags", "info": {"tags": ["vip"]}}
    reads: list[str] = []

    async def count_reads(request) -> None:
        if request.method == "GET" and "/enduser/" in request.url.path:
            reads.append(request.url.path)

    client.http.event_hooks["request"].append(count_reads)
    try:
        plain = make_enduser(tags=["existing"])
        await env.run(acts.update_enduser, request_for(add, plain))
        assert len(reads) == 1  # the step's own read

        joined = make_enduser(tags=["existing"])
        update = JourneyStateUpdate(enduserId=joined["id"], journeyId=journey["id"], state="")
        answered = await env.run(acts.write_membership, update)
        assert answered["id"] == joined["id"] and answered["journeys"] == {journey["id"]: ""}
        token = answered_enduser.set(answered)
        try:
            await env.run(acts.update_enduser, request_for(add, joined))
        finally:
            answered_enduser.reset(token)
        assert len(reads) == 1  # no second read
    finally:
        client.http.event_hooks["request"].remove(count_reads)
    stored = get(api, "enduser", joined["id"])
    assert stored["tags"] == ["existing", "vip"]
    assert stored["journeys"] == {journey["id"]: ""}
