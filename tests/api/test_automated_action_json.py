"""Ledger rows as Tellescope's AutomatedAction JSON (services/automated_actions.to_tellescope):
the fields Tellescope's ledger has beyond the basics (docs/semantics.md §6.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.automated_actions import to_tellescope
from store.tables import AutomatedActionRow

NOW = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)


def row(**fields) -> AutomatedActionRow:
    base = {
        "id": "64f0000000000000000000a1",
        "enduser_id": "64f0000000000000000000e1",
        "journey_id": "j",
        "journey_version": "v1",
        "tellescope_journey_id": "64f0000000000000000000b1",
        "automation_step_id": "reminder",
        "tellescope_step_id": "64f0000000000000000000c1",
        "workflow_id": "journey:j:e",
        "event": {"type": "formsUnsubmitted", "info": {}},
        "action": {"type": "sendSMS", "info": {}},
        "status": "active",
        "process_after": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return AutomatedActionRow(**{**base, **fields})


def test_unsubmitted_form_count_rides_on_the_forms_cancel_condition():
    record = to_tellescope(
        row(
            cancel_conditions=[{"type": "formResponses", "stepId": "send-forms"}],
            unsubmitted_form_count=1,
        ),
        {},
    )
    [condition] = record["cancelConditions"]
    assert condition["type"] == "formResponses"
    assert condition["info"]["unsubmittedFormCount"] == 1


def test_is_nop_skip_reason_and_the_related_contact_are_shown():
    record = to_tellescope(
        row(
            status="finished",
            is_nop=True,
            skipped="conditions",
            acting_enduser_id="64f0000000000000000000e2",
        ),
        {},
    )
    assert record["isNOP"] is True
    assert record["skipped"] == "conditions"
    assert record["enduserId"] == "64f0000000000000000000e2"


def test_plain_rows_carry_none_of_them():
    record = to_tellescope(row(), {})
    assert {"isNOP", "skipped", "cancelConditions"}.isdisjoint(record)
    assert record["enduserId"] == "64f0000000000000000000e1"
