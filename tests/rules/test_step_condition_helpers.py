"""Helpers of step conditions: which filters need upcoming appointments, the deprecated
atJourneyState condition, and what counts as an upcoming appointment."""

from __future__ import annotations

from rules.conditions import journey_state_matches, upcoming_event_view, uses_upcoming_events


def test_uses_upcoming_events_walks_every_branch():
    leaf = {"condition": {"__upcomingEvents__": {"$gt": "0"}}}
    assert uses_upcoming_events(leaf)
    assert uses_upcoming_events({"$or": [{"condition": {"tags": "vip"}}, {"$and": [leaf]}]})
    assert not uses_upcoming_events({"condition": {"tags": "vip"}})
    assert not uses_upcoming_events(None)
    assert not uses_upcoming_events({"condition": {}})


def test_journey_state_matches_exactly():
    enduser = {"journeys": {"j1": "Active", "j2": ""}}
    assert journey_state_matches(enduser, "j1", "Active")
    assert not journey_state_matches(enduser, "j1", "active")
    assert journey_state_matches(enduser, "j2", "")
    assert not journey_state_matches(enduser, "j3", "")  # not in the journey at all
    assert not journey_state_matches({}, "j1", "Active")


def test_upcoming_event_view():
    now = 1_000_000
    assert upcoming_event_view({"id": "a", "startTimeInMS": now, "templateId": "t"}, now) == {
        "id": "a",
        "startTimeInMS": now,
        "templateId": "t",
    }
    assert upcoming_event_view({"id": "b", "startTimeInMS": now - 1}, now) is None
    assert (
        upcoming_event_view({"id": "c", "startTimeInMS": now + 1, "cancelledAt": "x"}, now) is None
    )
    assert upcoming_event_view({"id": "d"}, now) is None
