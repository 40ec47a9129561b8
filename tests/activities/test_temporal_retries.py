"""The activities under a real Temporal worker (time-skipping test server, pydantic converter):
Temporal retries a failed attempt by itself, the retry reuses what Tellescope had accepted, and a
rejection is not retried at all."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from models.runtime import TELLESCOPE_REJECTED
from tests.activities.conftest import ADMIN_USER_ID, find
from tests.activities.perform_workflow import PerformAction
from tests.temporal_env import start_time_skipping


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal():
    env = await start_time_skipping()
    yield env
    await env.shutdown()


async def perform(temporal, acts, request):
    task_queue = f"activities-{uuid.uuid4().hex}"
    # Unsandboxed: the workflow sandbox re-imports workflow modules by name, and `tests` is not
    # an installed package. The workflow under test here is trivial; the activities are real.
    async with Worker(
        temporal.client,
        task_queue=task_queue,
        workflows=[PerformAction],
        activities=acts.all(),
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return await temporal.client.execute_workflow(
            PerformAction.run, request, id=f"perform-{uuid.uuid4().hex}", task_queue=task_queue
        )


def sms(template_id: str) -> dict:
    return {"type": "sendSMS", "info": {"senderId": ADMIN_USER_ID, "templateId": template_id}}


async def test_temporal_retries_and_the_retry_reuses_the_accepted_sms(
    temporal, acts, api, request_for, enduser, make_template, faults
) -> None:
    template = make_template("Through Temporal, {{enduser.fname}}")
    faults(kinds=["accept_then_500"], paths=["/v1/sms-message"], count=1)
    outcome = await perform(temporal, acts, request_for(sms(template["id"]), enduser))
    [message] = find(api, "sms-messages", enduserId=enduser["id"])
    assert message["message"] == "Through Temporal, Pat"
    assert outcome.reused and outcome.recordIds == [message["id"]]


async def test_a_rejection_fails_the_first_attempt_for_good(
    temporal, acts, api, request_for, make_enduser, make_template
) -> None:
    enduser = make_enduser(phoneConsent=False)
    template = make_template("Never sent")
    with pytest.raises(WorkflowFailureError) as raised:
        await perform(temporal, acts, request_for(sms(template["id"]), enduser))
    activity_error = raised.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state == RetryState.NON_RETRYABLE_FAILURE
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == TELLESCOPE_REJECTED and cause.message == "Missing phone consent"
    assert find(api, "sms-messages", enduserId=enduser["id"]) == []
