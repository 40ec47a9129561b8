"""Merge fields (docs/semantics.md §13) through `POST /v1/templated-message`."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from sandbox.seed import DR_RIVERA_ID, INTAKE_FORM

STEP = "64f0000000000000000000aa"


def render(api: httpx.Client, enduser: dict[str, Any], message: str, **extra: Any) -> dict:
    body = {"message": message, "userId": DR_RIVERA_ID, "enduserId": enduser["id"], **extra}
    response = api.post("/v1/templated-message", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_enduser_fields_and_custom_fields(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fname="Maria", fields={"clinic": "Eastside", "fname": "Custom"})
    out = render(api, enduser, "Hi {{enduser.lname}}, see you at {{enduser.clinic}}.")
    assert out["plaintext"] == "Hi Lopez, see you at Eastside."
    # A custom field shadows the built-in field of the same name (Tellescope's lookup order).
    assert render(api, enduser, "{{enduser.fname}}")["plaintext"] == "Custom"
    assert render(api, enduser, "{{enduser.id}}")["plaintext"] == enduser["id"]


def test_unknown_merge_fields_stay_as_written(api: httpx.Client, enduser) -> None:
    text = "{{enduser.unknown}} {{enduser.UnknownCustomField}} {{nonsense}}"
    assert render(api, enduser, text)["plaintext"] == text


def test_sender_and_subject(api: httpx.Client, enduser) -> None:
    out = render(api, enduser, "From {{sender.displayName}}", subject="For {{enduser.fname}}")
    assert out["plaintext"] == "From Dr. Rivera"
    assert out["subject"] == "For Pat"
    assert out["linkOpenTrackingIds"] == []


def test_html_version_escapes_and_breaks_lines(api: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fname="<Bo>")
    out = render(api, enduser, "Hi {{enduser.fname}}\nBye")
    assert out["plaintext"] == "Hi <Bo>\nBye"
    assert out["html"] == "Hi &lt;Bo&gt;<br />Bye"


def test_form_link_prepares_a_response_tied_to_the_step(api: httpx.Client, enduser) -> None:
    token = f"{{{{forms.{INTAKE_FORM}.link:Intake form}}}}"
    out = render(api, enduser, f"Please fill in: {token}", automationStepId=STEP, channel="SMS")
    match = re.fullmatch(
        r"Please fill in: Intake form: (http://\S+/sandbox/forms/(\S+))", out["plaintext"]
    )
    assert match, out["plaintext"]
    url, access_code = match.groups()
    assert out["html"] == f'Please fill in: <a href="{url}">Intake form</a>'
    responses = api.get(
        "/v1/form-responses", params={"filter": json.dumps({"enduserId": enduser["id"]})}
    ).json()
    assert len(responses) == 1, "plaintext and html share one prepared response"
    response = responses[0]
    assert (response["accessCode"], response["automationStepId"]) == (access_code, STEP)
    assert (response["formId"], response["sharedVia"]) == (INTAKE_FORM, "SMS")
    assert response["formTitle"] == "New patient intake" and "submittedAt" not in response


def test_calendar_event_and_form_response_from_journey_context(api: httpx.Client, enduser) -> None:
    event = api.post(
        "/v1/calendar-event",
        json={"title": "Office visit", "startTimeInMS": 1767261600000, "durationInMinutes": 30},
    ).json()
    response = api.post(
        "/v1/form-response",
        json={
            "formId": INTAKE_FORM,
            "enduserId": enduser["id"],
            "responses": [
                {
                    "fieldId": "64f000000000000000000d01",
                    "fieldTitle": "Preferred name",
                    "externalId": "preferredName",
                    "answer": {"type": "string", "value": "Patty"},
                }
            ],
        },
    ).json()
    out = render(
        api,
        enduser,
        "{{calendar_event.title}} at {{calendar_event.start}} for {{form_response.preferredName}}"
        " ({{form_response.missing}})",
        journeyContext={"calendarEventId": event["id"], "formResponseId": response["id"]},
    )
    assert out["plaintext"] == (
        "Office visit at 2026-01-01T10:00:00.000Z for Patty ({{form_response.missing}})"
    )


def test_seed_templates_with_survey_links(api: httpx.Client, enduser) -> None:
    template = api.get("/v1/template/64f000000000000000000b03").json()
    assert "{{forms.64f000000000000000000c01.link:Survey}}" in template["message"]
    out = render(api, enduser, template["message"], automationStepId=STEP)
    assert "Survey: http://" in out["plaintext"] and "Dr. Rivera" in out["plaintext"]


def test_templated_message_errors(api: httpx.Client, enduser) -> None:
    missing = api.post("/v1/templated-message", json={"message": "x", "userId": DR_RIVERA_ID})
    assert missing.json()["message"] == "Value not provided for required field: enduserId"
    unknown = api.post(
        "/v1/templated-message",
        json={"message": "x", "userId": DR_RIVERA_ID, "enduserId": "60398b0231a295e64f084fd9"},
    )
    assert unknown.status_code == 404
