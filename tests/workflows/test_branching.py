"""Which branches run: ticket close reasons, A/B tests, errors, enduser conditions, triggers and
outcomes (docs/semantics.md §4.4-§4.7, §9.6; docs/decisions.md D1-D3)."""

from __future__ import annotations

from collections import Counter

import pytest

from models.runtime import StepOutcome, TicketClosed, TriggerFired
from tests.temporal_env import search_attributes
from tests.workflows.conftest import write_journey
from tests.workflows.test_forms import wait_for
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

TICKET = """
journey: {id: calls, title: Calls}
steps:
  - id: call
    events: [{type: onJourneyStart, info: {}}]
    action:
      type: createTicket
      info:
        title: Call
        assignmentStrategy: {type: default, info: {}}
        defaultAssignee: u1
        closeReasons: [Reached, No answer]
  - id: reached
    events: [{type: ticketCompleted, info: {automationStepId: call, closedForReason: Reached}}]
    action: {type: setEnduserStatus, info: {status: Reached}}
  - id: no-answer
    events: [{type: ticketCompleted, info: {automationStepId: call, closedForReason: No answer}}]
    action: {type: setEnduserStatus, info: {status: No answer}}
  - id: no-answer-sms
    events: [{type: ticketCompleted, info: {automationStepId: call, closedForReason: No answer}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t1}}
  - id: default-branch
    events: [{type: ticketCompleted, info: {automationStepId: call}}]
    action: {type: setEnduserStatus, info: {status: Closed}}
"""


async def close_ticket(runtime, reason: str | None) -> list[str]:
    async with runtime.worker():
        handle = await runtime.enroll("calls")
        status = await wait_for(runtime, handle, lambda s: bool(s.waitingFor))
        (waiting,) = status.waitingFor
        ticket_id = waiting.split()[1]
        await handle.signal(
            JourneyWorkflow.ticket_closed, TicketClosed(ticketId=ticket_id, closedForReason=reason)
        )
        if reason == "Wrong number":
            await wait_for(runtime, handle, lambda s: not s.waitingFor)
        await handle.result()
    return sorted(runtime.steps_done())


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        # docs/semantics.md §4.5: only that branch
        ("No answer", ["call", "no-answer", "no-answer-sms"]),
        ("Reached", ["call", "reached"]),
        # docs/semantics.md §4.5: no reason, only the default branch
        (None, ["call", "default-branch"]),
        ("Wrong number", ["call"]),  # docs/decisions.md D3: an unmatched reason fires nothing
    ],
    ids=["no-answer", "reached", "no-reason", "unmatched-reason"],
)
async def test_ticket_close_reason_picks_the_branch(runtime, tmp_path, reason, expected):
    runtime.deploy(write_journey(tmp_path, TICKET))
    assert await close_ticket(runtime, reason) == expected


async def test_ticket_closed_twice_fires_once(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, TICKET))
    async with runtime.worker():
        handle = await runtime.enroll("calls")
        status = await wait_for(runtime, handle, lambda s: bool(s.waitingFor))
        ticket_id = status.waitingFor[0].split()[1]
        closed = TicketClosed(ticketId=ticket_id, closedForReason="Reached")
        await handle.signal(JourneyWorkflow.ticket_closed, closed)
        await handle.signal(JourneyWorkflow.ticket_closed, closed)
        await handle.result()
    assert runtime.steps_done() == ["call", "reached"]


AB_TEST = """
journey: {id: ab, title: A/B}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [start]}}
  - id: variant-sms
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0, abTestCondition: sms}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t1}}
  - id: variant-email
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0, abTestCondition: email}}]
    action: {type: sendEmail, info: {senderId: u1, templateId: t2}}
  - id: always
    events: [{type: afterAction, info: {automationStepId: start, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [always]}}
"""


async def test_ab_test_runs_one_variant_and_the_unlabelled_siblings(runtime, tmp_path):
    """docs/decisions.md D1: one label picked uniformly per enrollment; unlabelled
    children always run; the label is recorded on the AutomatedAction."""
    runtime.deploy(write_journey(tmp_path, AB_TEST))
    picks = Counter()
    async with runtime.worker():
        for n in range(16):
            runtime.tellescope.effects.clear()
            await (await runtime.enroll("ab", enduser_id=f"{runtime.enduser_id}-{n}")).result()
            done = set(runtime.steps_done())
            assert {"start", "always"} <= done
            variants = done & {"variant-sms", "variant-email"}
            assert len(variants) == 1
            picks[variants.pop()] += 1
    assert set(picks) == {"variant-sms", "variant-email"}  # 16 draws: both seen (p > 0.9999)
    labels = {row.ab_test_label for row in runtime.ledger_rows("variant-sms")}
    assert labels == {"sms"}


