"""createTicket (every assignment strategy, due dates, care team), completeTickets, care plans."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from temporalio.exceptions import ApplicationError

from activities.due_dates import ticket_due_date
from activities.people import seeded_choice
from tellescope.idempotency import action_key
from tests.activities.conftest import find, get, object_id, ok

NEW_YORK = ZoneInfo("America/New_York")


def ticket(strategy: dict, default: str, **info) -> dict:
    return {
        "type": "createTicket",
        "info": {
            "title": "Call {{enduser.fname}}",
            "assignmentStrategy": strategy,
            "defaultAssignee": default,
            **info,
        },
    }


async def create(env, acts, api, request) -> dict:
    outcome = await env.run(acts.manage_care, request)
    record = get(api, "ticket", outcome.ticketId)
    assert outcome.recordIds == [record["id"]]
    return record


async def test_default_strategy_and_ticket_fields(
    env, acts, api, request_for, make_enduser, make_user
) -> None:
    owner = make_user()
    enduser = make_enduser(fname="Flo")
    action = ticket(
        {"type": "default"},
        owner["id"],
        closeReasons=["Reached", "No answer", "Reached"],
        description="Check in",
        priority=3,
    )
    request = request_for(action, enduser)
    record = await create(env, acts, api, request)
    assert record["title"] == "Call Flo"
    assert record["owner"] == owner["id"]
    assert record["closeReasons"] == ["Reached", "No answer"]
    assert record["automationStepId"] == request.automationStepId
    assert record["journeyId"] == request.journeyId
    assert record["enduserId"] == enduser["id"]
    assert record["message"] == "Check in" and record["priority"] == 3
    assert action_key(request.automatedActionId, "ticket") in record["tags"]
    assert get(api, "enduser", enduser["id"])["assignedTo"] == [owner["id"]], "owner joins team"


async def test_skip_care_team_assignment(env, acts, api, request_for, enduser, make_user) -> None:
    owner = make_user()
    action = ticket({"type": "default"}, owner["id"], skipCareTeamAssignment=True)
    await create(env, acts, api, request_for(action, enduser))
    assert not get(api, "enduser", enduser["id"]).get("assignedTo")


async def test_care_team_primary(env, acts, api, request_for, make_enduser, make_user) -> None:
    a, b, default = make_user(), make_user(), make_user()
    plain = make_enduser(assignedTo=[a["id"], b["id"]])
    with_primary = make_enduser(assignedTo=[a["id"], b["id"]], primaryAssignee=b["id"])
    strategy = {"type": "care-team-primary"}
    assert (await create(env, acts, api, request_for(ticket(strategy, default["id"]), plain)))[
        "owner"
    ] == a["id"]
    owner = (
        await create(env, acts, api, request_for(ticket(strategy, default["id"]), with_primary))
    )["owner"]
    assert owner == b["id"]


async def test_care_team_random_is_a_member_and_stable_per_action(
    env, acts, api, request_for, make_enduser, make_user
) -> None:
    team = [make_user()["id"] for _ in range(4)]
    default = make_user()["id"]
    enduser = make_enduser(assignedTo=team)
    owners = set()
    for n in range(6):
        action_id = f"aa-random-{n}-{enduser['id']}"
        request = request_for(
            ticket({"type": "care-team-random"}, default), enduser, automated_action_id=action_id
        )
        owner = (await create(env, acts, api, request))["owner"]
        assert owner in team
        assert owner == seeded_choice(team, action_id), "a retry would pick the same owner"
        owners.add(owner)
    assert len(owners) > 1, "random, not always the first member"


async def test_care_team_random_without_a_team_uses_the_default(
    env, acts, api, request_for, enduser, make_user
) -> None:
    default = make_user()["id"]
    request = request_for(ticket({"type": "care-team-random"}, default), enduser)
    assert (await create(env, acts, api, request))["owner"] == default


@pytest.mark.parametrize(
    ("qualifier", "values", "expected"),
    [
        ("One Of", ["{{enduser.Specialty}}"], "cardio"),
        ("All Of", ["{{enduser.Specialty}}", "senior"], "senior-cardio"),
        ("One Of", ["nobody-has-this"], "default"),
    ],
)
async def test_by_tags(
    env, acts, api, request_for, make_enduser, make_user, qualifier, values, expected
) -> None:
    specialty = f"cardio-{object_id()[-6:]}"
    users = {
        "cardio": make_user(tags=[specialty]),
        "senior-cardio": make_user(tags=[specialty, "senior"]),
        "default": make_user(),
    }
    enduser = make_enduser(fields={"Specialty": specialty})
    strategy = {"type": "by-tags", "info": {"qualifier": qualifier, "values": values}}
    owner = (
        await create(env, acts, api, request_for(ticket(strategy, users["default"]["id"]), enduser))
    )["owner"]
    if expected == "cardio":
        assert owner in (users["cardio"]["id"], users["senior-cardio"]["id"])
    else:
        assert owner == users[expected]["id"]


async def test_by_tags_restricted_by_state(
    env, acts, api, request_for, make_enduser, make_user
) -> None:
    tag = f"np-{object_id()[-6:]}"
    make_user(tags=[tag], credentialedStates=[{"state": "TX"}])
    licensed = make_user(tags=[tag], credentialedStates=[{"state": "CA"}])
    default = make_user()
    enduser = make_enduser(state="CA")
    strategy = {"type": "by-tags", "info": {"qualifier": "One Of", "values": [tag]}}
    action = ticket(strategy, default["id"], restrictByState=True)
    record = await create(env, acts, api, request_for(action, enduser))
    assert record["owner"] == licensed["id"]
    assert record["restrictByState"] == "CA"


async def test_previous_owner(env, acts, api, request_for, enduser, make_user) -> None:
    earlier, default = make_user(), make_user()
    first = request_for(ticket({"type": "default"}, earlier["id"]), enduser)
    await create(env, acts, api, first)
    request = request_for(ticket({"type": "previous-owner"}, default["id"]), enduser)
    assert (await create(env, acts, api, request))["owner"] == earlier["id"]


async def test_previous_owner_without_history_uses_the_default(
    env, acts, api, request_for, enduser, make_user
) -> None:
    default = make_user()
    request = request_for(ticket({"type": "previous-owner"}, default["id"]), enduser)
    assert (await create(env, acts, api, request))["owner"] == default["id"]


async def test_queue(env, acts, api, request_for, enduser, make_user) -> None:
    queue_id = object_id()
    strategy = {
        "type": "queue",
        "info": {"queueId": queue_id, "tags": {"qualifier": "All Of", "values": ["triage"]}},
    }
    record = await create(env, acts, api, request_for(ticket(strategy, make_user()["id"]), enduser))
    assert record["queueId"] == queue_id and not record.get("owner")
    assert record["restrictByTags"] == ["triage"]
    assert not get(api, "enduser", enduser["id"]).get("assignedTo")


async def test_recently_booked_appointment_host(
    env, acts, api, request_for, enduser, make_user
) -> None:
    host, default = make_user(), make_user()
    event = ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": 1_900_000_000_000,
                "durationInMinutes": 30,
                "attendees": [
                    {"type": "user", "id": host["id"]},
                    {"type": "enduser", "id": enduser["id"]},
                ],
            },
        )
    )
    strategy = {"type": "Recently-Booked Appointment Host"}
    with_context = request_for(
        ticket(strategy, default["id"]), enduser, journey_context={"calendarEventId": event["id"]}
    )
    assert (await create(env, acts, api, with_context))["owner"] == host["id"]
    without_context = request_for(ticket(strategy, default["id"]), enduser)
    assert (await create(env, acts, api, without_context))["owner"] == host["id"]


async def test_form_submitter_for_journey_trigger(
    env, acts, api, request_for, enduser, make_user
) -> None:
    submitter, default = make_user(), make_user()
    response = ok(
        api.post(
            "/v1/form-response",
            json={
                "formId": "64f000000000000000000c01",
                "enduserId": enduser["id"],
                "submittedBy": submitter["id"],
                "submittedAt": datetime.now(UTC).isoformat(),
            },
        )
    )
    strategy = {"type": "Form Submitter for Journey Trigger"}
    request = request_for(
        ticket(strategy, default["id"]), enduser, journey_context={"formResponseId": response["id"]}
    )
    assert (await create(env, acts, api, request))["owner"] == submitter["id"]
    no_context = request_for(ticket(strategy, default["id"]), enduser)
    assert (await create(env, acts, api, no_context))["owner"] == default["id"]


async def test_due_date_skips_weekend_days_in_the_organisation_zone(
    env, acts, api, request_for, enduser, make_user
) -> None:
    # Friday 2025-01-03 10:00 in New York; +1 day lands on Saturday; Sat and Sun are skipped.
    now = "2025-01-03T15:00:00.000Z"
    action = ticket(
        {"type": "default"},
        make_user()["id"],
        dueDateOffsetInMS=86_400_000,
        skipDaysOfWeekForDueDate=[6, 0],
    )
    record = await create(env, acts, api, request_for(action, enduser, now=now))
    assert record["dueDateInMS"] == int(datetime(2025, 1, 6, 15, tzinfo=UTC).timestamp() * 1000)


def test_due_date_rules() -> None:
    friday = datetime(2025, 1, 3, 15, tzinfo=UTC)
    assert ticket_due_date(friday, 0, [], NEW_YORK) == friday
    assert ticket_due_date(friday, 0, [5], NEW_YORK) == datetime(2025, 1, 4, 15, tzinfo=UTC)
    # Friday 23:30 New York is already Saturday in UTC: the zone decides the weekday.
    late = datetime(2025, 1, 4, 4, 30, tzinfo=UTC)
    assert ticket_due_date(late, 0, [6], NEW_YORK) == late
    assert ticket_due_date(late, 0, [5], NEW_YORK) == datetime(2025, 1, 5, 4, 30, tzinfo=UTC)
    # Every day skipped: pushed at most seven times, never forever.
    assert ticket_due_date(friday, 0, range(7), NEW_YORK) == datetime(2025, 1, 10, 15, tzinfo=UTC)


async def test_retry_reuses_the_ticket(env, acts, api, request_for, enduser, make_user) -> None:
    request = request_for(ticket({"type": "default"}, make_user()["id"]), enduser)
    first = await env.run(acts.manage_care, request)
    second = await env.run(acts.manage_care, request)
    assert second.reused and second.ticketId == first.ticketId
    assert len(find(api, "tickets", enduserId=enduser["id"])) == 1


async def test_ticket_accepted_then_failed_is_created_once(
    env, acts, api, request_for, enduser, make_user, faults
) -> None:
    owner = make_user()
    request = request_for(ticket({"type": "default"}, owner["id"]), enduser)
    faults(kinds=["accept_then_500"], paths=["/v1/ticket"], count=1)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.manage_care, request)
    assert not raised.value.non_retryable
    outcome = await env.run(acts.manage_care, request)
    [record] = find(api, "tickets", enduserId=enduser["id"])
    assert outcome.reused and outcome.ticketId == record["id"]
    assert get(api, "enduser", enduser["id"])["assignedTo"] == [owner["id"]]


async def test_complete_tickets_closes_this_journeys_open_tickets(
    env, acts, api, request_for, enduser, make_user
) -> None:
    owner = make_user()["id"]
    mine = await env.run(acts.manage_care, request_for(ticket({"type": "default"}, owner), enduser))
    other_journey = ok(
        api.post(
            "/v1/ticket",
            json={"title": "Elsewhere", "enduserId": enduser["id"], "journeyId": object_id()},
        )
    )
    outcome = await env.run(acts.manage_care, request_for({"type": "completeTickets"}, enduser))
    assert outcome.recordIds == [mine.ticketId]
    assert get(api, "ticket", mine.ticketId)["closedAt"]
    assert not get(api, "ticket", other_journey["id"]).get("closedAt")
    again = await env.run(acts.manage_care, request_for({"type": "completeTickets"}, enduser))
    assert again.recordIds == []


async def test_care_plan_created_once_and_completed(env, acts, api, request_for, enduser) -> None:
    action = {"type": "createCarePlan", "info": {"title": "Plan for {{enduser.fname}}"}}
    created = await env.run(acts.manage_care, request_for(action, enduser))
    [plan] = find(api, "care-plans", enduserId=enduser["id"])
    assert plan["title"] == "Plan for Pat" and created.recordIds == [plan["id"]]
    assert (await env.run(acts.manage_care, request_for(action, enduser))).reused

    linked = request_for(
        ticket({"type": "default"}, "64f000000000000000000a01", forCarePlan=True), enduser
    )
    assert (await create(env, acts, api, linked))["carePlanId"] == plan["id"]

    done = await env.run(acts.manage_care, request_for({"type": "completeCarePlan"}, enduser))
    assert done.recordIds == [plan["id"]]
    assert get(api, "care-plan", plan["id"])["completedAt"]
