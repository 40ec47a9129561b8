"""Trigger firings end to end on the time-skipping server: real webhooks from the sandbox go
through `process_webhook`, firings run as workflows with the real activities against the sandbox,
and JourneyWorkflow enrollments start, get signalled and get removed for real."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter
from temporalio.client import WorkflowFailureError

from models.automated_action import CancelReason, JourneyContext
from models.runtime import RemoveRequest, enrollment_workflow_id
from models.triggers import AutomationTriggerAction
from sandbox.seed import DR_RIVERA_ID, INTAKE_FORM, SIGN_UP_FORM
from tests.temporal_env import attempt_environment
from triggers.actions import TriggerActivities
from triggers.active import find_active
from triggers.dispatch import fire_trigger, start_firing
from triggers.intake import process_webhook
from triggers.models import (
    IntakeReport,
    TriggerActionRequest,
    trigger_action_id,
    trigger_record_id,
)
from workflows.journey import JourneyWorkflow

from .conftest import eventually, ok

pytestmark = pytest.mark.asyncio(loop_scope="session")

_ACTION = TypeAdapter(AutomationTriggerAction)


async def deliver(engine, payloads) -> list[IntakeReport]:
    return [await process_webhook(payload, engine.deps) for payload in payloads]


def started(reports: list[IntakeReport]) -> list[str]:
    return [f.workflowId for r in reports for d in r.dispatched for f in d.firings if f.started]


def decisions(reports: list[IntakeReport], trigger_id: str):
    return [
        decision
        for report in reports
        for dispatched in report.dispatched
        if dispatched.evaluation is not None
        for decision in dispatched.evaluation.decisions
        if decision.triggerId == trigger_id
    ]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# --- Add To Journey -----------------------------------------------------------------------------


async def test_form_submitted_adds_to_journey_with_the_form_as_context(
    engine, api, helpers, hooks, make_enduser
) -> None:
    journey = unique("welcome")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Welcome}}
        steps:
          - id: tag
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: addEnduserTags, info: {{tags: [welcomed]}}}}
          - id: remember-name
            events: [{{type: onJourneyStart, info: {{}}}}]
            action:
              type: setEnduserFields
              info: {{fields: [{{name: signupName, type: Custom Value, value: "{{{{form_response.fname}}}}"}}]}}
        triggers:
          - id: signup
            title: Enroll sign-ups
            status: Active
            event: {{type: Form Submitted, info: {{formId: {SIGN_UP_FORM}}}}}
            action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
        """
    )
    enduser = make_enduser()
    response = ok(
        api.post(
            "/v1/prepare-form-response", json={"formId": SIGN_UP_FORM, "enduserId": enduser["id"]}
        )
    )["response"]
    ok(
        helpers.post(
            f"/sandbox/patient/form-responses/{response['id']}/submit",
            json={"answers": {"fname": "Robin"}},
        )
    )
    payloads = hooks.about(hooks.take(), response["id"], "form_responses")
    async with engine.worker():
        reports = await deliver(engine, payloads)
        [firing_id] = started(reports)
        assert firing_id.startswith(f"trigger:signup:{enduser['id']}:form_responses:")
        result = await engine.result(firing_id)
        assert result.outcome == "fired" and result.actionType == "Add To Journey"
        enrollment = engine.client.get_workflow_handle_for(
            JourneyWorkflow.run, enrollment_workflow_id(journey, enduser["id"])
        )
        assert (await enrollment.result()).outcome == "completed"
        # the same webhook delivered again fires nothing
        assert started(await deliver(engine, payloads)) == []

    stored = engine.enduser(enduser["id"])
    assert stored["tags"] == ["welcomed"]
    assert stored["fields"]["signupName"] == "Robin"  # context = the submitted form response
    assert stored["journeys"] == {engine.journey_records[journey]: ""}  # state "", not default
    assert stored["triggerIds"] == [trigger_record_id("signup")]


