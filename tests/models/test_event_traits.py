"""The per-event traits table (models.events.EVENT_TRAITS) agrees with the event models it
describes, so the compiler and the interpreter can branch on it instead of on type names."""

from __future__ import annotations

from typing import get_args

from models.events import (
    DELAY_EVENT_TYPES,
    EVENT_TRAITS,
    EVENT_TYPES,
    AutomationEvent,
    DelayInfo,
    Fires,
    fired_by,
)

EVENT_CLASSES = {
    cls.model_fields["type"].annotation.__args__[0]: cls
    for cls in get_args(get_args(AutomationEvent)[0])
}


def test_every_event_type_has_traits_and_a_model():
    assert set(EVENT_TRAITS) == set(EVENT_TYPES) == set(EVENT_CLASSES)


def test_delay_trait_matches_the_delay_block():
    for event_type, cls in EVENT_CLASSES.items():
        has_block = issubclass(cls.model_fields["info"].annotation, DelayInfo)
        assert EVENT_TRAITS[event_type].delay is has_block, event_type
    assert DELAY_EVENT_TYPES == ("afterAction", "formUnsubmitted", "formsUnsubmitted")


def test_traits_are_consistent():
    for event_type, traits in EVENT_TRAITS.items():
        if traits.office_hours or traits.inherits_cancel or traits.passes_cancel:
            assert traits.delay, event_type
        if traits.parks:
            assert traits.waits, event_type
        if traits.fires is Fires.FORMS_SENT:
            assert traits.cancelled_by is not None, event_type


def test_fired_by_keeps_the_engine_order():
    assert fired_by(Fires.FORMS_SENT) == ("formUnsubmitted", "formsUnsubmitted")
    assert fired_by(Fires.OUTCOME_SIGNAL) == ("onCallOutcome", "onAIConversationOutcome")
    assert fired_by(Fires.PARENT_FINISHED) == ("afterAction", "waitForTrigger")
    assert fired_by(Fires.JOURNEY_START) == ("onJourneyStart",)
    assert sorted(t for f in Fires for t in fired_by(f)) == sorted(EVENT_TYPES)
