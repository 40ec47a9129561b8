"""The `run_unconfigured` activity with handlers (docs/handlers.md §1): what a handler is given,
how its result becomes the step's outcome and its errors Temporal errors, and the sandbox
handler against a live sandbox (one record per idempotency key)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.action_handlers import (
    HANDLER_REJECTED,
    HANDLER_UNAVAILABLE,
    ActionHandlers,
    HandlerError,
    HandlerRequest,
    decided,
    done,
    started,
)
from activities.sandbox_handler import handle
from activities.tellescope_activities import TellescopeActivities
from tellescope.idempotency import action_key

pytestmark = pytest.mark.asyncio(loop_scope="session")

DECIDE = {"type": "aiDecision", "info": {"outcomes": ["routine", "urgent"], "prompt": "Urgent?"}}
CALL = {"type": "outboundCall", "info": {"treeId": "tree-1"}}
SUMMARY = {"type": "generateEnduserSummary", "info": {}}


def with_handler(client, action_type: str, result=None, error: Exception | None = None):
    seen: list[HandlerRequest] = []

    async def handler(request: HandlerRequest):
        seen.append(request)
        if error is not None:
            raise error
        return result

    acts = TellescopeActivities(client, handlers=ActionHandlers({action_type: handler}))
    return acts, seen


async def test_results_become_the_steps_outcome(env, client, request_for, enduser):
    acts, seen = with_handler(client, "aiDecision", decided("urgent"))
    request = request_for(DECIDE, enduser)
    outcome = await env.run(acts.run_unconfigured, request)
    assert (outcome.outcome, outcome.detail) == ("urgent", "decided urgent")
    [given] = seen
    assert given.actionType == "aiDecision"
    assert given.info == {"outcomes": ["routine", "urgent"], "prompt": "Urgent?"}
    assert given.enduserId == enduser["id"]
    assert given.stepId == "test-step"
    assert given.automationStepId == request.automationStepId
    assert given.automatedActionId == request.automatedActionId
    assert given.idempotencyKey == action_key(request.automatedActionId)
    assert given.attempt == 1

    acts, _ = with_handler(client, "outboundCall", started("call-7", "dialled"))
    outcome = await env.run(acts.run_unconfigured, request_for(CALL, enduser))
    assert (outcome.recordIds, outcome.detail, outcome.outcome) == (["call-7"], "dialled", None)

    acts, _ = with_handler(client, "generateEnduserSummary", done())
    outcome = await env.run(acts.run_unconfigured, request_for(SUMMARY, enduser))
    assert (outcome.detail, outcome.outcome) == ("generateEnduserSummary done", None)


@pytest.mark.parametrize(
    ("action", "result", "message"),
    [
        (DECIDE, started("x"), "the aiDecision handler returned started, not decided()"),
        (CALL, decided("Reached"), "the outboundCall handler returned decided(): only aiDecision"),
        (CALL, None, "the outboundCall handler returned NoneType"),
    ],
    ids=["decision-not-decided", "call-decided", "not-a-result"],
)
async def test_a_wrong_result_fails_the_step(
    env, client, request_for, enduser, action, result, message
):
    acts, _ = with_handler(client, action["type"], result)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, request_for(action, enduser))
    assert raised.value.type == HANDLER_REJECTED and raised.value.non_retryable
    assert raised.value.message.startswith(message)


async def test_handler_errors_map_like_tellescopes(env, client, request_for, enduser):
    refused = HandlerError("number not in service", retryable=False)
    acts, _ = with_handler(client, "outboundCall", error=refused)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, request_for(CALL, enduser))
    assert (raised.value.type, raised.value.non_retryable) == (HANDLER_REJECTED, True)
    assert raised.value.message == "number not in service"

    busy = HandlerError("provider busy", retryable=True, next_retry_delay=timedelta(seconds=30))
    acts, _ = with_handler(client, "outboundCall", error=busy)
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, request_for(CALL, enduser))
    assert (raised.value.type, raised.value.non_retryable) == (HANDLER_UNAVAILABLE, False)
    assert raised.value.next_retry_delay == timedelta(seconds=30)

    # a type without a handler is still "not configured", whatever the others have
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, request_for(DECIDE, enduser))
    assert raised.value.type == "NotConfigured"


async def test_the_sandbox_handler_places_one_call_per_key(
    env, client, server, helpers, request_for, enduser, monkeypatch
):
    monkeypatch.setenv("TELLESCOPE_BASE_URL", server.base_url)
    acts = TellescopeActivities(client, handlers=ActionHandlers({"outboundCall": handle}))
    request = request_for(CALL, enduser)
    first = await env.run(acts.run_unconfigured, request)
    again = await env.run(acts.run_unconfigured, request)  # a retry: same AutomatedAction
    [call] = helpers.get("/sandbox/handler-actions", params={"enduserId": enduser["id"]}).json()
    assert first.recordIds == again.recordIds == [call["id"]]
    assert again.detail == f"outboundCall {call['id']} started (reused)"
    assert call["idempotencyKey"] == action_key(request.automatedActionId)

    # the stand-in provider's refusals: the step's error, not retried
    bad = request_for({"type": "aiDecision", "info": {"outcomes": []}}, enduser)
    acts = TellescopeActivities(client, handlers=ActionHandlers({"aiDecision": handle}))
    with pytest.raises(ApplicationError) as raised:
        await env.run(acts.run_unconfigured, bad)
    assert (raised.value.type, raised.value.non_retryable) == (HANDLER_REJECTED, True)
    assert "aiDecision needs at least one outcome" in raised.value.message


async def test_sandbox_outcomes_refuse_what_they_cannot_deliver(helpers, enduser):
    body = {
        "idempotencyKey": f"k-{enduser['id']}",
        "actionType": "aiDecision",
        "info": {"outcomes": ["a"]},
        "enduserId": enduser["id"],
        "automatedActionId": "aa-1",
    }
    missing = helpers.post("/sandbox/handler-actions", json={**body, "enduserId": ""})
    assert (missing.status_code, missing.json()["message"]) == (
        400,
        "Value not provided for required field: enduserId",
    )
    decision = helpers.post("/sandbox/handler-actions", json=body).json()
    assert (decision["status"], decision["outcome"]) == ("decided", "a")
    late = helpers.post(f"/sandbox/handler-actions/{decision['id']}/outcome", json={"outcome": "b"})
    assert late.status_code == 409
    unknown = helpers.post("/sandbox/handler-actions/nope/outcome", json={"outcome": "b"})
    assert unknown.status_code == 404