async def test_do_not_restart_leaves_a_member_alone(engine, api, hooks, make_enduser) -> None:
    journey = unique("steady")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Steady}}
        steps:
          - id: count
            events: [{{type: onJourneyStart, info: {{}}}}]
            action:
              type: setEnduserFields
              info: {{fields: [{{name: starts, type: Increment Number, increment: 1}}]}}
        triggers:
          - id: re-add
            title: Re-add on tag
            status: Active
            event: {{type: Tag Added, info: {{tag: again}}}}
            action: {{type: Add To Journey, info: {{journeyId: {journey}, doNotRestart: true}}}}
        """
    )
    enduser = make_enduser()
    async with engine.worker():
        await (await engine.enroll(journey, enduser["id"])).result()
        hooks.start()
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"tags": ["again"]}})
        [firing_id] = started(await deliver(engine, hooks.about(hooks.take(), enduser["id"])))
        result = await engine.result(firing_id)
    assert "doNotRestart" in result.detail
    assert engine.enduser(enduser["id"])["fields"]["starts"] == 1


# --- Move To Step -------------------------------------------------------------------------------


async def test_move_to_step_releases_the_waiting_step_for_members_only(
    engine, api, hooks, make_enduser
) -> None:
    journey = unique("labs")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Labs}}
        steps:
          - id: started
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: Started}}}}
          - id: released
            events: [{{type: waitForTrigger, info: {{automationStepId: started, triggerId: labs-received}}}}]
            action: {{type: setEnduserStatus, info: {{status: Triggered}}}}
        triggers:
          - id: labs-received
            title: Labs received
            status: Active
            journeyId: {journey}
            event: {{type: Field Equals, info: {{field: labStatus, value: Received}}}}
            action: {{type: Move To Step, info: {{}}}}
        """
    )
    member, outsider = make_enduser(), make_enduser()
    record = engine.journey_records[journey]
    async with engine.worker():
        handle = await engine.enroll(journey, member["id"])
        await eventually(
            lambda: engine.enduser(member["id"]).get("journeys", {}).get(record) == "Started"
        )

        async def waiting_for() -> list[str]:
            return [p.waitingFor for p in (await handle.query(JourneyWorkflow.status)).pending]

        # The status write lands in Tellescope before the workflow sees the activity finish, so
        # the "started" step can still be pending for a moment: wait for the parked step.
        await eventually(lambda: _equals(waiting_for(), ["trigger labs-received"]))

        hooks.start()
        for enduser in (member, outsider):
            api.patch(
                f"/v1/enduser/{enduser['id']}",
                json={"updates": {"fields": {"labStatus": "Received"}}},
            )
        reports = await deliver(engine, hooks.take())
        [firing_id] = started(reports)
        assert firing_id.startswith(f"trigger:labs-received:{member['id']}:")
        result = await engine.result(firing_id)
        assert result.outcome == "fired"
        assert result.detail == f"signalled trigger_fired to journey:{journey}:{member['id']}"
        assert (await handle.result()).outcome == "completed"

    assert engine.enduser(member["id"])["journeys"][record] == "Triggered"
    skipped = [d for d in decisions(reports, "labs-received") if d.stage == "journey"]
    assert skipped and all(not d.fire for d in skipped)
    assert not engine.enduser(outsider["id"]).get("journeys")


# --- exactly once, retries, duplicates ----------------------------------------------------------


async def test_set_fields_and_add_tags_apply_once_despite_retries_and_redelivery(
    engine, api, helpers, hooks, make_enduser
) -> None:
    engine.deploy(
        """
        journey: {id: visits, title: Visits}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: Seen}}
        triggers:
          - id: count-visit
            title: Count visits
            status: Active
            event: {type: Field Equals, info: {field: visit, value: $exists}}
            action:
              type: Set Fields
              info:
                fields:
                  - {name: visits, type: Increment Number, increment: 1}
                  - {name: lastVisit, type: Custom Value, value: "{{enduser.fname}} seen"}
          - id: tag-visit
            title: Tag visitors
            status: Active
            event: {type: Field Equals, info: {field: visit, value: $exists}}
            action: {type: Add Tags, info: {tags: [visited]}}
        """
    )
    enduser = make_enduser()
    api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fields": {"visit": "yes"}}})
    payloads = hooks.about(hooks.take(), enduser["id"])
    # Tellescope commits the triggers' writes but the answers are lost: the activities retry.
    helpers.delete("/sandbox/faults")
    ok(
        helpers.put(
            "/sandbox/faults",
            json={
                "kinds": ["accept_then_500"],
                "paths": [f"/v1/enduser/{enduser['id']}"],
                "methods": ["PATCH"],
                "count": 3,
            },
        )
    )
    try:
        async with engine.worker():
            firing_ids = started(await deliver(engine, payloads))
            assert len(firing_ids) == 2
            results = [await engine.result(f) for f in firing_ids]
            assert [r.outcome for r in results] == ["fired", "fired"]
            assert ok(helpers.get("/sandbox/faults"))["injected"] == 3
            assert started(await deliver(engine, payloads)) == []  # redelivered: nothing new
    finally:
        helpers.delete("/sandbox/faults")
    stored = engine.enduser(enduser["id"])
    assert stored["fields"]["visits"] == 1
    assert stored["fields"]["lastVisit"] == "Pat seen"
    assert stored["tags"] == ["visited"]
    assert sorted(stored["triggerIds"]) == sorted(
        [trigger_record_id("count-visit"), trigger_record_id("tag-visit")]
    )


