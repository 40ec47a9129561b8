"""Emails and SMS: Tellescope's sending constraints and the send-with-template actions."""

from __future__ import annotations

import json

import httpx

from sandbox.seed import DR_RIVERA_ID, WE_MISS_YOU_EMAIL, WELCOME_SMS


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["message"]


def test_email_needs_an_address_and_consent(api: httpx.Client, make_enduser) -> None:
    no_email = make_enduser(email=None)
    withdrawn = make_enduser(emailConsent=False)
    email = {"subject": "Hello", "textContent": "Body"}
    assert error(api.post("/v1/email", json={**email, "enduserId": no_email["id"]})) == (
        400,
        "Missing email",
    )
    assert error(api.post("/v1/email", json={**email, "enduserId": withdrawn["id"]})) == (
        400,
        "Missing email consent",
    )
    logged = api.post("/v1/email", json={**email, "enduserId": no_email["id"], "logOnly": True})
    assert logged.status_code == 200, "logOnly records skip the sending constraint"


def test_sms_needs_a_phone_and_consent(api: httpx.Client, make_enduser) -> None:
    no_phone = make_enduser(phone=None)
    withdrawn = make_enduser(phoneConsent=False)
    assert error(
        api.post("/v1/sms-message", json={"message": "Hi", "enduserId": no_phone["id"]})
    ) == (
        400,
        "Missing phone",
    )
    assert error(
        api.post("/v1/sms-message", json={"message": "Hi", "enduserId": withdrawn["id"]})
    ) == (400, "Missing phone consent")


def test_sent_messages_are_outbound_and_delivered(api: httpx.Client, enduser) -> None:
    sms = api.post(
        "/v1/sms-message",
        json={
            "message": "Hi",
            "enduserId": enduser["id"],
            "automationStepId": "60398b0231a295e64f084fd9",
        },
    ).json()
    assert (sms["inbound"], sms["delivered"], sms["userId"]) == (
        False,
        True,
        "64f000000000000000000a00",
    )
    assert sms["enduserPhoneNumber"] == enduser["phone"]
    assert sms["automationStepId"] == "60398b0231a295e64f084fd9"


def test_marketing_email_to_unsubscribed_enduser(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(unsubscribedFromMarketing=True)
    response = api.post(
        "/v1/email",
        json={
            "enduserId": enduser["id"],
            "subject": "Sale",
            "textContent": "x",
            "isMarketing": True,
        },
    )
    assert error(response) == (400, "Unsubscribed from marketing")


def test_send_sms_with_template(api: httpx.Client, enduser) -> None:
    response = api.post(
        "/v1/sms-messages/send-with-template",
        json={"enduserId": enduser["id"], "senderId": DR_RIVERA_ID, "templateId": WELCOME_SMS},
    )
    assert response.status_code == 200, response.text
    sms = response.json()["sms"]
    assert sms["message"].startswith(f"Welcome to Riverside, {enduser['fname']}!")
    assert (sms["templateId"], sms["userId"]) == (WELCOME_SMS, DR_RIVERA_ID)
    assert api.get(f"/v1/sms-message/{sms['id']}").json() == sms


def test_send_email_with_template(api: httpx.Client, enduser) -> None:
    response = api.post(
        "/v1/emails/send-with-template",
        json={
            "enduserId": enduser["id"],
            "senderId": DR_RIVERA_ID,
            "templateId": WE_MISS_YOU_EMAIL,
            "automationStepId": "60398b0231a295e64f084fd9",
        },
    )
    assert response.status_code == 200, response.text
    email = response.json()["email"]
    assert email["subject"] == f"We miss you, {enduser['fname']}"
    assert email["textContent"].startswith(f"Hi {enduser['fname']},\n\n")
    assert email["HTMLContent"].startswith(f"Hi {enduser['fname']},<br /><br />")
    assert email["automationStepId"] == "60398b0231a295e64f084fd9"


def test_send_with_template_checks_before_rendering(api: httpx.Client, make_enduser) -> None:
    """A refused send must not leave form responses behind from the template's form links."""
    enduser = make_enduser(email=None)
    response = api.post(
        "/v1/emails/send-with-template",
        json={
            "enduserId": enduser["id"],
            "senderId": DR_RIVERA_ID,
            "templateId": "64f000000000000000000b03",
        },
    )
    assert error(response) == (400, "Missing email")
    responses = api.get(
        "/v1/form-responses", params={"filter": json.dumps({"enduserId": enduser["id"]})}
    )
    assert responses.json() == []


def test_unknown_template_or_sender(api: httpx.Client, enduser) -> None:
    body = {
        "enduserId": enduser["id"],
        "senderId": DR_RIVERA_ID,
        "templateId": "60398b0231a295e64f084fd9",
    }
    assert error(api.post("/v1/sms-messages/send-with-template", json=body)) == (
        404,
        "Could not find a record for the given id",
    )
