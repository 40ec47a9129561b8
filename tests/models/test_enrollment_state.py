"""The workflow's durable state (models.enrollment.EnrollmentState) loads the continue-as-new
input that runs of earlier engine versions wrote, and writes the same JSON shape back."""

from __future__ import annotations

import copy

from models.enrollment import ActionState, CancelOn, EnrollmentState
from models.runtime import EnrollmentInput

# What `JourneyWorkflow._snapshot()` wrote into `EnrollmentInput.resume` before the state was one
# model (EnrollmentResume(...).model_dump(mode="json")).
OLD_RESUME = {
    "state": "Onboarding",
    "actions": [
        {
            "id": "0000000000000000000000b2",
            "stepId": "intake-reminder",
            "eventIndex": 0,
            "createdAt": 1_780_000_000_000,
            "processAfter": 1_780_086_400_000,
            "scheduled": True,
            "parked": False,
            "didDelayForOutOfOffice": False,
            "journeyContext": {"formResponseId": "fr-1"},
            "cancelConditions": [{"type": "formResponse", "stepId": "send-intake"}],
            "inheritable": [{"type": "formResponse", "stepId": "send-intake"}],
            "abTestLabel": None,
        },
        {
            "id": "0000000000000000000000a1",
            "stepId": "wait-labs",
            "eventIndex": 1,
            "createdAt": 1_780_000_000_000,
            "processAfter": None,
            "scheduled": True,
            "parked": True,
            "didDelayForOutOfOffice": False,
            "journeyContext": {},
            "cancelConditions": [],
            "inheritable": [],
            "abTestLabel": "B",
        },
    ],
    "forms": {"send-intake": {"formResponseIds": ["fr-1", "fr-2"], "submitted": ["fr-1"]}},
    "submissions": {"send-intake": ["fr-1"]},
    "tickets": {"t-1": "create-ticket"},
    "closedTickets": {
        "t-9": {"ticketId": "t-9", "automationStepId": None, "closedForReason": "No answer"}
    },
    "history": [
        {
            "at": "2026-06-01T12:00:00+00:00",
            "actionId": "0000000000000000000000c3",
            "stepId": "send-intake",
            "status": "finished",
            "detail": "form sent",
        }
    ],
    "closedTicketIds": ["t-1", "t-2"],
    "awaitingOutcome": ["call-patient"],
    "counts": {"finished": 3, "cancelled": 1, "error": 0},
    "failedSteps": ["notify-lab-system", "send-sms"],
}


def test_old_continue_as_new_input_loads_into_the_state_model():
    state = EnrollmentState.model_validate(copy.deepcopy(OLD_RESUME))
    assert state.state == "Onboarding"
    assert list(state.actions) == ["0000000000000000000000b2", "0000000000000000000000a1"]
    reminder = state.actions["0000000000000000000000b2"]
    assert isinstance(reminder, ActionState) and reminder.processAfter == 1_780_086_400_000
    assert reminder.cancelConditions == [CancelOn(type="formResponse", stepId="send-intake")]
    assert state.forms["send-intake"].unsubmitted_count == 1
    assert state.closedTickets["t-9"].closedForReason == "No answer"
    assert state.closedTicketIds == {"t-1", "t-2"}
    assert state.failedSteps == {"notify-lab-system", "send-sms"}
    assert state.counts == {"finished": 3, "cancelled": 1, "error": 0}


def test_the_state_writes_the_same_json_shape_back():
    state = EnrollmentState.model_validate(copy.deepcopy(OLD_RESUME))
    assert state.model_dump(mode="json") == OLD_RESUME


def test_the_oldest_resume_without_later_fields_loads():
    """closedTicketIds, awaitingOutcome, counts and failedSteps were added later (defaults)."""
    oldest = {
        k: v
        for k, v in OLD_RESUME.items()
        if k not in ("closedTicketIds", "awaitingOutcome", "counts", "failedSteps")
    }
    state = EnrollmentState.model_validate(oldest)
    assert state.counts == {"finished": 0, "cancelled": 0, "error": 0}
    assert state.closedTicketIds == set() and state.awaitingOutcome == []
    partial = EnrollmentState.model_validate({**oldest, "counts": {"finished": 2}})
    assert partial.counts == {"finished": 2, "cancelled": 0, "error": 0}


def test_the_enrollment_input_carries_the_state_through_json():
    inp = EnrollmentInput(
        journeyId="onboarding",
        planVersion="v1",
        enduserId="e1",
        tellescopeJourneyId="0" * 24,
        resume=copy.deepcopy(OLD_RESUME),
    )
    again = EnrollmentInput.model_validate_json(inp.model_dump_json())
    assert again.resume is not None
    assert EnrollmentState.model_validate(again.resume).model_dump(mode="json") == OLD_RESUME