async def test_no_chaining_trigger_writes_fire_no_triggers(engine, api, hooks, make_enduser):
    engine.deploy(
        """
        journey: {id: chain, title: Chain}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
          - id: t1
            title: t1
            status: Active
            event: {type: Field Equals, info: {field: fname, value: Trigger}}
            action: {type: Add Tags, info: {tags: [t1]}}
          - id: t2
            title: t2 (would chain on t1's tag)
            status: Active
            event: {type: Tag Added, info: {tag: t1}}
            action: {type: Add Tags, info: {tags: [t2]}}
          - id: t3
            title: t3 (needs t1's tag)
            status: Active
            event: {type: Field Equals, info: {field: fname, value: $exists}}
            enduserCondition: {$and: [{condition: {tags: t1}}]}
            action: {type: Add Tags, info: {tags: [t3]}}
        """
    )
    async with engine.worker():
        enduser = make_enduser(fname="Trigger")
        reports = await deliver(engine, hooks.about(hooks.take(), enduser["id"]))
        [firing_id] = started(reports)
        assert firing_id.startswith("trigger:t1:")
        assert decisions(reports, "t3")[0].stage == "enduserCondition"
        await engine.result(firing_id)
        # the trigger's own update was not even delivered as a webhook
        after = hooks.about(hooks.take(), enduser["id"], "endusers")
        assert after == []
        assert engine.enduser(enduser["id"])["tags"] == ["t1"]

        # the next direct update is evaluated against the enduser as it now is
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fname": "Updated"}})
        reports = await deliver(engine, hooks.about(hooks.take(), enduser["id"]))
        [firing_id] = started(reports)
        assert firing_id.startswith("trigger:t3:")
        await engine.result(firing_id)
    assert engine.enduser(enduser["id"])["tags"] == ["t1", "t3"]


async def test_throttle_one_firing_per_minute(engine, env, api, hooks, make_enduser) -> None:
    engine.deploy(
        """
        journey: {id: pings, title: Pings}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
          - id: ping
            title: Count pings
            status: Active
            event: {type: Field Equals, info: {field: ping, value: $exists}}
            action:
              type: Set Fields
              info: {fields: [{name: pings, type: Increment Number, increment: 1}]}
        """
    )
    enduser = make_enduser()
    path = f"/v1/enduser/{enduser['id']}"
    ping = find_active(engine.plans, "ping")
    async with engine.worker():
        with env.auto_time_skipping_disabled():
            api.patch(path, json={"updates": {"fields": {"ping": 1}}})
            [first] = started(await deliver(engine, hooks.about(hooks.take(), enduser["id"])))
            assert (await engine.result(first)).outcome == "fired"

            # a second event within the minute: the dispatcher sees the gate ...
            api.patch(path, json={"updates": {"fields": {"ping": 2}}})
            reports = await deliver(engine, hooks.about(hooks.take(), enduser["id"]))
            assert started(reports) == []
            assert decisions(reports, "ping")[0].stage == "throttle"
            # ... and a firing started anyway (a race) is stopped by the gate itself
            racing = await start_firing(
                engine.deps,
                ping,
                enduser_id=enduser["id"],
                event_id="racing-event",
                event_type="Field Equals",
                journey_context=JourneyContext(),
                source="event",
            )
            assert racing.started
            assert (await engine.result(racing.workflowId)).outcome == "throttled"
        assert engine.enduser(enduser["id"])["fields"]["pings"] == 1

        await env.sleep(61)  # the gate expires after a minute
        api.patch(path, json={"updates": {"fields": {"ping": 3}}})
        [later] = started(await deliver(engine, hooks.about(hooks.take(), enduser["id"])))
        assert (await engine.result(later)).outcome == "fired"
    assert engine.enduser(enduser["id"])["fields"]["pings"] == 2


async def test_once_per_enduser(engine, api, hooks, make_enduser) -> None:
    engine.deploy(
        """
        journey: {id: once, title: Once}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
          - id: welcome-once
            title: Welcome once
            status: Active
            oncePerEnduser: true
            event: {type: Field Equals, info: {field: hello, value: $exists}}
            action:
              type: Set Fields
              info: {fields: [{name: hellos, type: Increment Number, increment: 1}]}
        """
    )
    enduser = make_enduser()
    async with engine.worker():
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fields": {"hello": 1}}})
        [firing_id] = started(await deliver(engine, hooks.about(hooks.take(), enduser["id"])))
        assert firing_id == f"trigger:welcome-once:{enduser['id']}"
        await engine.result(firing_id)
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"fields": {"hello": 2}}})
        reports = await deliver(engine, hooks.about(hooks.take(), enduser["id"]))
        assert decisions(reports, "welcome-once")[-1].stage == "oncePerEnduser"
        # even a firing started behind the evaluator's back cannot run twice
        again = await start_firing(
            engine.deps,
            find_active(engine.plans, "welcome-once"),
            enduser_id=enduser["id"],
            event_id="another-event",
            event_type="Field Equals",
            journey_context=JourneyContext(),
            source="event",
        )
        assert not again.started
    assert engine.enduser(enduser["id"])["fields"]["hellos"] == 1


