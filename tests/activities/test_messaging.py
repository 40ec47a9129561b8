"""sendEmail, sendSMS, sendChat, notifyTeam against the sandbox: the text Tellescope would hold
after merge fields, the stamps, sender assignment, consent errors, and exactly-once delivery
across retries and injected faults."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.tellescope_activities import TellescopeActivities
from models.runtime import TELLESCOPE_REJECTED
from tellescope.idempotency import action_key
from tests.activities.conftest import ADMIN_USER_ID, find, get

DR_RIVERA = "64f000000000000000000a01"
THANK_YOU_EMAIL = "64f000000000000000000b03"  # seed template with a form link
INTAKE_FORM = "64f000000000000000000c01"


def email_action(template_id: str, sender: str = ADMIN_USER_ID, **info) -> dict:
    return {"type": "sendEmail", "info": {"senderId": sender, "templateId": template_id, **info}}


def sms_action(template_id: str, sender: str = ADMIN_USER_ID, **info) -> dict:
    return {"type": "sendSMS", "info": {"senderId": sender, "templateId": template_id, **info}}


async def test_send_email_renders_merge_fields_and_stamps_the_email(
    env, acts, api, request_for, make_enduser, make_template
) -> None:
    enduser = make_enduser(fname="Ana", fields={"Clinic": "Northside"})
    template = make_template(
        "Hi {{enduser.fname}}, see you at {{enduser.Clinic}}.", subject="For {{enduser.fname}}"
    )
    request = request_for(email_action(template["id"]), enduser)

    outcome = await env.run(acts.send_message, request)

    emails = find(api, "emails", enduserId=enduser["id"])
    assert len(emails) == 1
    email = emails[0]
    assert email["textContent"] == "Hi Ana, see you at Northside."
    assert email["subject"] == "For Ana"
    assert email["batchId"] == action_key(request.automatedActionId, "email")
    assert email["automationStepId"] == request.automationStepId
    assert email["journeyId"] == request.journeyId
    assert email["templateId"] == template["id"]
    assert email["userId"] == ADMIN_USER_ID
    assert outcome.recordIds == [email["id"]] and not outcome.reused


async def test_send_email_twice_for_one_action_sends_once(
    env, acts, api, request_for, enduser, make_template
) -> None:
    template = make_template("Once, {{enduser.fname}}.")
    request = request_for(email_action(template["id"]), enduser)
    first = await env.run(acts.send_message, request)
    second = await env.run(acts.send_message, request)
    assert second.reused and second.recordIds == first.recordIds
    assert len(find(api, "emails", enduserId=enduser["id"])) == 1
    other = await env.run(acts.send_message, request_for(email_action(template["id"]), enduser))
    assert not other.reused
    assert len(find(api, "emails", enduserId=enduser["id"])) == 2, "a new action sends again"


async def test_form_links_become_form_responses_tied_to_the_step(
    env, acts, api, request_for, enduser
) -> None:
    request = request_for(email_action(THANK_YOU_EMAIL, DR_RIVERA), enduser)
    outcome = await env.run(acts.send_message, request)

    assert len(outcome.formResponseIds) == 1
    response = get(api, "form-response", outcome.formResponseIds[0])
    assert response["formId"] == INTAKE_FORM
    assert response["automationStepId"] == request.automationStepId
    assert response["externalId"] == action_key(request.automatedActionId, "email") + ":link:0"
    email = find(api, "emails", enduserId=enduser["id"])[0]
    assert response["accessCode"] in email["textContent"]
    assert email["textContent"].startswith("Hi Pat,")

    again = await env.run(acts.send_message, request)
    assert again.reused and again.formResponseIds == outcome.formResponseIds
    assert len(find(api, "form-responses", enduserId=enduser["id"])) == 1


async def test_missing_email_consent_is_a_non_retryable_rejection(
    env, acts, api, request_for, make_enduser, make_template
) -> None:
    enduser = make_enduser(emailConsent=False)
    template = make_template("Hello")
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request_for(email_action(template["id"]), enduser))
    assert raised.value.message == "Missing email consent"
    assert raised.value.type == TELLESCOPE_REJECTED and raised.value.non_retryable
    assert find(api, "emails", enduserId=enduser["id"]) == []


async def test_missing_phone_is_a_non_retryable_rejection(
    env, acts, request_for, make_enduser, make_template
) -> None:
    enduser = make_enduser(phone=None)
    template = make_template("Hello")
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request_for(sms_action(template["id"]), enduser))
    assert raised.value.message == "Missing phone"
    assert raised.value.non_retryable


async def test_send_sms_text_after_merge_fields(
    env, acts, api, request_for, make_enduser, make_template
) -> None:
    enduser = make_enduser(fname="Bo")
    template = make_template("Welcome {{enduser.fname}}!")
    request = request_for(sms_action(template["id"]), enduser)
    outcome = await env.run(acts.send_message, request)
    sms = find(api, "sms-messages", enduserId=enduser["id"])
    assert [s["message"] for s in sms] == ["Welcome Bo!"]
    assert sms[0]["batchId"] == action_key(request.automatedActionId, "sms")
    assert outcome.recordIds == [sms[0]["id"]]


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ({"type": "Default"}, "sender"),
        ({"type": "Care Team Primary"}, "primary"),
        ({"type": "Care Team", "info": {"tags": {"qualifier": "One Of", "values": ["rn"]}}}, "rn"),
    ],
)
async def test_sender_assignment(
    env, acts, api, request_for, make_enduser, make_user, make_template, assignment, expected
) -> None:
    sender, first, primary, nurse = (make_user(tags=t) for t in ([], ["md"], ["md"], ["rn"]))
    enduser = make_enduser(
        assignedTo=[first["id"], primary["id"], nurse["id"]], primaryAssignee=primary["id"]
    )
    template = make_template("Hi")
    request = request_for(sms_action(template["id"], sender["id"], assignment=assignment), enduser)
    await env.run(acts.send_message, request)
    sms = find(api, "sms-messages", enduserId=enduser["id"])[0]
    assert sms["userId"] == {"sender": sender, "primary": primary, "rn": nurse}[expected]["id"]


async def test_care_team_senders_fall_back_to_the_default_sender(
    env, acts, api, request_for, enduser, make_user, make_template
) -> None:
    sender = make_user()
    template = make_template("Hi")
    for assignment in ({"type": "Care Team Primary"}, {"type": "Care Team"}):
        request = request_for(
            sms_action(template["id"], sender["id"], assignment=assignment), enduser
        )
        await env.run(acts.send_message, request)
    assert {s["userId"] for s in find(api, "sms-messages", enduserId=enduser["id"])} == {
        sender["id"]
    }


async def test_primary_defaults_to_the_first_care_team_member(
    env, acts, api, request_for, make_enduser, make_user, make_template
) -> None:
    first, second = make_user(), make_user()
    enduser = make_enduser(assignedTo=[first["id"], second["id"]])
    template = make_template("Hi")
    assignment = {"type": "Care Team Primary"}
    await env.run(
        acts.send_message,
        request_for(sms_action(template["id"], second["id"], assignment=assignment), enduser),
    )
    assert find(api, "sms-messages", enduserId=enduser["id"])[0]["userId"] == first["id"]


async def test_send_chat_posts_in_the_identified_room_with_the_care_team(
    env, acts, api, request_for, make_enduser, make_user, make_template
) -> None:
    member = make_user()
    enduser = make_enduser(fname="Cy", assignedTo=[member["id"]])
    template = make_template("Hello {{enduser.fname}}, how are you?")
    action = {
        "type": "sendChat",
        "info": {"templateId": template["id"], "identifier": "care", "includeCareTeam": True},
    }
    request = request_for(action, enduser)
    outcome = await env.run(acts.send_message, request)

    rooms = find(api, "chat-rooms", enduserIds=enduser["id"])
    assert len(rooms) == 1 and rooms[0]["identifier"] == "care"
    assert member["id"] in rooms[0]["userIds"]
    chats = find(api, "chats", roomId=rooms[0]["id"])
    assert [c["message"] for c in chats] == ["Hello Cy, how are you?"]
    assert chats[0]["senderId"] == member["id"]
    assert action_key(request.automatedActionId, "chat") in chats[0]["tags"]
    assert outcome.recordIds[0] == chats[0]["id"]

    assert (await env.run(acts.send_message, request)).reused
    second = await env.run(acts.send_message, request_for(action, enduser))
    assert not second.reused
    assert len(find(api, "chat-rooms", enduserIds=enduser["id"])) == 1, "the room is reused"
    assert len(find(api, "chats", roomId=rooms[0]["id"])) == 2


async def test_notify_team_notifies_each_care_team_member_once(
    env, acts, api, request_for, make_enduser, make_user, make_template
) -> None:
    a, b = make_user(fname="Ada"), make_user(fname="Bea")
    enduser = make_enduser(fname="Dee", assignedTo=[a["id"], b["id"]])
    template = make_template("{{enduser.fname}} needs a call")
    action = {"type": "notifyTeam", "info": {"templateId": template["id"], "forAssigned": True}}
    request = request_for(action, enduser)
    outcome = await env.run(acts.send_message, request)

    for user in (a, b):
        notes = find(api, "user-notifications", userId=user["id"])
        assert [n["message"] for n in notes] == ["Dee needs a call"]
        assert {"type": "enduser", "id": enduser["id"]} in notes[0]["relatedRecords"]
    assert len(outcome.recordIds) == 2

    again = await env.run(acts.send_message, request)
    assert again.reused and sorted(again.recordIds) == sorted(outcome.recordIds)
    assert len(find(api, "user-notifications", userId=a["id"])) == 1


async def test_notify_team_by_tags(
    env, acts, api, request_for, enduser, make_user, make_template
) -> None:
    tag = f"oncall-{enduser['id'][-6:]}"
    on_call, off = make_user(tags=[tag]), make_user(tags=["other"])
    template = make_template("Ping")
    action = {
        "type": "notifyTeam",
        "info": {
            "templateId": template["id"],
            "forAssigned": False,
            "tags": {"qualifier": "One Of", "values": [tag]},
        },
    }
    await env.run(acts.send_message, request_for(action, enduser))
    assert len(find(api, "user-notifications", userId=on_call["id"])) == 1
    assert find(api, "user-notifications", userId=off["id"]) == []


# --- retries after faults: the fault-injection idempotency proof -------------------------------


@pytest.mark.parametrize("kind", ["accept_then_500", "accept_then_drop"])
async def test_sms_accepted_then_failed_is_not_sent_twice(
    env, acts, api, request_for, enduser, make_template, faults, kind
) -> None:
    template = make_template("Exactly once")
    request = request_for(sms_action(template["id"]), enduser)
    faults(kinds=[kind], paths=["/v1/sms-message"], count=1)

    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request)
    assert not raised.value.non_retryable, "Temporal must retry this attempt"
    assert len(find(api, "sms-messages", enduserId=enduser["id"])) == 1, "Tellescope accepted it"

    retried = await env.run(acts.send_message, request)
    assert retried.reused
    sms = find(api, "sms-messages", enduserId=enduser["id"])
    assert len(sms) == 1 and retried.recordIds == [sms[0]["id"]]


async def test_email_after_a_500_before_processing_is_sent_on_the_retry(
    env, acts, api, request_for, enduser, make_template, faults
) -> None:
    template = make_template("Second time lucky")
    request = request_for(email_action(template["id"]), enduser)
    faults(kinds=["error500"], paths=["/v1/email"], count=1)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request)
    assert not raised.value.non_retryable
    assert find(api, "emails", enduserId=enduser["id"]) == []
    retried = await env.run(acts.send_message, request)
    assert not retried.reused
    assert len(find(api, "emails", enduserId=enduser["id"])) == 1


async def test_email_with_a_form_link_accepted_then_failed(
    env, acts, api, request_for, enduser, faults
) -> None:
    request = request_for(email_action(THANK_YOU_EMAIL, DR_RIVERA), enduser)
    faults(kinds=["accept_then_500"], paths=["/v1/email"], count=1)
    with pytest.raises(ApplicationError):
        await env.run(acts.send_message, request)
    retried = await env.run(acts.send_message, request)
    assert retried.reused and len(retried.formResponseIds) == 1
    assert len(find(api, "emails", enduserId=enduser["id"])) == 1
    assert len(find(api, "form-responses", enduserId=enduser["id"])) == 1


async def test_email_attempt_that_timed_out_is_retried_into_exactly_one_email(
    env, impatient_client, api, request_for, enduser, make_template, faults
) -> None:
    """The sandbox holds the request past the client's timeout and drops it unprocessed."""
    acts = TellescopeActivities(impatient_client)
    template = make_template("Patience")
    request = request_for(email_action(template["id"]), enduser)
    faults(kinds=["timeout"], paths=["/v1/email"], count=1, timeoutSeconds=2)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_message, request)
    assert not raised.value.non_retryable and "timed out" in raised.value.message
    outcome = await env.run(acts.send_message, request)
    [email] = find(api, "emails", enduserId=enduser["id"])
    assert outcome.recordIds == [email["id"]] and email["textContent"] == "Patience"