ERRORS = """
journey: {id: errors, title: Errors}
steps:
  - id: notify
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendWebhook, continueOnError: %s, info: {message: ready}}
  - id: on-error
    events: [{type: onError, info: {automationStepId: notify}}]
    action: {type: createTicket, info: {title: Fix it, assignmentStrategy: {type: default, info: {}}, defaultAssignee: u1}}
  - id: next
    events: [{type: afterAction, info: {automationStepId: notify, delayInMS: 0}}]
    action: {type: sendEmail, info: {senderId: u1, templateId: t1}}
  - id: next-on-error
    events: [{type: onError, info: {automationStepId: next}}]
    action: {type: addEnduserTags, info: {tags: [never]}}
"""


@pytest.mark.parametrize(
    ("continue_on_error", "expected"), [(False, ["on-error"]), (True, ["next", "on-error"])]
)
async def test_error_branches(runtime, tmp_path, continue_on_error, expected):
    """docs/semantics.md §4.4: an error runs onError children; afterAction children only with
    continueOnError; downstream error handlers of steps that never ran never run."""
    runtime.deploy(write_journey(tmp_path, ERRORS % str(continue_on_error).lower()))
    runtime.tellescope.failing_steps["notify"] = "webhook receiver answered 502"
    async with runtime.worker():
        handle = await runtime.enroll("errors")
        result = await handle.result()
        attributes = await search_attributes(runtime.client, handle.id)
    assert attributes["JourneyFailedSteps"] == ["notify"]  # the UI lists failed steps
    assert sorted(runtime.steps_done()) == expected
    (notify,) = runtime.ledger_rows("notify")
    assert (notify.status, notify.error_message) == ("error", "webhook receiver answered 502")
    assert result.errors == 1
    assert runtime.ledger_rows("next-on-error") == []


async def test_unconfigured_integration_takes_the_error_branch(runtime, tmp_path):
    """docs/decisions.md D11: an integration without configuration fails clearly; onError runs."""
    runtime.deploy(
        write_journey(
            tmp_path,
            """
journey: {id: errors, title: Errors}
steps:
  - id: sync
    events: [{type: onJourneyStart, info: {}}]
    action: {type: healthieSync, info: {}}
  - id: on-error
    events: [{type: onError, info: {automationStepId: sync}}]
    action: {type: addEnduserTags, info: {tags: [sync-failed]}}
""",
        )
    )
    async with runtime.worker():
        await (await runtime.enroll("errors")).result()
    assert runtime.steps_done() == ["on-error"]
    (sync,) = runtime.ledger_rows("sync")
    assert sync.error_message == 'integration "healthieSync" is not configured'


CONDITIONS = """
journey: {id: vip, title: VIP}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [start]}}
  - id: vip-call
    enduserConditions: {$and: [{condition: {tags: vip}}]}
    events: [{type: afterAction, info: {automationStepId: start, delay: 1, unit: Days}}]
    action: {type: createTicket, info: {title: Call, assignmentStrategy: {type: default, info: {}}, defaultAssignee: u1}}
  - id: after-vip-call
    events: [{type: afterAction, info: {automationStepId: vip-call, delayInMS: 0}}]
    action: {type: addEnduserTags, info: {tags: [called]}}
  - id: regular-sms
    enduserConditions: {condition: {tags: {$doesNotContain: vip}}}
    events: [{type: afterAction, info: {automationStepId: start, delay: 1, unit: Days}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t1}}
"""


@pytest.mark.parametrize(
    ("tags", "expected"),
    [(["vip"], ["start", "vip-call", "after-vip-call"]), (["regular"], ["start", "regular-sms"])],
    ids=["vip", "not-vip"],
)
async def test_enduser_conditions_are_checked_when_due(runtime, tmp_path, tags, expected):
    """docs/decisions.md D2: conditions read the enduser when the step is due; false = finished and
    skipped, no side effect, no children. If/else = complementary sibling conditions."""
    runtime.deploy(write_journey(tmp_path, CONDITIONS))
    runtime.tellescope.enduser["tags"] = ["regular"]  # at enrollment nobody is a VIP ...
    async with runtime.worker():
        handle = await runtime.enroll("vip")
        await wait_for(runtime, handle, lambda s: len(s.pending) == 2)
        runtime.tellescope.enduser["tags"] = tags  # ... what counts is the record when due
        await handle.result()
    assert sorted(runtime.steps_done()) == sorted(expected)
    skipped = {row.automation_step_id: row.skipped for row in runtime.ledger_rows() if row.skipped}
    assert skipped == {"regular-sms" if "vip" in tags else "vip-call": "conditions"}