# --- removal, enrollment signals ----------------------------------------------------------------

WAITING_JOURNEY = """
journey: {{id: {journey}, title: Waiting, onIncomingEnduserCommunication: "{incoming}"}}
steps:
  - id: start
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: setEnduserStatus, info: {{status: Waiting}}}}
  - id: much-later
    events: [{{type: afterAction, info: {{automationStepId: start, delayInMS: 2592000000}}}}]
    action: {{type: setEnduserStatus, info: {{status: Done}}}}
"""


async def test_remove_from_journey_cancels_with_reason_4(engine, api, hooks, make_enduser):
    journey = unique("stay")
    engine.deploy(
        WAITING_JOURNEY.format(journey=journey, incoming="")
        + f"""
triggers:
  - id: leave
    title: Leave on tag
    status: Active
    event: {{type: Tag Added, info: {{tag: leave}}}}
    action: {{type: Remove From Journey, info: {{journeyId: {journey}}}}}
"""
    )
    enduser = make_enduser()
    record = engine.journey_records[journey]
    async with engine.worker():
        handle = await engine.enroll(journey, enduser["id"])
        await eventually(
            lambda: engine.enduser(enduser["id"]).get("journeys", {}).get(record) == "Waiting"
        )
        hooks.start()
        api.patch(f"/v1/enduser/{enduser['id']}", json={"updates": {"tags": ["leave"]}})
        [firing_id] = started(await deliver(engine, hooks.about(hooks.take(), enduser["id"])))
        assert (await engine.result(firing_id)).detail == f"removed from journey {journey}"
        assert (await handle.result()).outcome == "removed"
    [pending] = engine.ledger.list(enduser_id=enduser["id"], step_id="much-later")
    assert (pending.status, pending.cancel_reason) == (
        "cancelled",
        CancelReason.REMOVED_BY_AUTOMATION,
    )
    assert record not in (engine.enduser(enduser["id"]).get("journeys") or {})


async def test_inbound_sms_signals_every_running_enrollment(engine, helpers, hooks, make_enduser):
    journey = unique("quiet")
    engine.deploy(WAITING_JOURNEY.format(journey=journey, incoming="Remove"))
    enduser = make_enduser()
    async with engine.worker():
        handle = await engine.enroll(journey, enduser["id"])
        record = engine.journey_records[journey]
        await eventually(
            lambda: engine.enduser(enduser["id"]).get("journeys", {}).get(record) == "Waiting"
        )
        hooks.start()
        ok(
            helpers.post(
                "/sandbox/patient/sms", json={"enduserId": enduser["id"], "message": "stop"}
            )
        )
        [report] = await deliver(engine, [p for p in hooks.take() if p["model"] == "sms_messages"])
        assert [(s.workflowId, s.signal, s.delivered) for s in report.signals] == [
            (enrollment_workflow_id(journey, enduser["id"]), "incoming_message", True)
        ]
        assert (await handle.result()).outcome == "removed"
    [pending] = engine.ledger.list(enduser_id=enduser["id"], step_id="much-later")
    assert pending.cancel_reason == CancelReason.INCOMING_COMMUNICATION


