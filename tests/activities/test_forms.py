"""sendForm, pushFormsToPortal, shareContent: form responses tied to the step, the link sent by
the channel, portal pushes grouped by step, content assignments, exactly once across retries."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from models.runtime import TELLESCOPE_REJECTED
from tellescope.idempotency import action_key
from tests.activities.conftest import ADMIN_USER_ID, find, get

INTAKE_FORM = "64f000000000000000000c01"
PHQ2_FORM = "64f000000000000000000c03"
HEALTH_CHECK_FORM = "64f000000000000000000c04"
DIABETES_CONTENT = "64f000000000000000000e01"


def send_form(form_id: str = INTAKE_FORM, **info) -> dict:
    return {"type": "sendForm", "info": {"senderId": ADMIN_USER_ID, "formId": form_id, **info}}


async def test_send_form_by_email(env, acts, api, request_for, enduser) -> None:
    request = request_for(send_form(), enduser)
    outcome = await env.run(acts.send_forms, request)

    [response] = find(api, "form-responses", enduserId=enduser["id"])
    assert outcome.formResponseIds == [response["id"]]
    assert response["formId"] == INTAKE_FORM
    assert response["automationStepId"] == request.automationStepId
    assert response["externalId"] == action_key(request.automatedActionId, "form")
    assert not response.get("submittedAt")
    [email] = find(api, "emails", enduserId=enduser["id"])
    assert response["accessCode"] in email["textContent"]
    assert email["subject"] == "New patient intake"
    assert email["automationStepId"] == request.automationStepId
    assert set(outcome.recordIds) == {response["id"], email["id"]}


@pytest.mark.parametrize("channel", ["SMS", "Chat"])
async def test_send_form_by_other_channels(env, acts, api, request_for, enduser, channel) -> None:
    outcome = await env.run(acts.send_forms, request_for(send_form(channel=channel), enduser))
    [response] = find(api, "form-responses", enduserId=enduser["id"])
    assert response["sharedVia"] == channel
    if channel == "SMS":
        [message] = find(api, "sms-messages", enduserId=enduser["id"])
        assert response["accessCode"] in message["message"]
    else:
        [room] = find(api, "chat-rooms", enduserIds=enduser["id"])
        [message] = find(api, "chats", roomId=room["id"])
        assert response["accessCode"] in message["message"]
    assert find(api, "emails", enduserId=enduser["id"]) == []
    assert outcome.formResponseIds == [response["id"]]


async def test_send_form_retry_sends_once(env, acts, api, request_for, enduser) -> None:
    request = request_for(send_form(), enduser)
    first = await env.run(acts.send_forms, request)
    second = await env.run(acts.send_forms, request)
    assert second.reused and second.formResponseIds == first.formResponseIds
    assert len(find(api, "form-responses", enduserId=enduser["id"])) == 1
    assert len(find(api, "emails", enduserId=enduser["id"])) == 1


@pytest.mark.parametrize("path", ["/v1/email", "/v1/form-response/*"])
async def test_send_form_accepted_then_failed(
    env, acts, api, request_for, enduser, faults, path
) -> None:
    """A 500 after Tellescope stored the email (or the response's key): the retry reuses both."""
    request = request_for(send_form(), enduser)
    faults(kinds=["accept_then_500"], paths=[path], count=1)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_forms, request)
    assert not raised.value.non_retryable
    retried = await env.run(acts.send_forms, request)
    [response] = find(api, "form-responses", enduserId=enduser["id"])
    assert retried.formResponseIds == [response["id"]]
    assert len(find(api, "emails", enduserId=enduser["id"])) == 1


async def test_send_form_whose_message_failed_prepares_a_fresh_link(
    env, acts, api, request_for, enduser, faults
) -> None:
    """The email was never stored: the retry replaces the unsent response (its link was never
    shown) and sends exactly one email for exactly one response."""
    request = request_for(send_form(), enduser)
    faults(kinds=["error500"], paths=["/v1/email"], count=1)
    with pytest.raises(ApplicationError):
        await env.run(acts.send_forms, request)
    outcome = await env.run(acts.send_forms, request)
    [response] = find(api, "form-responses", enduserId=enduser["id"])
    [email] = find(api, "emails", enduserId=enduser["id"])
    assert outcome.formResponseIds == [response["id"]]
    assert response["accessCode"] in email["textContent"]


async def test_send_form_for_a_missing_form_is_an_error(env, acts, request_for, enduser) -> None:
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.send_forms, request_for(send_form("64f0000000000000000000cf"), enduser))
    assert raised.value.type == TELLESCOPE_REJECTED and raised.value.non_retryable
    assert raised.value.message == "Could not find a record for the given id"


async def test_push_forms_to_portal(env, acts, api, request_for, enduser) -> None:
    action = {"type": "pushFormsToPortal", "info": {"formIds": [PHQ2_FORM, HEALTH_CHECK_FORM]}}
    request = request_for(action, enduser)
    outcome = await env.run(acts.send_forms, request)

    responses = {r["id"]: r for r in find(api, "form-responses", enduserId=enduser["id"])}
    assert set(outcome.formResponseIds) == set(responses) and len(responses) == 2
    assert [responses[i]["formId"] for i in outcome.formResponseIds] == [
        PHQ2_FORM,
        HEALTH_CHECK_FORM,
    ]
    for response in responses.values():
        assert response["groupId"] == request.automationStepId
        assert response["automationStepId"] == request.automationStepId
        assert response["pushedToPortalAt"]
    assert find(api, "emails", enduserId=enduser["id"]) == [], "portal pushes send no message"

    again = await env.run(acts.send_forms, request)
    assert again.reused and again.formResponseIds == outcome.formResponseIds
    assert len(find(api, "form-responses", enduserId=enduser["id"])) == 2


async def test_share_content_assigns_once(env, acts, api, request_for, enduser) -> None:
    action = {"type": "shareContent", "info": {"managedContentRecordIds": [DIABETES_CONTENT]}}
    first = await env.run(acts.send_forms, request_for(action, enduser))
    assignments = find(
        api,
        "managed-content-record-assignments",
        enduserId=enduser["id"],
        contentId=DIABETES_CONTENT,
    )
    assert [a["id"] for a in assignments] == first.recordIds
    again = await env.run(acts.send_forms, request_for(action, enduser))
    assert again.reused and again.recordIds == first.recordIds
    assert (
        get(api, "managed-content-record-assignment", first.recordIds[0])["enduserId"]
        == (enduser["id"])
    )
