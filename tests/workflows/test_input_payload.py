"""The workflow input as the Temporal UI shows it: the enrollment's fields and the context ids
given, without a `null` per unset field (models.base.OmitNoneInJson), read back unchanged; the
recorded histories, whose inputs carry every null, still replay (tests/histories)."""

from __future__ import annotations

import json

import pytest

from models.automated_action import JourneyContext
from models.runtime import EnrollmentInput
from tests.workflows.conftest import write_journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = """
journey: {id: input-shape, title: Input shape}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [started]}}
"""


async def test_the_started_event_shows_only_the_fields_given(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, JOURNEY))
    async with runtime.worker():
        handle = await runtime.enroll(
            "input-shape", journeyContext=JourneyContext(formResponseId="6b0600000000000000000001")
        )
        await handle.result()
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (payload,) = started.input.payloads
    shown = json.loads(payload.data)
    assert shown["journeyContext"] == {"formResponseId": "6b0600000000000000000001"}
    assert None not in shown.values()
    assert not {"startAtStepId", "initialState", "resume"} & set(shown)
    # read back, the input is the one sent (every omitted field defaults to None)
    assert EnrollmentInput.model_validate(shown).journeyContext == JourneyContext(
        formResponseId="6b0600000000000000000001"
    )


async def test_old_inputs_with_nulls_still_read():
    old = {
        "journeyId": "onboarding",
        "planVersion": "57b476c493df",
        "enduserId": "e1",
        "tellescopeJourneyId": "t1",
        "journeyContext": dict.fromkeys(JourneyContext.model_fields),
        "startAtStepId": None,
        "initialState": None,
        "resume": None,
    }
    assert EnrollmentInput.model_validate(old).journeyContext == JourneyContext()
    # the workflow's own (python-mode) dumps keep every field: its state is unchanged
    assert JourneyContext().model_dump() == dict.fromkeys(JourneyContext.model_fields)