async def test_form_submission_reaches_running_enrollments_only(
    engine, api, helpers, hooks, make_enduser
) -> None:
    journey = unique("intake")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Intake}}
        steps:
          - id: send-intake
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: sendForm, info: {{senderId: {DR_RIVERA_ID}, formId: {INTAKE_FORM}, channel: Email}}}}
          - id: thanks
            events: [{{type: formResponse, info: {{automationStepId: send-intake}}}}]
            action: {{type: setEnduserStatus, info: {{status: Submitted}}}}
        """
    )
    staying, leaving = make_enduser(), make_enduser()
    record = engine.journey_records[journey]
    async with engine.worker():
        handles = {e["id"]: await engine.enroll(journey, e["id"]) for e in (staying, leaving)}

        async def sent_form(enduser_id: str):
            found = ok(
                api.get("/v1/form-responses", params={"filter": f'{{"enduserId":"{enduser_id}"}}'})
            )
            return found[0] if found else None

        forms = {e: await eventually(lambda e=e: sent_form(e)) for e in handles}
        await handles[leaving["id"]].signal(JourneyWorkflow.remove, RemoveRequest(cancelReason=0))
        assert (await handles[leaving["id"]].result()).outcome == "removed"

        hooks.start()
        for form in forms.values():
            ok(
                helpers.post(
                    f"/sandbox/patient/form-responses/{form['id']}/submit", json={"answers": {}}
                )
            )
        reports = await deliver(engine, [p for p in hooks.take() if p["model"] == "form_responses"])
        signals = {s.workflowId: s for r in reports for s in r.signals}
        assert signals[enrollment_workflow_id(journey, staying["id"])].delivered
        ignored = signals[enrollment_workflow_id(journey, leaving["id"])]
        assert not ignored.delivered and "docs/decisions.md D8" in ignored.reason
        await eventually(
            lambda: engine.enduser(staying["id"])["journeys"].get(record) == "Submitted"
        )
    assert record not in (engine.enduser(leaving["id"]).get("journeys") or {})


# --- chat-facing actions; no chaining through created records -----------------------------------


async def test_incoming_chat_reply_assign_and_notify(engine, api, helpers, hooks, make_enduser):
    engine.deploy(
        """
        journey: {id: inbox, title: Inbox}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
          - id: chat-reply
            title: Auto-reply to chats
            status: Active
            event: {type: Incoming Message, info: {channels: [Chat]}}
            action: {type: Reply to Chat, info: {message: "Thanks {{enduser.fname}}, we got it"}}
          - id: chat-assign
            title: Assign chats to the care team
            status: Active
            event: {type: Incoming Message, info: {channels: [Chat]}}
            action: {type: Assign to Incoming Message, info: {careTeamOnly: true, maxUsers: 3}}
          - id: chat-notify
            title: Tell the care team
            status: Active
            event: {type: Incoming Message, info: {channels: [Chat, SMS]}}
            action:
              type: Create User Notifications
              info: {message: "New chat from {{enduser.fname}}", notificationType: Incoming chat, careTeamOnly: true}
          - id: sms-only
            title: SMS only
            status: Active
            event: {type: Incoming Message, info: {channels: [SMS]}}
            action: {type: Add Tags, info: {tags: [texted]}}
          - id: outbound
            title: Would chain on the reply
            status: Active
            event: {type: Outbound Chat Sent, info: {}}
            action: {type: Add Tags, info: {tags: [chained]}}
        """
    )
    enduser = make_enduser(assignedTo=[DR_RIVERA_ID])
    async with engine.worker():
        hooks.start()
        chat = ok(
            helpers.post(
                "/sandbox/patient/chat", json={"enduserId": enduser["id"], "message": "hello"}
            )
        )["chat"]
        reports = await deliver(engine, hooks.about(hooks.take(), chat["id"], "chats"))
        firing_ids = started(reports)
        assert sorted(f.split(":")[1] for f in firing_ids) == [
            "chat-assign",
            "chat-notify",
            "chat-reply",
        ]
        for firing_id in firing_ids:
            assert (await engine.result(firing_id)).outcome == "fired"
        # the reply is a chat created by a trigger: its webhook fires nothing
        after = await deliver(engine, [p for p in hooks.take() if p["model"] == "chats"])
        assert started(after) == []
        assert any(
            i.reason == "made by a trigger action (no chaining)" for r in after for i in r.ignored
        )

    room = ok(api.get(f"/v1/chat-room/{chat['roomId']}"))
    assert room["assignedTo"] == [DR_RIVERA_ID]
    chats = ok(api.get("/v1/chats", params={"filter": f'{{"roomId":"{chat["roomId"]}"}}'}))
    replies = [c for c in chats if c["id"] != chat["id"]]
    assert [c["message"] for c in replies] == ["Thanks Pat, we got it"]
    notes = ok(
        api.get("/v1/user-notifications", params={"filter": f'{{"userId":"{DR_RIVERA_ID}"}}'})
    )
    mine = [
        n for n in notes if {"type": "enduser", "id": enduser["id"]} in n.get("relatedRecords", [])
    ]
    assert [(n["type"], n["message"]) for n in mine] == [("Incoming chat", "New chat from Pat")]
    stored = engine.enduser(enduser["id"])
    assert "chained" not in (stored.get("tags") or [])
    # the reply is a user's chat all the same: Tellescope's stamp, without the chained event
    assert stored["recentOutboundChatAt"] == replies[0]["createdAt"]


# --- admin endpoint and failures ----------------------------------------------------------------

ADMIN_TRIGGERS = """
journey: {id: admin, title: Admin}
steps:
  - id: noop
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: x}}
triggers:
  - id: never-matches
    title: Never matches
    status: Active
    event: {type: Field Equals, info: {field: nothing, value: never}}
    action: {type: Add Tags, info: {tags: [by-admin]}}
  - id: canvas
    title: Canvas
    status: Active
    event: {type: Contact Created, info: {entityTypes: [nobody]}}
    action: {type: "Canvas: Add Patient", info: {}}
