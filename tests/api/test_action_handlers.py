"""AI and telephony actions through their handlers, end to end (docs/handlers.md): a real worker
with the sandbox handler (activities/sandbox_handler.py) on the time-skipping server, the sandbox
over HTTP recording the calls, and the API served on a real port so the sandbox delivers the
outcome a test chooses to `POST /v1/step-outcomes`, as a telephony provider would."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from activities.action_handlers import load_handlers
from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.sandbox_handler import REFERENCE
from activities.tellescope_activities import TellescopeActivities
from tests.api.conftest import Harness, LiveServer, harness, serve, trigger_activities
from tests.temporal_env import start_time_skipping
from worker import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env():
    """A time-skipping server of this module's own. On the session's shared server, the tests
    after this module found time skipping stuck (their `env.sleep` timed out after 30 s; seen in
    CI and reproduced with test_adhoc_actions.py after the aiDecision and callUser tests; the
    exact cause on the server is not pinned down), so it stays apart, as tests/workflows and
    tests/e2e do (tests/conftest.py)."""
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


# Handlers for two types only: callUser stays unconfigured (docs/decisions.md D12).
CONFIGURED = {"aiDecision": REFERENCE, "outboundCall": REFERENCE, "startAIConversation": REFERENCE}


def journeys(suffix: str) -> dict[str, str]:
    return {
        f"triage-{suffix}.yaml": textwrap.dedent(
            f"""
            journey: {{id: triage-{suffix}, title: Triage {suffix}}}
            steps:
              - id: triage
                events: [{{type: onJourneyStart, info: {{}}}}]
                action: {{type: aiDecision, info: {{outcomes: [routine, urgent], prompt: Urgent?}}}}
              - id: urgent
                events: [{{type: onAIDecision, info: {{automationStepId: triage, outcomes: [urgent]}}}}]
                action: {{type: setEnduserStatus, info: {{status: Urgent}}}}
              - id: routine
                events: [{{type: onAIDecision, info: {{automationStepId: triage, outcomes: [routine]}}}}]
                action: {{type: setEnduserStatus, info: {{status: Routine}}}}
            """
        ).lstrip(),
        f"calls-{suffix}.yaml": textwrap.dedent(
            f"""
            journey: {{id: calls-{suffix}, title: Calls {suffix}}}
            steps:
              - id: call
                events: [{{type: onJourneyStart, info: {{}}}}]
                action: {{type: outboundCall, info: {{treeId: tree-1}}}}
              - id: reached
                events: [{{type: onCallOutcome, info: {{automationStepId: call, outcome: Reached}}}}]
                action: {{type: setEnduserStatus, info: {{status: Reached}}}}
              - id: voicemail
                events: [{{type: onCallOutcome, info: {{automationStepId: call, outcome: Voicemail}}}}]
                action: {{type: setEnduserStatus, info: {{status: Voicemail}}}}
            """
        ).lstrip(),
        f"chat-{suffix}.yaml": textwrap.dedent(
            f"""
            journey: {{id: chat-{suffix}, title: Chat {suffix}}}
            steps:
              - id: chat
                events: [{{type: onJourneyStart, info: {{}}}}]
                action:
                  type: startAIConversation
                  info: {{channel: SMS, senderId: u1, initialMessage: Shall we book a visit?}}
              - id: booked
                events: [{{type: onAIConversationOutcome, info: {{automationStepId: chat, outcome: Booked}}}}]
                action: {{type: setEnduserStatus, info: {{status: Booked}}}}
            """
        ).lstrip(),
        f"ring-{suffix}.yaml": textwrap.dedent(
            f"""
            journey: {{id: ring-{suffix}, title: Ring {suffix}}}
            steps:
              - id: ring
                events: [{{type: onJourneyStart, info: {{}}}}]
                action: {{type: callUser, info: {{message: Call the patient, routeBy: Match Users}}}}
              - id: fallback
                events: [{{type: onError, info: {{automationStepId: ring}}}}]
                action: {{type: setEnduserStatus, info: {{status: Call failed}}}}
            """
        ).lstrip(),
    }


@dataclass
class Handled:
    h: Harness
    live: LiveServer
    suffix: str

    def journey(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    async def enroll(self, name: str) -> str:
        enduser_id = self.h.new_enduser()
        response = await self.h.http.post(
            f"/v1/journeys/{self.journey(name)}/enrollments", json={"enduserIds": [enduser_id]}
        )
        assert response.status_code == 200, response.text
        return enduser_id

    def recorded(self, enduser_id: str) -> list[dict]:
        response = self.h.sandbox_http.get(
            "/sandbox/handler-actions", params={"enduserId": enduser_id}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def state(self, enduser_id: str, name: str, expected: str) -> None:
        async def reached() -> bool:
            return await self.h.journey_state(enduser_id, self.journey(name)) == expected

        await self.h.wait_for(reached, f"journey state {expected}")


@asynccontextmanager
async def handled_worker(h: Harness) -> AsyncIterator[None]:
    """The worker as worker.py builds it, with the handlers loaded from the setting."""
    acts = TellescopeActivities(h.tellescope, handlers=load_handlers(CONFIGURED))
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(
            h.client,
            task_queue=h.task_queue,
            workflows=WORKFLOWS,
            activities=[
                *acts.all(),
                *engine_activities(
                    h.client, h.plans, h.ledger, h.task_queue, join_journey=acts.set_journey_state
                ),
                *trigger_activities(h),
            ],
            activity_executor=executor,
            # the first step's activity carries the journey's join (docs/decisions.md D41)
            interceptors=[JoinFirst(h.ledger, acts.write_membership)],
            workflow_runner=workflow_runner(),  # workflow modules passed through (D33)
            workflow_failure_exception_types=[Exception],
        ):
            yield


@pytest_asyncio.fixture(loop_scope="session")
async def handled(env, tellescope, sandbox, sandbox_http, tmp_path, monkeypatch):
    # The sandbox handler finds the sandbox where the engine finds Tellescope.
    monkeypatch.setenv("TELLESCOPE_BASE_URL", sandbox.base_url)
    async with harness(env.client, tellescope, sandbox_http, tmp_path) as h:
        suffix = uuid.uuid4().hex[:6]
        await h.deploy(journeys(suffix))
        with serve(h, env.client.service_client.config.target_host, sandbox) as live:
            configured = sandbox_http.put(
                "/sandbox/handler-actions/delivery",
                json={"url": f"{live.url}/v1/step-outcomes", "apiKey": h.key},
            )
            assert configured.status_code == 200, configured.text
            async with handled_worker(h):
                yield Handled(h, live, suffix)
    sandbox_http.delete("/sandbox/faults")


async def test_ai_decision_runs_the_branch_of_the_handlers_outcome(handled):
    handled.h.sandbox_http.put("/sandbox/ai-decisions", json={"byStep": {"triage": "urgent"}})
    enduser_id = await handled.enroll("triage")
    await handled.state(enduser_id, "triage", "Urgent")
    [decision] = handled.recorded(enduser_id)
    assert (decision["actionType"], decision["status"], decision["outcome"]) == (
        "aiDecision",
        "decided",
        "urgent",
    )
    assert decision["info"]["outcomes"] == ["routine", "urgent"]
    await handled.h.wait_for(
        lambda: (
            sorted(
                (r.automation_step_id, r.status)
                for r in handled.h.ledger.list(enduser_id=enduser_id)
            )
            == [("triage", "finished"), ("urgent", "finished")]
        ),
        "the urgent branch only",
    )


async def test_call_outcome_chosen_in_the_sandbox_runs_its_branch(handled):
    enduser_id = await handled.enroll("calls")
    [call] = await handled.h.wait_for(lambda: handled.recorded(enduser_id), "the call")
    assert (call["actionType"], call["status"], call["info"]) == (
        "outboundCall",
        "started",
        {"treeId": "tree-1"},
    )
    [row] = await handled.h.wait_for(
        lambda: handled.h.ledger.list(enduser_id=enduser_id, status="finished"), "the call step"
    )
    assert (row.id, row.automation_step_id) == (call["automatedActionId"], "call")

    chosen = handled.h.sandbox_http.post(
        f"/sandbox/handler-actions/{call['id']}/outcome", json={"outcome": "Voicemail"}
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["status"] == "completed"
    await handled.state(enduser_id, "calls", "Voicemail")
    steps = sorted(r.automation_step_id for r in handled.h.ledger.list(enduser_id=enduser_id))
    assert steps == ["call", "voicemail"]


async def test_ai_conversation_outcome_runs_its_branch(handled):
    enduser_id = await handled.enroll("chat")
    [chat] = await handled.h.wait_for(lambda: handled.recorded(enduser_id), "the conversation")
    assert (chat["actionType"], chat["status"]) == ("startAIConversation", "started")
    chosen = handled.h.sandbox_http.post(
        f"/sandbox/handler-actions/{chat['id']}/outcome", json={"outcome": "Booked"}
    )
    assert chosen.status_code == 200, chosen.text
    await handled.state(enduser_id, "chat", "Booked")


async def test_a_retried_call_is_placed_once(handled):
    """The sandbox records the call and answers 500 (the answer lost): the activity is retried
    with the same idempotency key and gets the first call back."""
    faults = handled.h.sandbox_http.put(
        "/sandbox/faults",
        json={
            "rate": 1.0,
            "kinds": ["accept_then_500"],
            "paths": ["/sandbox/handler-actions"],
            "methods": ["POST"],
            "count": 1,
        },
    )
    assert faults.status_code == 200, faults.text
    enduser_id = await handled.enroll("calls")

    def finished():
        rows = handled.h.ledger.list(enduser_id=enduser_id, step_id="call", status="finished")
        return rows

    [row] = await handled.h.wait_for(finished, "the call step finished", timeout=30)
    recent = handled.h.sandbox_http.get("/sandbox/faults").json()["recent"]
    assert {"kind": "accept_then_500", "path": "/sandbox/handler-actions"} in [
        {"kind": r["kind"], "path": r["path"]} for r in recent
    ]
    [call] = handled.recorded(enduser_id)  # one call, though the handler ran twice
    assert row.detail.endswith("(reused)")
    assert call["automatedActionId"] == row.id


async def test_unconfigured_action_fails_clearly_and_runs_on_error(handled):
    enduser_id = await handled.enroll("ring")
    await handled.state(enduser_id, "ring", "Call failed")
    [ring] = handled.h.ledger.list(enduser_id=enduser_id, step_id="ring")
    assert ring.status == "error"
    assert ring.error_message.startswith('AI/telephony action "callUser" is not configured')
    assert handled.recorded(enduser_id) == []


async def test_outcome_endpoint_errors_change_nothing(handled):
    http = handled.h.http
    enduser_id = await handled.enroll("calls")
    await handled.h.wait_for(lambda: handled.recorded(enduser_id), "the call")
    journey = handled.journey("calls")

    missing = await http.post(
        "/v1/step-outcomes", json={"journeyId": journey, "enduserId": enduser_id, "stepId": "call"}
    )
    assert missing.status_code == 422, missing.text
    assert missing.json()["info"]["path"] == "outcome"

    both = await http.post(
        "/v1/step-outcomes",
        json={
            "journeyId": journey,
            "enduserId": enduser_id,
            "stepId": "call",
            "automatedActionId": "x",
            "outcome": "Reached",
        },
    )
    assert both.status_code == 422, both.text
    assert both.json()["info"]["path"] == "automatedActionId"

    no_step = await http.post(
        "/v1/step-outcomes",
        json={"journeyId": journey, "enduserId": enduser_id, "stepId": "nope", "outcome": "x"},
    )
    assert no_step.status_code == 422, no_step.text
    assert no_step.json()["info"]["path"] == "stepId"

    stranger = handled.h.new_enduser()
    for body, path in [
        ({"journeyId": journey, "enduserId": stranger, "stepId": "call"}, None),
        (
            {"journeyId": journey, "enduserId": stranger, "automatedActionId": "a1"},
            "automatedActionId",
        ),
        ({"journeyId": "no-such-journey", "enduserId": enduser_id, "stepId": "call"}, "journeyId"),
    ]:
        answer = await http.post("/v1/step-outcomes", json={**body, "outcome": "Reached"})
        assert answer.status_code == 404, answer.text
        if path == "automatedActionId":
            assert answer.json()["info"]["path"] == path

    # oversized input: a field past its bound (docs/limits.md) is a 422 naming it, a body past
    # API_MAX_BODY_BYTES a 413; neither is delivered
    long_outcome = await http.post(
        "/v1/step-outcomes",
        json={
            "journeyId": journey,
            "enduserId": enduser_id,
            "stepId": "call",
            "outcome": "x" * 201,
        },
    )
    assert long_outcome.status_code == 422, long_outcome.text
    assert long_outcome.json()["info"]["path"] == "outcome"
    huge = await http.post(
        "/v1/step-outcomes",
        content=b'{"outcome": "' + b"x" * (3 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413, huge.text

    # still waiting for its outcome: the errors delivered nothing
    assert sorted(r.automation_step_id for r in handled.h.ledger.list(enduser_id=enduser_id)) == [
        "call"
    ]
    # by step id, with an Idempotency-Key: the retry is replayed, not signalled again
    body = {"journeyId": journey, "enduserId": enduser_id, "stepId": "call", "outcome": "Reached"}
    headers = {"Idempotency-Key": f"outcome-{enduser_id}"}
    first = await http.post("/v1/step-outcomes", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["stepId"] == "call"
    again = await http.post("/v1/step-outcomes", json=body, headers=headers)
    assert again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    await handled.state(enduser_id, "calls", "Reached")
