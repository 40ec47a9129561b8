"""The workflow input as the Temporal UI shows it: the enrollment's fields and the context ids
given, without a `null` per unset field (models.base.OmitNoneInJson), read back unchanged; the
recorded histories, whose inputs carry every null, still replay (tests/histories)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter

from compiler import compile_paths
from models.automated_action import JourneyContext
from models.runtime import (
    ActionOutcome,
    ActionRequest,
    CarriedJoin,
    EnrollmentInput,
    JourneyStateUpdate,
    LedgerBatch,
    LedgerEntry,
)
from tests.workflows.conftest import input_carrying, write_journey

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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CORPUS = Path(__file__).resolve().parents[1] / "histories" / "journeys"


def step_request(step) -> ActionRequest:
    """The request of action a1 performing `step` for enduser e1 (Tellescope ids t1, s1)."""
    return ActionRequest(
        automatedActionId="a1",
        enduserId="e1",
        journeyId="t1",
        automationStepId="s1",
        stepName=step.id,
        action=step.action,
        now="2026-12-07T00:00:00+00:00",
    )


def _through_temporal(value, type_hint):
    """What the worker reads back of `value` sent as a Temporal payload."""
    converter = pydantic_data_converter.payload_converter
    (payload,) = converter.to_payloads([value])
    return payload, converter.from_payloads([payload], [type_hint])[0]


@pytest.mark.parametrize("folder", [EXAMPLES, CORPUS], ids=["examples", "corpus"])
async def test_plans_travel_as_their_given_fields_and_read_back_equal(folder):
    """The plan in the start event holds what the YAML gave (the form its version hashes), not
    a null per optional Tellescope field; the worker reads back the same plan, step actions
    included (docs/decisions.md D39)."""
    for plan in compile_paths([folder]).plans:
        inp = input_carrying(plan)
        payload, read = _through_temporal(inp, EnrollmentInput)
        assert read.plan == plan, plan.journeyId
        assert read.plan.model_dump(mode="json") == plan.model_dump(mode="json")
        sent = json.loads(payload.data)["plan"]
        assert sent == plan.model_dump(mode="json", exclude_unset=True, by_alias=True)
        full = plan.model_dump_json()
        assert len(payload.data) < 0.8 * len(full), (plan.journeyId, len(payload.data), len(full))
        for step in plan.steps.values():
            request = step_request(step)
            payload, read_request = _through_temporal(request, ActionRequest)
            assert read_request == request, (plan.journeyId, step.id)
            assert b"null" not in payload.data or "null" in json.dumps(
                step.action.model_dump(mode="json", exclude_unset=True)
            ), (plan.journeyId, step.id)


async def test_action_outcomes_omit_their_unset_results():
    outcome = ActionOutcome(recordIds=["r1"], detail="tags added")
    payload, read = _through_temporal(outcome, ActionOutcome)
    assert json.loads(payload.data) == {
        "recordIds": ["r1"],
        "formResponseIds": [],
        "reused": False,
        "detail": "tags added",
    }
    assert read == outcome
    # outcomes recorded before (every field, nulls included) still read
    old = {**outcome.model_dump(), "ticketId": None, "outcome": None, "skipped": None}
    assert ActionOutcome.model_validate_json(json.dumps(old)) == outcome


async def test_a_carried_join_travels_lean_and_reads_back_equal():
    """docs/decisions.md D41: the first step's request carries the join and its ledger rows; in
    the history they hold only what the request and the membership do not say (no null, no
    default, no repeated id), and JoinFirst gets back the rows the workflow queued."""
    plan = compile_paths([EXAMPLES]).plans[0]
    step = next(iter(plan.steps.values()))

    def entry(action_id: str, **extra) -> LedgerEntry:
        fields = {
            "id": action_id,
            "enduserId": "e1",
            "journeyId": plan.journeyId,
            "journeyVersion": plan.version,
            "tellescopeJourneyId": "t1",
            "automationStepId": step.id,
            "tellescopeStepId": "s1",
            "workflowId": "journey:j:e1",
            "event": {"type": "onJourneyStart", "info": {}},
            "action": step.action.to_json(),
            "status": "active",
            "processAfter": 1,
            "at": "2026-12-07T00:00:00+00:00",
        }
        return LedgerEntry(**{**fields, **extra})

    batch = LedgerBatch(
        entries=[entry("a1"), entry("a2", detail="a sibling", abTestLabel="B")],
        membership=JourneyStateUpdate(enduserId="e1", journeyId="t1", state=""),
    )
    request = step_request(step)
    carried = CarriedJoin.of(batch, request, "journey:j:e1")
    request = request.model_copy(update={"joinFirst": carried})
    payload, read = _through_temporal(request, ActionRequest)
    assert read == request
    assert read.joinFirst is not None
    assert read.joinFirst.batch(read, "journey:j:e1") == batch
    performing, sibling = json.loads(payload.data)["joinFirst"]["entries"]
    assert set(performing) == {
        "journeyId",
        "journeyVersion",
        "event",
        "status",
        "processAfter",
        "at",
    }
    assert sibling["id"] == "a2" and sibling["action"] == step.action.to_json()
    assert sibling["detail"] == "a sibling" and "enduserId" not in sibling
    assert None not in performing.values() and None not in sibling.values()
    # a value that differs from what would be restored travels as it is
    odd = LedgerBatch(entries=[entry("a1", enduserId="someone-else")], membership=batch.membership)
    assert CarriedJoin.of(odd, request, "journey:j:e1").batch(request, "journey:j:e1") == odd