"""


async def test_admin_fire_trigger_skips_the_event_check(engine, make_enduser) -> None:
    engine.deploy(ADMIN_TRIGGERS)
    enduser = make_enduser()
    async with engine.worker():
        report = await fire_trigger("never-matches", enduser["id"], None, engine.deps, wait=True)
        assert report.result.outcome == "fired"
        inline = await fire_trigger(
            "64f0000000000000000009ff",
            enduser["id"],
            {"formResponseId": "64f0000000000000000009fe"},
            engine.deps,
            inline_action={"type": "Add Tags", "info": {"tags": ["inline"]}},
            wait=True,
        )
        assert inline.result.outcome == "fired"
        with pytest.raises(LookupError):
            await fire_trigger("no-such-trigger", enduser["id"], None, engine.deps)
    stored = engine.enduser(enduser["id"])
    assert stored["tags"] == ["by-admin", "inline"]
    assert stored["triggerIds"] == [trigger_record_id("never-matches")]


async def test_integration_action_fails_clearly(engine, make_enduser) -> None:
    engine.deploy(ADMIN_TRIGGERS)
    enduser = make_enduser()
    async with engine.worker():
        with pytest.raises(WorkflowFailureError) as raised:
            await fire_trigger("canvas", enduser["id"], None, engine.deps, wait=True)
    cause = raised.value.cause
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause
    assert cause.message == 'integration "Canvas: Add Patient" is not configured'
    assert not engine.enduser(enduser["id"]).get("triggerIds")


async def test_a_retried_add_to_journey_does_not_restart_the_enrollment(engine, make_enduser):
    """An attempt that enrolled but whose completion was lost is retried: the retry finds the
    enrollment (re)started after the firing began and leaves it alone."""
    journey = unique("once-started")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Once started}}
        steps:
          - id: count
            events: [{{type: onJourneyStart, info: {{}}}}]
            action:
              type: setEnduserFields
              info: {{fields: [{{name: starts, type: Increment Number, increment: 1}}]}}
          - id: wait
            events: [{{type: afterAction, info: {{automationStepId: count, delayInMS: 2592000000}}}}]
            action: {{type: setEnduserStatus, info: {{status: Later}}}}
        """
    )
    enduser = make_enduser()
    request = TriggerActionRequest(
        automatedActionId=trigger_action_id("trigger:manual:x"),
        firingId="trigger:manual:x",
        firingStartedAt=(await engine.env.get_current_time()).isoformat(),
        triggerId="manual",
        enduserId=enduser["id"],
        action=_ACTION.validate_python({"type": "Add To Journey", "info": {"journeyId": journey}}),
        now=datetime.now(UTC).isoformat(),
    )
    activities = TriggerActivities(engine.deps)
    async with engine.worker():
        first = await activities.perform_trigger_action(request)
        assert first.detail.startswith(f"added to journey {journey}")
        await eventually(lambda: engine.enduser(enduser["id"]).get("fields", {}).get("starts") == 1)
        retry = await activities.perform_trigger_action(request)
        assert retry.detail == f"already added to journey {journey}"
        # a later firing (started after the enrollment) does restart it
        later = request.model_copy(
            update={"firingStartedAt": (await engine.env.get_current_time()).isoformat()}
        )
        await asyncio.sleep(0.01)
        assert (await activities.perform_trigger_action(later)).detail.startswith("restarted in")
        await eventually(lambda: engine.enduser(enduser["id"]).get("fields", {}).get("starts") == 2)


