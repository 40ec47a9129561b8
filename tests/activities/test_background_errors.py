"""A failed step leaves a BackgroundError in Tellescope (docs/semantics.md §4.4), once per failed
AutomatedAction however often the activity is retried."""

from __future__ import annotations

from models.runtime import BackgroundErrorRequest
from tests.activities.conftest import find, object_id


async def test_one_background_error_per_failed_action(env, acts, api, enduser, journey) -> None:
    request = BackgroundErrorRequest(
        automatedActionId=object_id(),
        enduserId=enduser["id"],
        journeyId=journey["id"],
        automationStepId=object_id(),
        stepName="send-intake",
        actionType="sendForm",
        message="form 64f000000000000000000000 does not exist",
    )
    first = await env.run(acts.record_background_error, request)
    again = await env.run(acts.record_background_error, request)  # a retry
    assert again == first
    other = request.model_copy(update={"automatedActionId": object_id()})
    assert await env.run(acts.record_background_error, other) != first
    records = find(api, "background-errors", enduserId=enduser["id"])
    assert len(records) == 2
    record = next(r for r in records if r["id"] == first)
    assert record["title"] == 'Journey step "send-intake" (sendForm) failed'
    assert record["message"].startswith("form 64f000000000000000000000 does not exist")
    assert record["journeyId"] == journey["id"]
    assert record["automationStepId"] == request.automationStepId
    assert record["enduserId"] == enduser["id"]