WAIT_FOR_TRIGGER = """
journey: {id: care, title: Care}
steps:
  - id: waiting
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Started}}
  - id: released
    events: [{type: waitForTrigger, info: {automationStepId: waiting, triggerId: labs-in}}]
    action: {type: setEnduserStatus, info: {status: Triggered}}
triggers:
  - id: labs-in
    title: Labs in
    status: Active
    journeyId: care
    event: {type: Field Equals, info: {field: labStatus, value: Received}}
    action: {type: Move To Step, info: {}}
"""


async def test_wait_for_trigger_parks_until_the_trigger_fires(runtime, tmp_path):
    """docs/semantics.md §9.6: the enrollment waits at the step until its journey-scoped
    trigger fires."""
    runtime.deploy(write_journey(tmp_path, WAIT_FOR_TRIGGER))
    async with runtime.worker():
        handle = await runtime.enroll("care")
        status = await wait_for(runtime, handle, lambda s: bool(s.pending) and s.state == "Started")
        assert [(p.stepId, p.waitingFor, p.dueAt) for p in status.pending] == [
            ("released", "trigger labs-in", None)
        ]
        await handle.signal(JourneyWorkflow.trigger_fired, TriggerFired(triggerId="other"))
        await handle.signal(JourneyWorkflow.trigger_fired, TriggerFired(triggerId="labs-in"))
        result = await handle.result()
    assert result.state == "Triggered"
    assert runtime.steps_done() == ["waiting", "released"]


async def test_trigger_before_the_parent_finished_does_nothing(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, WAIT_FOR_TRIGGER))
    handle = await runtime.enroll("care")  # not started yet: the parent has not run
    await handle.signal(JourneyWorkflow.trigger_fired, TriggerFired(triggerId="labs-in"))
    async with runtime.worker():
        status = await wait_for(runtime, handle, lambda s: s.state == "Started" and bool(s.pending))
    assert [p.waitingFor for p in status.pending] == ["trigger labs-in"]
    assert runtime.steps_done() == ["waiting"]


async def test_call_outcome_routes_to_its_branch(runtime, tmp_path):
    runtime.deploy(
        write_journey(
            tmp_path,
            """
journey: {id: calls, title: Calls}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: outboundCall, info: {treeId: tree-1}}
  - id: reached
    events: [{type: onCallOutcome, info: {automationStepId: start, outcome: Reached}}]
    action: {type: setEnduserStatus, info: {status: Reached}}
  - id: voicemail
    events: [{type: onCallOutcome, info: {automationStepId: start, outcome: Voicemail}}]
    action: {type: setEnduserStatus, info: {status: Voicemail}}
""",
        )
    )
    runtime.tellescope.configured.add("outboundCall")  # a telephony handler is configured
    async with runtime.worker():
        handle = await runtime.enroll("calls")
        await wait_for(runtime, handle, lambda s: bool(s.history))
        step_id = runtime.plans.get(
            "calls", runtime.plans.current("calls").version
        ).tellescopeStepIds["start"]
        await handle.signal(
            JourneyWorkflow.step_outcome, StepOutcome(automationStepId=step_id, outcome="Voicemail")
        )
        status = await wait_for(runtime, handle, lambda s: s.state == "Voicemail")
    assert runtime.steps_done() == ["start", "voicemail"]
    assert status.state == "Voicemail"


async def test_call_outcome_before_the_call_finished_is_kept(runtime, tmp_path):
    """docs/handlers.md §3: the provider may answer before the handler's activity returned; the
    outcome is kept and routes its branch once the call step finishes."""
    runtime.deploy(
        write_journey(
            tmp_path,
            """
journey: {id: calls, title: Calls}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: outboundCall, info: {treeId: tree-1}}
  - id: reached
    events: [{type: onCallOutcome, info: {automationStepId: start, outcome: Reached}}]
    action: {type: setEnduserStatus, info: {status: Reached}}
""",
        )
    )
    runtime.tellescope.configured.add("outboundCall")
    handle = await runtime.enroll("calls")  # no worker yet: the call cannot have finished
    await handle.signal(
        JourneyWorkflow.step_outcome, StepOutcome(automationStepId="start", outcome="Reached")
    )
    async with runtime.worker():
        result = await handle.result()
    assert result.state == "Reached"
    assert runtime.steps_done() == ["start", "reached"]