async def test_require_form_followups_and_waitlists(engine, api, make_enduser) -> None:
    engine.deploy(ADMIN_TRIGGERS)
    enduser = make_enduser()
    response = ok(
        api.post(
            "/v1/prepare-form-response", json={"formId": INTAKE_FORM, "enduserId": enduser["id"]}
        )
    )["response"]
    followups = {"type": "Require Form Followups", "info": {"formIds": [SIGN_UP_FORM, INTAKE_FORM]}}
    context = {"formResponseId": response["id"]}
    async with engine.worker():
        for _ in range(2):  # a second firing finds the follow-ups already required
            await fire_trigger(
                "inline", enduser["id"], context, engine.deps, inline_action=followups, wait=True
            )
        waitlist = "64f0000000000000000009aa"
        with pytest.raises(WorkflowFailureError) as raised:
            await fire_trigger(
                "inline",
                enduser["id"],
                None,
                engine.deps,
                inline_action={"type": "Add to Waitlist", "info": {"waitlistId": waitlist}},
                wait=True,
            )
    stored = ok(api.get(f"/v1/form-response/{response['id']}"))
    assert stored["followups"] == [{"formId": SIGN_UP_FORM}, {"formId": INTAKE_FORM}]
    cause = raised.value.cause
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause
    assert cause.message.startswith(f"waitlist {waitlist}: ")  # this Tellescope has none


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def test_upcoming_events_condition_reads_the_enduser_s_appointments(
    engine, api, hooks, make_enduser
) -> None:
    """docs/semantics.md §10.1 rule 2: a trigger's `__upcomingEvents__` enduserCondition counts
    the enduser's upcoming appointments (read once per evaluation), instead of passing always."""
    engine.deploy(
        """
        journey: {id: booked, title: Booked}
        steps:
          - id: noop
            events: [{type: onJourneyStart, info: {}}]
            action: {type: setEnduserStatus, info: {status: x}}
        triggers:
          - id: booked
            title: Booked patients
            status: Active
            event: {type: Field Equals, info: {field: fname, value: Check}}
            enduserCondition: {condition: {__upcomingEvents__: {$gt: "0"}}}
            action: {type: Add Tags, info: {tags: [booked]}}
        """
    )
    with_visit, without = make_enduser(fname="Check"), make_enduser(fname="Check")
    start = int(datetime.now(UTC).timestamp() * 1000) + 7 * 86_400_000
    ok(
        api.post(
            "/v1/calendar-event",
            json={
                "title": "Visit",
                "startTimeInMS": start,
                "durationInMinutes": 30,
                "attendees": [{"type": "enduser", "id": with_visit["id"]}],
            },
        )
    )
    payloads = hooks.take()
    async with engine.worker():
        fired = await deliver(engine, hooks.about(payloads, with_visit["id"], "endusers"))
        skipped = await deliver(engine, hooks.about(payloads, without["id"], "endusers"))
        [firing_id] = started(fired)
        await engine.result(firing_id)
    assert started(skipped) == []
    assert decisions(skipped, "booked")[0].stage == "enduserCondition"
    assert engine.enduser(with_visit["id"])["tags"] == ["booked"]


async def test_portal_form_group_completes_and_fires_its_trigger(
    engine, api, helpers, hooks, make_enduser
) -> None:
    """docs/semantics.md §8.2, §9.3: pushFormsToPortal with formGroupIds creates the group's
    responses with the form group's id and one shared groupInstance; submitting all of them
    completes the group, which fires Form Group Completed (and the journey's formResponses)."""
    group = ok(
        api.post(
            "/v1/form-group", json={"title": "Check-in", "formIds": [INTAKE_FORM, SIGN_UP_FORM]}
        )
    )
    journey = unique("portal")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Portal}}
        steps:
          - id: push
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: pushFormsToPortal, info: {{formGroupIds: ["{group["id"]}"]}}}}
          - id: all-done
            events: [{{type: formResponses, info: {{automationStepId: push}}}}]
            action: {{type: setEnduserStatus, info: {{status: Checked in}}}}
        triggers:
          - id: group-done
            title: Group done
            status: Active
            event: {{type: Form Group Completed, info: {{groupId: "{group["id"]}"}}}}
            action: {{type: Add Tags, info: {{tags: [checked-in]}}}}
        """
    )
    enduser = make_enduser()
    record = engine.journey_records[journey]
    async with engine.worker():
        await engine.enroll(journey, enduser["id"])

        async def pushed():
            found = ok(
                api.get(
                    "/v1/form-responses", params={"filter": f'{{"enduserId":"{enduser["id"]}"}}'}
                )
            )
            return found if len(found) == 2 else None

        responses = await eventually(pushed)
        assert {r["groupId"] for r in responses} == {group["id"]}
        assert len({r["groupInstance"] for r in responses}) == 1
        assert responses[0]["groupInstance"]
        hooks.start()
        reports = []
        for response in responses:
            ok(
                helpers.post(
                    f"/sandbox/patient/form-responses/{response['id']}/submit",
                    json={"answers": {}},
                )
            )
            reports += await deliver(
                engine, [p for p in hooks.take() if p["model"] == "form_responses"]
            )
        fired = [f for f in started(reports) if f.startswith("trigger:group-done:")]
        assert len(fired) == 1  # on the last submission only
        await engine.result(fired[0])
        await eventually(
            lambda: engine.enduser(enduser["id"])["journeys"].get(record) == "Checked in"
        )
    assert engine.enduser(enduser["id"])["tags"] == ["checked-in"]


async def test_grant_access_from_waitlist_through_tellescope(engine, api, make_enduser) -> None:
    """Grant Access From Waitlist: Tellescope's grant access moves the first `count` endusers
    off the waitlist into its journey, and the engine enrolls them; a retry of the attempt
    (the same heartbeated choice) grants nobody else."""
    journey = unique("waitlisted")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Waitlisted}}
        steps:
          - id: welcome
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: Granted}}}}
        """
    )
    first, second, third = make_enduser(), make_enduser(), make_enduser()
    waitlist = ok(
        api.post(
            "/v1/waitlist",
            json={
                "title": unique("list"),
                "journeyId": engine.journey_records[journey],
                "enduserIds": [first["id"], second["id"], third["id"]],
            },
        )
    )
    action = _ACTION.validate_python(
        {"type": "Grant Access From Waitlist", "info": {"waitlistId": waitlist["id"], "count": 2}}
    )
    request = TriggerActionRequest(
        automatedActionId=trigger_action_id("trigger:grant:x"),
        firingId="trigger:grant:x",
        firingStartedAt=datetime.now(UTC).isoformat(),
        triggerId="grant",
        enduserId=first["id"],
        action=action,
        now=datetime.now(UTC).isoformat(),
    )
    activities = TriggerActivities(engine.deps)
    attempt = attempt_environment()
    beats: list = []
    attempt.on_heartbeat = lambda *details: beats.append(details)
    async with engine.worker():
        outcome = await attempt.run(activities.perform_trigger_action, request)
        assert outcome.recordIds == [first["id"], second["id"]]
        assert outcome.detail.endswith("(granted by Tellescope)")
        assert beats == [([first["id"], second["id"]],)]
        retry = attempt_environment()
        retry.info = replace(retry.info, heartbeat_details=list(beats[0]))
        again = await retry.run(activities.perform_trigger_action, request)
        assert again.recordIds == [first["id"], second["id"]]
        assert again.detail.endswith("(already granted)")
        tellescope_journey = engine.journey_records[journey]

        def state(enduser: dict) -> str | None:
            return (engine.enduser(enduser["id"]).get("journeys") or {}).get(tellescope_journey)

        for enduser in (first, second):  # the engine's enrollment ran the journey
            await eventually(lambda e=enduser: state(e) == "Granted")
    assert ok(api.get(f"/v1/waitlist/{waitlist['id']}"))["enduserIds"] == [third["id"]]
    assert state(third) is None


