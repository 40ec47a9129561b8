"""Trigger decisions are stored by the evaluation path (docs/operator-view.md §2): real webhooks
from the sandbox through the real intake, firings on the time-skipping server, the store on
SQLite (tests/store/test_trigger_decisions.py runs the store on PostgreSQL too)."""

from __future__ import annotations

import pytest

from tests.triggers.test_firing import deliver, started

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = """
journey: {id: decided, title: Decided}
steps:
  - id: noop
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: x}}
triggers:
  - id: greet
    title: Greet everyone
    status: Active
    event: {type: Field Equals, info: {field: visit, value: $exists}}
    action: {type: Add Tags, info: {tags: [greeted]}}
  - id: californians
    title: Californians only
    status: Active
    event: {type: Field Equals, info: {field: visit, value: $exists}}
    enduserCondition: {$and: [{condition: {state: CA}}, {condition: {fname: Pat}}]}
    action: {type: Add Tags, info: {tags: [west]}}
  - id: paused
    title: Paused trigger
    status: Inactive
    event: {type: Field Equals, info: {field: visit, value: $exists}}
    action: {type: Add Tags, info: {tags: [never]}}
  - id: once
    title: Once only
    status: Active
    oncePerEnduser: true
    event: {type: Field Equals, info: {field: visit, value: $exists}}
    action: {type: Add Tags, info: {tags: [once]}}
"""


async def test_fired_and_not_fired_decisions_with_reasons_once_per_event(
    engine, api, hooks, make_enduser
):
    engine.deploy(JOURNEY)
    enduser = make_enduser(state="NY")
    async with engine.worker():
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fields": {"visit": 1}}})
        payloads = hooks.about(hooks.take(), enduser["id"])
        reports = await deliver(engine, payloads)
        firings = started(reports)
        assert sorted(f.split(":")[1] for f in firings) == ["greet", "once"]
        for firing in firings:
            await engine.result(firing)

        rows = engine.decisions.of_enduser(enduser["id"])
        by_trigger = {r.trigger_id: r for r in rows}
        assert set(by_trigger) == {"greet", "californians", "paused", "once"}
        assert all(r.event_type == "Field Equals" for r in rows)
        assert len({r.event_id for r in rows}) == 1
        greet = by_trigger["greet"]
        assert (greet.fired, greet.stage, greet.reason) == (True, None, "")
        assert greet.firing_workflow_id in firings
        west = by_trigger["californians"]
        assert (west.fired, west.stage) == (False, "enduserCondition")
        assert west.values_seen == {"state": "NY", "fname": "Pat"}  # what the condition saw
        assert west.firing_workflow_id is None
        paused = by_trigger["paused"]
        assert (paused.fired, paused.stage, paused.reason) == (
            False,
            "status",
            "trigger is Inactive",
        )

        # the same deliveries again (Tellescope redelivering): no decision is stored twice
        count = engine.decisions.count(enduser["id"])
        await deliver(engine, payloads)
        assert engine.decisions.count(enduser["id"]) == count

        # the next update is a new event: once-per-enduser says why it does not fire again
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fields": {"visit": 2}}})
        reports = await deliver(engine, hooks.about(hooks.take(), enduser["id"]))
        for firing in started(reports):
            await engine.result(firing)
    latest = [r for r in engine.decisions.of_enduser(enduser["id"]) if r.trigger_id == "once"]
    assert [(r.fired, r.stage) for r in latest] == [(True, None), (False, "oncePerEnduser")]
    assert latest[1].reason == "already fired for this enduser (oncePerEnduser)"
