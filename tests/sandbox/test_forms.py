"""Form responses: prepare (access code + link), submit with the access code, the form page a
link opens, and the patient helper that submits by response id."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.seed import INTAKE_FORM, PHQ2_FORM

STEP = "64f0000000000000000000bb"
ANSWER = [
    {
        "fieldId": "64f000000000000000000d01",
        "fieldTitle": "Preferred name",
        "externalId": "preferredName",
        "answer": {"type": "string", "value": "Patty"},
    }
]


def prepare(api: httpx.Client, enduser: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"formId": INTAKE_FORM, "enduserId": enduser["id"], **extra}
    response = api.post("/v1/prepare-form-response", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_prepare_returns_access_code_and_link(api: httpx.Client, server, enduser) -> None:
    prepared = prepare(api, enduser, automationStepId=STEP, sharedVia="Email")
    code = prepared["accessCode"]
    assert prepared["url"] == f"/sandbox/forms/{code}"
    assert prepared["fullURL"] == f"{server.base_url}/sandbox/forms/{code}"
    response = prepared["response"]
    assert (response["accessCode"], response["automationStepId"], response["enduserId"]) == (
        code,
        STEP,
        enduser["id"],
    )
    assert api.get(f"/v1/form-response/{response['id']}").json() == response


def test_submit_with_access_code(api: httpx.Client, enduser) -> None:
    prepared = prepare(api, enduser, automationStepId=STEP)
    submitted = api.patch(
        "/v1/submit-form-response",
        json={"accessCode": prepared["accessCode"], "responses": ANSWER},
    )
    assert submitted.status_code == 200, submitted.text
    response = submitted.json()["formResponse"]
    assert response["submittedAt"] and response["responses"] == ANSWER
    assert (response["automationStepId"], response["submittedBy"]) == (STEP, enduser["id"])
    again = api.patch(
        "/v1/submit-form-response",
        json={"accessCode": prepared["accessCode"], "responses": ANSWER},
    )
    assert again.status_code == 400
    assert again.json()["message"] == "This form has already been submitted"


def test_submit_errors(api: httpx.Client) -> None:
    unknown = api.patch("/v1/submit-form-response", json={"accessCode": "nope", "responses": []})
    assert unknown.status_code == 404
    shapeless = api.patch(
        "/v1/submit-form-response", json={"accessCode": "nope", "responses": [{"value": 1}]}
    )
    assert shapeless.status_code == 400


def test_prepare_errors(api: httpx.Client, enduser) -> None:
    unknown_form = api.post(
        "/v1/prepare-form-response",
        json={"formId": "60398b0231a295e64f084fd9", "enduserId": enduser["id"]},
    )
    assert unknown_form.status_code == 404
    bad_id = api.post("/v1/prepare-form-response", json={"formId": "x", "enduserId": enduser["id"]})
    assert bad_id.json()["message"] == "Error parsing field formId: Invalid id"


def test_form_info_for_access_code(api: httpx.Client, enduser) -> None:
    prepared = prepare(api, enduser)
    info = api.get(
        "/v1/form-info-for-access-code", params={"accessCode": prepared["accessCode"]}
    ).json()
    assert info["form"]["title"] == "New patient intake"
    assert [f["externalId"] for f in info["fields"]] == [
        "preferredName",
        "reasonForVisit",
        "allergies",
    ]
    assert info["response"]["id"] == prepared["response"]["id"]


def test_the_form_page_submits(api: httpx.Client, helpers: httpx.Client, enduser) -> None:
    prepared = prepare(api, enduser, automationStepId=STEP)
    page = helpers.get(prepared["url"])
    assert page.status_code == 200 and "Preferred name" in page.text and "<form" in page.text
    done = helpers.post(
        prepared["url"], data={"preferredName": "Pat", "reasonForVisit": "Checkup", "allergies": ""}
    )
    assert done.status_code == 200 and "Thank you" in done.text
    response = api.get(f"/v1/form-response/{prepared['response']['id']}").json()
    answers = {r["externalId"]: r["answer"]["value"] for r in response["responses"]}
    assert answers == {"preferredName": "Pat", "reasonForVisit": "Checkup", "allergies": ""}
    assert "already been submitted" in helpers.get(prepared["url"]).text


def test_patient_submits_by_response_id(api: httpx.Client, helpers: httpx.Client, enduser) -> None:
    prepared = api.post(
        "/v1/prepare-form-response",
        json={"formId": PHQ2_FORM, "enduserId": enduser["id"], "automationStepId": STEP},
    ).json()
    response_id = prepared["response"]["id"]
    result = helpers.post(
        f"/sandbox/patient/form-responses/{response_id}/submit",
        json={"answers": {"phq1": "Not at all", "phq2": "Several days"}},
    )
    assert result.status_code == 200, result.text
    stored = result.json()["formResponse"]
    assert stored["submittedAt"] and stored["automationStepId"] == STEP
    assert [r["answer"]["value"] for r in stored["responses"]] == ["Not at all", "Several days"]
    assert [r["answer"]["type"] for r in stored["responses"]] == ["multiple_choice"] * 2


def test_responses_pushed_to_the_portal_can_be_submitted(
    api: httpx.Client, helpers: httpx.Client, enduser
) -> None:
    pushed = api.post(
        "/v1/form-response",
        json={
            "formId": PHQ2_FORM,
            "enduserId": enduser["id"],
            "automationStepId": STEP,
            "groupId": STEP,
            "pushedToPortalAt": "2026-01-01T00:00:00.000Z",
        },
    ).json()
    assert pushed["accessCode"] and pushed["formTitle"] == "PHQ-2"
    outbox = helpers.get("/sandbox/outbox").text
    assert f"/sandbox/forms/{pushed['accessCode']}" in outbox
    submitted = helpers.post(
        f"/sandbox/patient/form-responses/{pushed['id']}/submit",
        json={"answers": {"phq1": "Nearly every day"}},
    ).json()["formResponse"]
    assert submitted["groupId"] == STEP and submitted["submittedAt"]
    assert f"/sandbox/forms/{pushed['accessCode']}" not in helpers.get("/sandbox/outbox").text


def test_content_link_page(api: httpx.Client, helpers: httpx.Client, enduser) -> None:
    out = api.post(
        "/v1/templated-message",
        json={
            "message": "Read {{content.64f000000000000000000e01.link:this guide}}",
            "userId": "64f000000000000000000a01",
            "enduserId": enduser["id"],
        },
    ).json()
    url = out["plaintext"].removeprefix("Read this guide: ")
    assert url.endswith("/sandbox/content/64f000000000000000000e01")
    page = helpers.get(url)
    assert page.status_code == 200 and "Living well with type 2 diabetes" in page.text