async def test_order_merge_fields_in_set_fields(engine, api, make_enduser) -> None:
    """`{{order.*}}` in Set Fields (docs/semantics.md §13): an Order Created trigger's Set Fields
    and the steps of the journey it starts read the order of the journey context (`orderId`)."""
    journey = unique("order-journey")
    source = unique("shop")
    engine.deploy(
        f"""
        journey: {{id: {journey}, title: Orders}}
        steps:
          - id: tracking
            events: [{{type: onJourneyStart, info: {{}}}}]
            action:
              type: setEnduserFields
              info: {{fields: [{{name: tracking, type: Custom Value, value: "{{{{order.tracking}}}}"}}]}}
        triggers:
          - id: order-status
            title: Order status
            status: Active
            event: {{type: Order Status Equals, info: {{source: {source}}}}}
            action:
              type: Set Fields
              info: {{fields: [{{name: orderStatus, type: Custom Value, value: "{{{{order.status}}}} ({{{{order.sku}}}})"}}]}}
          - id: order-journey
            title: Order journey
            status: Active
            event: {{type: Order Created, info: {{}}}}
            action: {{type: Add To Journey, info: {{journeyId: {journey}}}}}
        """
    )
    enduser = make_enduser()
    order = ok(
        api.post(
            "/v1/enduser-order",
            json={
                "enduserId": enduser["id"],
                "externalId": unique("ext"),
                "source": source,
                "title": "Kit",
                "status": "Shipped",
                "sku": "KIT-1",
                "tracking": "1Z999",
            },
        )
    )
    created = {  # the record webhook (orders are not in the default subscriptions)
        "model": "enduser_orders",
        "type": "create",
        "records": [{"id": order["id"]}],
        "timestamp": str(int(datetime.now(UTC).timestamp() * 1000)),
        "integrity": "checked by the HTTP layer",
        "relatedRecords": {},
    }
    async with engine.worker():
        reports = await deliver(engine, [created])
        firings = started(reports)
        assert len(firings) == 2, reports
        for firing in firings:
            await engine.result(firing)
        await eventually(
            lambda: engine.enduser(enduser["id"]).get("fields", {}).get("tracking") == "1Z999"
        )
    fields = engine.enduser(enduser["id"])["fields"]
    assert fields["orderStatus"] == "Shipped (KIT-1)"
