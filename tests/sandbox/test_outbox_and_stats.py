"""The outbox (HTML and JSON, newest first, text after merge fields, step and journey) and the
stats endpoint."""

from __future__ import annotations

import httpx

from sandbox.seed import DR_RIVERA_ID, INTAKE_REMINDER_SMS, WE_MISS_YOU_EMAIL

STEP = "64f0000000000000000000f1"
JOURNEY = "64f0000000000000000000f2"


def send_three(api: httpx.Client, enduser: dict) -> None:
    api.post(
        "/v1/sms-messages/send-with-template",
        json={
            "enduserId": enduser["id"],
            "senderId": DR_RIVERA_ID,
            "templateId": INTAKE_REMINDER_SMS,
            "automationStepId": STEP,
            "journeyId": JOURNEY,
        },
    )
    api.post(
        "/v1/emails/send-with-template",
        json={
            "enduserId": enduser["id"],
            "senderId": DR_RIVERA_ID,
            "templateId": WE_MISS_YOU_EMAIL,
        },
    )
    api.post(
        "/v1/user-notification",
        json={
            "userId": DR_RIVERA_ID,
            "type": "Patient needs a call",
            "message": f"Call {enduser['fname']}",
            "relatedRecords": [{"type": "enduser", "id": enduser["id"]}],
        },
    )


def test_outbox_json_newest_first(api: httpx.Client, helpers: httpx.Client, make_enduser) -> None:
    enduser = make_enduser(fname="Olivia")
    send_three(api, enduser)
    entries = helpers.get(
        "/sandbox/outbox",
        params={"enduserId": enduser["id"]},
        headers={"Accept": "application/json"},
    ).json()
    assert [e["channel"] for e in entries] == ["user_notification", "email", "sms"]
    sms = entries[2]
    assert sms["text"] == "Reminder: please complete your intake form, Olivia."
    assert (sms["automationStepId"], sms["journeyId"], sms["templateId"]) == (
        STEP,
        JOURNEY,
        INTAKE_REMINDER_SMS,
    )
    assert (sms["enduserName"], sms["to"], sms["from"]) == (
        "Olivia Lopez",
        enduser["phone"],
        "Dr. Rivera",
    )
    assert entries[1]["subject"] == "We miss you, Olivia"
    assert entries[0]["to"] == "Dr. Rivera" and entries[0]["text"] == "Call Olivia"
    created = [e["createdAt"] for e in entries]
    assert created == sorted(created, reverse=True)
    assert helpers.get(
        "/sandbox/outbox", params={"format": "json", "enduserId": enduser["id"], "channel": "sms"}
    ).json() == [sms]


def test_inbound_replies_are_listed_on_request(helpers: httpx.Client, api, make_enduser) -> None:
    enduser = make_enduser()
    send_three(api, enduser)
    helpers.post("/sandbox/patient/sms", json={"enduserId": enduser["id"], "message": "Done!"})
    helpers.post("/sandbox/patient/email", json={"enduserId": enduser["id"], "message": "Thanks"})
    query = {"format": "json", "enduserId": enduser["id"]}
    assert all(not e["inbound"] for e in helpers.get("/sandbox/outbox", params=query).json())
    everything = helpers.get("/sandbox/outbox", params={**query, "inbound": "true"}).json()
    assert [(e["channel"], e["inbound"]) for e in everything[:2]] == [
        ("email", True),
        ("sms", True),
    ]
    assert everything[0]["subject"] == "Re: We miss you, Pat" and everything[1]["text"] == "Done!"
    assert everything[1]["from"] == "Pat Lopez"


def test_outbox_html_lists_messages_and_patient_actions(
    api: httpx.Client, helpers: httpx.Client, make_enduser
) -> None:
    enduser = make_enduser(fname="Hector")
    send_three(api, enduser)
    api.post("/v1/ticket", json={"title": "Call Hector back", "closeReasons": ["Reached"]})
    page = helpers.get("/sandbox/outbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    first, second = (
        html.index("Call Hector"),
        html.index("Reminder: please complete your intake form, Hector."),
    )
    assert first < second, "newest first"
    assert "Close: Reached" in html and "Call Hector back" in html
    assert "reply as the patient" in html


def test_html_reply_form_posts_and_redirects(helpers: httpx.Client, api, enduser) -> None:
    response = helpers.post(
        "/sandbox/patient/sms",
        data={"enduserId": enduser["id"], "message": "From the page"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/sandbox/outbox"
    inbound = helpers.get(
        "/sandbox/outbox", params={"format": "json", "enduserId": enduser["id"], "inbound": "true"}
    ).json()
    assert inbound[0]["text"] == "From the page" and inbound[0]["inbound"] is True


def test_stats_count_messages(api: httpx.Client, helpers: httpx.Client, enduser) -> None:
    before = helpers.get("/sandbox/stats").json()
    api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "1"})
    api.post("/v1/sms-message", json={"enduserId": enduser["id"], "message": "2"})
    helpers.post("/sandbox/patient/sms", json={"enduserId": enduser["id"], "message": "3"})
    after = helpers.get("/sandbox/stats").json()
    assert after["messages"]["sms"]["outbound"] == before["messages"]["sms"]["outbound"] + 2
    assert after["messages"]["sms"]["inbound"] == before["messages"]["sms"]["inbound"] + 1
    assert after["records"]["sms_messages"] == before["records"]["sms_messages"] + 3
    assert after["records"]["templates"] >= 9
    assert set(after["webhooks"]) == {"configured", "delivered", "failed", "pending"}


def test_echo_records_requests(helpers: httpx.Client) -> None:
    helpers.delete("/sandbox/echo/log")
    assert helpers.post("/sandbox/echo", json={"a": 1}).json()["received"] is True
    assert helpers.put("/sandbox/echo/lab/orders?x=1", content=b"plain").status_code == 200
    assert helpers.get("/sandbox/echo?status=418").status_code == 418
    log = helpers.get("/sandbox/echo/log").json()
    assert [(e["method"], e["path"], e["body"]) for e in log] == [
        ("POST", "/sandbox/echo", {"a": 1}),
        ("PUT", "/sandbox/echo/lab/orders", "plain"),
        ("GET", "/sandbox/echo", None),
    ]
    assert log[1]["query"] == {"x": "1"}
