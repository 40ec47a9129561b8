"""End to end through HTTP only: the examples are deployed through the API, the sandbox
sends its record webhooks to the live API, triggers enroll the patient, the journeys run on the
worker, and the statistics and automated-actions listings agree with what happened.

Everything here is an HTTP call: to the live API (uvicorn) or to the sandbox, which plays the
patient and the care team. Virtual time (time-skipping server) moves the journeys between steps.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIGN_UP_FORM = "64f000000000000000000c02"
INTAKE_FORM = "64f000000000000000000c01"


class Story:
    def __init__(self, api, env, live_api, sandbox, sandbox_http) -> None:
        self.env = env
        self.sandbox = sandbox_http
        self.engine = httpx.Client(
            base_url=live_api.url, headers={"Authorization": f"API_KEY {api.key}"}, timeout=30
        )
        self.webhook_url = f"{live_api.url}/v1/webhooks/tellescope"

    def deploy_examples(self) -> dict:
        files = {
            path.name: path.read_text().replace(
                "http://127.0.0.1:8900", str(self.sandbox.base_url).rstrip("/")
            )
            for path in sorted(EXAMPLES.glob("*.yaml"))
        }
        response = self.engine.post("/v1/deployments", json={"files": files, "deployedBy": "e2e"})
        assert response.status_code == 200, response.text
        return response.json()

    def listen(self) -> None:
        body = {"url": self.webhook_url, "secret": WEBHOOK_SECRET}
        assert self.sandbox.post("/v1/configure-webhooks", json=body).status_code == 200

    def stop_listening(self) -> None:
        body = {"url": self.webhook_url, "secret": WEBHOOK_SECRET, "subscriptions": {}}
        self.sandbox.post("/v1/configure-webhooks", json=body)

    def deliver(self) -> None:
        """Wait until the sandbox has attempted every queued webhook delivery."""
        self.sandbox.post("/sandbox/webhooks/flush")

    def records(self, model: str, **filters) -> list[dict]:
        response = self.sandbox.get(f"/v1/{model}", params={"filter": json.dumps(filters)})
        assert response.status_code == 200, response.text
        return response.json()

    def enduser(self, enduser_id: str) -> dict:
        return self.sandbox.get(f"/v1/enduser/{enduser_id}").json()

    async def until(
        self, condition, what: str, step: timedelta = timedelta(seconds=1), limit: int = 400
    ):
        """Let virtual time run a step at a time (webhooks are delivered in real time)."""
        for _ in range(limit):
            self.deliver()
            value = condition()
            if value:
                return value
            await self.env.sleep(step)
        raise AssertionError(f"never happened: {what}")


def journeys_of(story: Story, enduser_id: str) -> dict[str, dict]:
    response = story.engine.get(f"/v1/endusers/{enduser_id}/journeys")
    assert response.status_code == 200, response.text
    return {e["journeyId"]: e for e in response.json()["enrollments"]}


async def test_sign_up_to_care_plan_through_webhooks_triggers_and_journeys(
    api, env, live_api, sandbox, sandbox_http
):
    story = Story(api, env, live_api, sandbox, sandbox_http)
    deployed = story.deploy_examples()
    journey_ids = {j["journeyId"]: j["tellescopeJourneyId"] for j in deployed["journeys"]}
    assert {"onboarding", "care-plan", "post-visit"} <= set(journey_ids)
    story.listen()
    try:
        created = story.sandbox.post(
            "/v1/enduser",
            json={
                "fname": "Sam",
                "lname": "Rivera",
                "email": f"sam.{id(story)}@example.org",
                "phone": "+15555550142",
                "emailConsent": True,
                "phoneConsent": True,
            },
        )
        enduser_id = created.json()["id"]

        # 1. The website sign-up form is submitted: the Form Submitted trigger enrolls them.
        prepared = story.sandbox.post(
            "/v1/prepare-form-response", json={"formId": SIGN_UP_FORM, "enduserId": enduser_id}
        ).json()
        submitted = story.sandbox.post(
            f"/sandbox/patient/form-responses/{prepared['response']['id']}/submit", json={}
        )
        assert submitted.status_code == 200, submitted.text
        await story.until(
            lambda: "onboarding" in journeys_of(story, enduser_id), "enrollment by trigger"
        )
        (welcome,) = await story.until(
            lambda: story.records("sms-messages", enduserId=enduser_id), "welcome SMS"
        )
        assert welcome["message"].startswith("Welcome to Riverside, Sam!")
        # the firing carried the submitted sign-up form into the journey as its context
        (row,) = api.ledger.list(enduser_id=enduser_id, step_id="welcome-sms")
        assert row.journey_context == {"formResponseId": prepared["response"]["id"]}

        # 2. The intake form goes out (in office hours); the patient submits it in the sandbox.
        (intake,) = await story.until(
            lambda: story.records("form-responses", enduserId=enduser_id, formId=INTAKE_FORM),
            "intake form sent",
            step=timedelta(minutes=30),
        )
        story.sandbox.post(f"/sandbox/patient/form-responses/{intake['id']}/submit", json={})
        await story.until(
            lambda: (
                story.enduser(enduser_id)["journeys"].get(journey_ids["onboarding"])
                == "Intake complete"
            ),
            "onboarding state Intake complete",
        )
        await story.until(lambda: story.records("tickets", enduserId=enduser_id), "review ticket")

        # 3. Tagged diabetic: the Tag Added trigger starts the care plan journey, which waits
        #    for the lab; the Field Equals trigger (journey-scoped Move To Step) releases it.
        story.sandbox.patch(f"/v1/enduser/{enduser_id}", json={"updates": {"tags": ["diabetes"]}})
        await story.until(
            lambda: (
                story.enduser(enduser_id)["journeys"].get(journey_ids["care-plan"])
                == "Waiting for labs"
            ),
            "care plan started by Tag Added",
        )
        story.sandbox.patch(
            f"/v1/enduser/{enduser_id}", json={"updates": {"fields": {"labStatus": "Received"}}}
        )
        (plan,) = await story.until(
            lambda: story.records("care-plans", enduserId=enduser_id), "care plan"
        )
        review = await story.until(
            lambda: [
                t
                for t in story.records("tickets", enduserId=enduser_id)
                if t["title"].startswith("Review labs")
            ],
            "care plan review ticket",
        )
        # 4. The care team closes the review with "Plan agreed" (a ticket webhook).
        story.sandbox.post(
            "/v1/tickets/close",
            json={"ticketId": review[0]["id"], "closedForReason": "Plan agreed"},
        )
        await story.until(
            lambda: (
                story.enduser(enduser_id)["journeys"].get(journey_ids["care-plan"])
                == "Care plan complete"
            ),
            "care plan complete",
        )
        assert story.records("care-plans", enduserId=enduser_id)[0].get("completedAt")
    finally:
        story.stop_listening()

    # The Tellescope-compatible listings agree with each other and with the story.
    listed = story.engine.get(
        "/v1/automated-actions",
        params={"filter": json.dumps({"enduserId": enduser_id}), "limit": 100},
    ).json()
    by_step: dict[tuple[str, str], list[str]] = {}
    names = story.engine.get("/v1/journeys/statistics", params={"journeyId": "onboarding"}).json()[
        "statistics"
    ]["stepNames"]
    for action in listed:
        by_step.setdefault(
            (
                action["journeyId"],
                names.get(action["automationStepId"], action["automationStepId"]),
            ),
            [],
        ).append(action["status"])
    onboarding = {
        step: sorted(s)
        for (journey, step), s in by_step.items()
        if journey == journey_ids["onboarding"]
    }
    assert onboarding == {
        "welcome-sms": ["finished"],
        "send-intake": ["finished"],
        "mark-intake-sent": ["finished"],
        "intake-reminder": ["cancelled"],
        "intake-complete": ["finished"],
        "record-intake-date": ["finished"],
        "review-ticket": ["finished"],
    }
    cancelled = next(a for a in listed if a["status"] == "cancelled")
    assert cancelled["cancelReason"] == 2
    for journey in ("onboarding", "care-plan"):
        statistics = story.engine.get(
            "/v1/journeys/statistics", params={"journeyId": journey}
        ).json()["statistics"]
        everyone = story.engine.get(
            "/v1/automated-actions",
            params={"filter": json.dumps({"journeyId": journey_ids[journey]}), "limit": 1000},
        ).json()
        for step_record_id, counts in statistics["steps"].items():
            rows = [a for a in everyone if a["automationStepId"] == step_record_id]
            assert counts["count"] == len(rows), statistics["stepNames"][step_record_id]
            for status in ("active", "finished", "cancelled", "error"):
                assert counts.get(f"{status}Count", 0) == sum(
                    1 for a in rows if a["status"] == status
                )
